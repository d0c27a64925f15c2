"""The architecture half of `nn.to_torch` and `nn.from_torch`: from an nn module to the torch.nn
module of the same class and settings and back, or a clear refusal where there is no counterpart.
Sequentials are walked by `nn.interop`, which also copies the weights.

Classes are matched exactly: a subclass of torch.nn.Linear, or of nn's Linear, may compute
anything, so it is refused as any module of your own is. Torch modules are built on the meta
device (no memory, no random initialisation) for `to_torch` to fill with nn's numbers.
"""

from __future__ import annotations

import math
from typing import Any

from nn.layers.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from nn.layers.attention import MultiheadAttention
from nn.layers.cells import GRUCell, LSTMCell, RNNCell
from nn.layers.conv import Conv1d, Conv2d
from nn.layers.dropout import Dropout
from nn.layers.embedding import Embedding
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.linear import Linear
from nn.layers.mlp import MLP, Layer, Neuron
from nn.layers.norm import BatchNorm1d
from nn.layers.pooling import AvgPool1d, AvgPool2d, Flatten, MaxPool1d, MaxPool2d
from nn.layers.rnn import GRU, LSTM, RNN
from nn.models.gpt import GPT
from nn.module import Module

_PLAIN = (ReLU, Tanh, Sigmoid, SiLU, Identity)  # activations with nothing to set
_CELLS = (RNNCell, LSTMCell, GRUCell)
_SEQUENCES = (RNN, LSTM, GRU)
_TWINS = (MLP, Layer, Neuron, GPT)
_CONVS = (Conv1d, Conv2d)
_POOLS = (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d)
_LAYERS = (
    "Linear, Sequential, ReLU, Tanh, Sigmoid, LeakyReLU, Softplus, SiLU, GELU, Identity, Dropout, "
    "BatchNorm1d, LayerNorm, RMSNorm, Embedding, RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU, "
    "MultiheadAttention, Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, Flatten"
)
META = "meta"


def torch_structure(module: Module, where: str, torch: Any) -> Any:
    """The torch module of the same class and settings as `module` (not a Sequential), with its
    tensors on the meta device; `where` names it in errors.

    >>> import torch
    >>> torch_structure(Linear(2, 3), "model", torch).weight.device
    device(type='meta')
    """
    from nn.interop import torch_modules  # imports torch, an extra

    kind, nn_ = type(module), torch.nn
    if kind in _PLAIN:
        return getattr(nn_, kind.__name__)()
    if kind is LeakyReLU:
        return nn_.LeakyReLU(module.negative_slope)
    if kind is Softplus:
        return nn_.Softplus(beta=1.0, threshold=torch_modules.SOFTPLUS_THRESHOLD)
    if kind is GELU:
        return nn_.GELU()
    if kind is Dropout:
        return nn_.Dropout(module.p)
    if kind is Linear:
        bias = module.bias is not None
        return nn_.Linear(module.in_features, module.out_features, bias, device=META)
    if kind is BatchNorm1d:
        options = {"eps": module.eps, "momentum": module.momentum, "affine": module.affine}
        return nn_.BatchNorm1d(module.num_features, **options, device=META)
    if kind is LayerNorm:
        options = {"eps": module.eps, "elementwise_affine": module.elementwise_affine}
        return nn_.LayerNorm(module.size, **options, bias=module.config()["bias"], device=META)
    if kind is RMSNorm:
        options = {"eps": module.eps, "elementwise_affine": module.elementwise_affine}
        return nn_.RMSNorm(module.size, **options, device=META)
    if kind is MultiheadAttention:
        bias = module.in_proj_bias is not None
        return nn_.MultiheadAttention(module.embed_dim, module.num_heads, bias=bias, device=META)
    if kind is Embedding:
        # a table given, not drawn: torch draws N(0, 1) on the meta device through its Python
        # reference of normal_, whose first call imports torch's compiler (a second or two)
        shape = (module.num_embeddings, module.embedding_dim)
        return nn_.Embedding(*shape, _weight=torch.empty(shape, device=META))
    if kind in _CELLS or kind in _SEQUENCES or kind in _CONVS:
        return getattr(nn_, kind.__name__)(**module.config(), device=META)
    if kind in _POOLS:
        return getattr(nn_, kind.__name__)(module.kernel_size, module.stride, module.padding)
    if kind is Flatten:
        return nn_.Flatten()
    if kind in _TWINS:
        return getattr(torch_modules, kind.__name__)(**module.config(), device=META)
    raise TypeError(
        f"to_torch: {where} is a {kind.__module__}.{kind.__qualname__}, which has no PyTorch "
        f"counterpart; to_torch converts nn's MLP, Layer, Neuron, GPT, {_LAYERS}"
    )


def nn_structure(twin: Any, where: str, torch: Any) -> Module:
    """The nn module of the same class and settings as `twin` (not a Sequential), with
    throwaway weights; `where` names it in errors.

    >>> import torch
    >>> nn_structure(torch.nn.LSTM(2, 3, num_layers=2), "model", torch)
    LSTM(2, 3, num_layers=2)
    """
    from nn.interop import torch_modules  # imports torch, an extra

    nn_, kind = torch.nn, type(twin)
    counterparts = {getattr(nn_, cls.__name__): cls for cls in (*_PLAIN, *_CELLS, *_SEQUENCES)}
    counterparts |= {getattr(torch_modules, cls.__name__): cls for cls in _TWINS}
    for cls in (LeakyReLU, Softplus, GELU, Dropout, Linear, BatchNorm1d, Embedding, LayerNorm):
        counterparts[getattr(nn_, cls.__name__)] = cls
    counterparts |= {nn_.RMSNorm: RMSNorm, nn_.MultiheadAttention: MultiheadAttention}
    for cls in (*_CONVS, *_POOLS, Flatten):
        counterparts[getattr(nn_, cls.__name__)] = cls
    if kind not in counterparts:
        public = getattr(nn_, kind.__name__, None) is kind
        name = f"torch.nn.{kind.__name__}" if public else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(
            f"from_torch: {where} is a {name}, which has no "
            f"counterpart in nn; from_torch converts torch.nn's {_LAYERS}, and "
            "nn.interop.torch_modules' MLP, Layer, Neuron and GPT"
        )
    ours = counterparts[kind]
    try:
        return _build(ours, twin, torch_modules)
    except (TypeError, ValueError) as error:
        raise type(error)(f"from_torch: {where} ({kind.__name__}): {error}") from None


def _build(ours: type[Module], twin: Any, torch_modules: Any) -> Module:
    if ours in _PLAIN:
        return ours()
    if ours is LeakyReLU:
        return LeakyReLU(twin.negative_slope)
    if ours is Softplus:
        _require(twin, "beta", 1.0)
        lowest = torch_modules.SOFTPLUS_LOWEST_THRESHOLD
        threshold = float(twin.threshold)
        if not threshold >= lowest:
            gap = max(-threshold, 0.0) + math.log1p(math.exp(-abs(threshold)))  # softplus(t) - t
            raise ValueError(
                f"threshold={threshold!r} has no counterpart in nn: torch's Softplus returns x "
                f"above its threshold, nn's computes log(1 + e**x) everywhere, {gap:.3g} more "
                f"just above {threshold!r}; nn supports threshold >= {lowest:g} (torch's "
                "default), where the two differ by 2.1e-09 at most"
            )
        return Softplus()
    if ours is GELU:
        _require(twin, "approximate", "none")
        return GELU()
    if ours is Dropout:
        return Dropout(twin.p)
    if ours is Linear:
        return Linear(twin.in_features, twin.out_features, twin.bias is not None)
    if ours is BatchNorm1d:
        _require(twin, "track_running_stats", True)
        return BatchNorm1d(twin.num_features, twin.eps, twin.momentum, twin.affine)
    if ours is LayerNorm:
        return LayerNorm(twin.normalized_shape, twin.eps, twin.elementwise_affine, _has_bias(twin))
    if ours is RMSNorm:
        return RMSNorm(twin.normalized_shape, twin.eps, twin.elementwise_affine)
    if ours is MultiheadAttention:
        return _attention(twin)
    if ours is Embedding:
        for setting, default in [("padding_idx", None), ("max_norm", None)]:
            _require(twin, setting, default)
        for setting in ("scale_grad_by_freq", "sparse"):
            _require(twin, setting, False)
        return Embedding(twin.num_embeddings, twin.embedding_dim)
    if ours in _CELLS:
        options = {"bias": twin.bias}
        if ours is RNNCell:
            options["nonlinearity"] = twin.nonlinearity
        return ours(twin.input_size, twin.hidden_size, **options)
    if ours in _CONVS:
        return _conv(ours, twin)
    if ours in _POOLS:
        return _pool(ours, twin)
    if ours is Flatten:
        _require(twin, "start_dim", 1)
        _require(twin, "end_dim", -1)
        return Flatten()
    if ours in _SEQUENCES:
        for setting, default in [("batch_first", False), ("bidirectional", False)]:
            _require(twin, setting, default)
        _require(twin, "dropout", 0.0)
        _require(twin, "proj_size", 0)
        options = {"num_layers": twin.num_layers, "bias": twin.bias}
        if ours is RNN:
            options["nonlinearity"] = twin.nonlinearity
        return ours(twin.input_size, twin.hidden_size, **options)
    return _from_twin(ours, twin, torch_modules)


def _has_bias(norm: Any) -> bool:
    """The `bias` argument a torch.nn.LayerNorm was made with (it keeps no bias without a
    weight, so that case says True, the default)."""
    return norm.bias is not None or not norm.elementwise_affine


def _attention(twin: Any) -> MultiheadAttention:
    """nn's MultiheadAttention of a torch one: nn has no dropout of the weights, no separate
    key and value sizes, no learned bias key or value and no zero attention. `batch_first`
    is accepted either way: nn's calls take one sequence, never a batch."""
    _require(twin, "dropout", 0.0)
    _require(twin, "kdim", twin.embed_dim)
    _require(twin, "vdim", twin.embed_dim)
    _require(twin, "add_zero_attn", False)
    if twin.bias_k is not None:
        raise ValueError("add_bias_kv=True has no counterpart in nn, which supports only False")
    return MultiheadAttention(twin.embed_dim, twin.num_heads, bias=twin.in_proj_bias is not None)


def _conv(ours: type[Module], twin: Any) -> Module:
    """An nn Conv1d or Conv2d from torch's, which must have no groups and zero padding given
    as sizes ('valid' is 0; 'same' is refused, as nn pads the same on both sides)."""
    _require(twin, "groups", 1)
    _require(twin, "padding_mode", "zeros")
    padding = (0,) * ours.dims if twin.padding == "valid" else twin.padding
    if isinstance(padding, str):
        raise ValueError(
            f"padding={padding!r} has no counterpart in nn, which takes padding as sizes"
        )
    sizes = {key: getattr(twin, key) for key in ("kernel_size", "stride", "dilation")}
    bias = twin.bias is not None
    return ours(twin.in_channels, twin.out_channels, **sizes, padding=padding, bias=bias)


def _pool(ours: type[Module], twin: Any) -> Module:
    """An nn pooling layer from torch's, which must have PyTorch's defaults for the settings
    nn does not have (dilation, ceil_mode, return_indices, count_include_pad, ...)."""
    _require(twin, "ceil_mode", False)
    if ours in (MaxPool1d, MaxPool2d):
        _require(twin, "return_indices", False)
        if twin.dilation not in (1, (1,) * ours.dims):
            _require(twin, "dilation", 1)
    else:
        _require(twin, "count_include_pad", True)
        if ours is AvgPool2d:
            _require(twin, "divisor_override", None)
    return ours(twin.kernel_size, twin.stride, twin.padding)


def _from_twin(ours: type[Module], twin: Any, torch_modules: Any) -> Module:
    """An nn MLP, Layer, Neuron or GPT from its torch_modules twin, which must be as it was
    made (its layers not swapped for others: the repr of a fresh twin of the same settings)."""
    if ours is GPT:
        config = twin.config()
    else:
        config = {key: getattr(twin, key) for key in ours.config_keys}
    fresh = getattr(torch_modules, ours.__name__)(**config, device=META)
    if repr(fresh) != repr(twin):
        raise ValueError(
            f"its layers were changed after it was made: expected\n{fresh}\nfor {config}, "
            f"got\n{twin}"
        )
    return ours(**config)


def _require(twin: Any, setting: str, supported: Any) -> None:
    value = getattr(twin, setting)
    if value != supported:
        raise ValueError(
            f"{setting}={value!r} has no counterpart in nn, which supports only "
            f"{setting}={supported!r}"
        )
