"""Models to and from PyTorch: `to_torch(module)` and `from_torch(torch_module)`.

nn's layers already carry PyTorch's parameter names and layouts (`weight[j][i]` joins input i to
output j, the LSTM's gates stacked i, f, g, o), so a layer maps to its torch.nn namesake entry for
entry; micrograd's `MLP`, `Layer` and `Neuron` map to the Sequential twins of
`nn.interop.torch_modules`, which remember what they came from. Every number is copied as it is: a
round trip gives back the same floats, bit for bit, and each module keeps its training or eval mode.
A module used twice stays one module used twice, and a weight tied between two layers (the same
Values in nn, the same Parameter in torch: an Embedding's table read again by the output Linear)
stays one weight.

The converted modules follow PyTorch's calling conventions, which take a batch where nn takes
one example:

- `MLP`, `Layer`, `Neuron`, `Linear`, `Sequential`, the activations, `Dropout`, `BatchNorm1d`:
  `model(x)` with x of shape (batch, features) gives (batch, outputs); a one-output MLP gives
  (batch, 1) where nn gives a bare Value.
- `LayerNorm`, `RMSNorm`: `norm(x)` normalises the last axis of x, of any shape.
- `Conv1d`, `MaxPool1d`, `AvgPool1d`: x is (batch, channels, length); `Conv2d`, `MaxPool2d`,
  `AvgPool2d`: (batch, channels, height, width); `Flatten` gives (batch, features).
- `Embedding`: `table(indices)` with an int64 tensor of any shape gives (..., embedding_dim).
- `MultiheadAttention`: `attention(query, key, value, attn_mask=..., is_causal=...)` with
  sequences of shape (L, embed_dim) and (S, embed_dim), or batches (L, batch, embed_dim); torch
  wants the causal `attn_mask` whenever `is_causal=True`.
- `RNNCell`, `GRUCell`: `cell(x, h)`; `LSTMCell`: `cell(x, (h, c))`; x is (batch, input_size),
  h and c are (batch, hidden_size).
- `RNN`, `GRU`: `rnn(x, h0)`; `LSTM`: `lstm(x, (h0, c0))`; x is (seq, batch, input_size), the
  states (num_layers, batch, hidden_size), as torch.nn's sequence-first default.
- `GPT` (to `nn.interop.torch_modules.GPT`, under nn's names): `model(tokens)` with int64 token
  ids of shape (T,) or (batch, T) gives the logits (T, vocab_size) or (batch, T, vocab_size).

Unbatched inputs work wherever torch.nn accepts them.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from autograd import Value, gc_paused
from nn.extras import require
from nn.interop.torch_structure import nn_structure, torch_structure
from nn.layers.attention import MultiheadAttention
from nn.layers.cells import GRUCell, LSTMCell, RNNCell
from nn.layers.conv import Conv1d, Conv2d
from nn.layers.embedding import Embedding
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.linear import Linear, Sequential
from nn.layers.mlp import MLP, Layer, Neuron
from nn.layers.norm import BatchNorm1d
from nn.layers.rnn import GRU, LSTM, RNN
from nn.models.gpt import GPT
from nn.module import Module

_CELLS = (RNNCell, LSTMCell, GRUCell)
_SEQUENCES = (RNN, LSTM, GRU)


class Buffer(NamedTuple):
    """A buffer of `owner` (a list of floats, or an int), kept under `attribute`."""

    owner: Module
    attribute: str


def to_torch(module: Module, dtype: Any = None) -> Any:
    """The `torch.nn.Module` with the same architecture, weights, buffers and modes as `module`.

    `dtype` is a floating torch dtype (None: torch.float64, in which outputs and gradients
    agree with nn's to rounding). The torch module owns its tensors: training it leaves
    `module` as it was. See the module docstring for how the result is called. A module
    with no PyTorch counterpart (a Module subclass of your own) is refused with a TypeError
    naming it and where it sits (`model.2`).

    >>> import torch
    >>> from nn import MLP, to_torch
    >>> model = MLP(2, [3, 1], seed=0)
    >>> twin = to_torch(model)
    >>> y = twin(torch.tensor([[1.0, -0.5]], dtype=torch.float64))
    >>> abs(y.item() - model([1.0, -0.5]).data) < 1e-12
    True
    """
    torch = require("torch", "torch", "to_torch")
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_torch: dtype must be a floating torch dtype, got {dtype!r}")
    if not isinstance(module, Module):
        raise TypeError(f"to_torch: expected an nn Module, got {type(module).__name__}")
    return _to_torch(module, "model", dtype, torch, {}, {})


def from_torch(torch_module: Any) -> Module:
    """The nn module with the same architecture, weights, buffers and modes as `torch_module`.

    The way back from `to_torch`, and the way in for a PyTorch model built from the layers nn has:
    torch.nn's Linear, Sequential, ReLU, Tanh, Sigmoid, LeakyReLU, Softplus (beta 1, threshold 20 or
    more), SiLU, GELU (exact), Identity, Dropout, BatchNorm1d (with running statistics), LayerNorm
    and RMSNorm (over one axis), MultiheadAttention (no dropout, no kdim, vdim, add_bias_kv or
    add_zero_attn), Embedding, RNNCell, LSTMCell, GRUCell, RNN, LSTM and GRU (one direction,
    sequence first, no dropout between layers, no projections), Conv1d and Conv2d (no groups, zero
    padding), MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d (no ceil_mode or dilation, padding counted
    in averages), Flatten (whole examples), and the twins in `nn.interop.torch_modules` (MLP,
    Layer, Neuron, GPT). Anything
    else is refused, naming it and where it sits (`model.3`): a TypeError for a module nn does not
    have, a ValueError for a setting it does not have. Tensors on any device and of any floating
    dtype are read as Python floats; the global `random` stream is left as it was.

    >>> import torch
    >>> from nn import from_torch
    >>> model = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh()))
    >>> model
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
    )
    """
    torch = require("torch", "torch", "from_torch")
    if not isinstance(torch_module, torch.nn.Module):
        got = type(torch_module).__name__
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {got}")
    state = random.getstate()  # building draws throwaway weights from the global stream
    try:
        with gc_paused():  # the new Values hold no cycles: the collector's passes find nothing
            return _from_torch(torch_module, "model", torch, {}, {})
    finally:
        random.setstate(state)


# --- to PyTorch -------------------------------------------------------------------------------
def _to_torch(
    module: Module, where: str, dtype: Any, torch: Any, made: dict[int, Any], tied: dict
) -> Any:
    """The torch twin of `module`; `made` holds those made so far, so that a module used twice
    (weights shared between two places) becomes one torch module used twice, and `tied` the
    torch parameters made so far (see `_tie_in_torch`)."""
    if id(module) in made:
        return made[id(module)]
    if type(module) is Sequential:
        twin = torch.nn.Sequential(
            *(
                _to_torch(part, f"{where}.{i}", dtype, torch, made, tied)
                for i, part in enumerate(module)
            )
        )
        twin.training = module.training  # the parts keep their own modes
    else:
        twin = torch_structure(module, where, torch)
        state = {name: _tensor(held, dtype, torch) for name, held in _tensors(module).items()}
        twin.load_state_dict(state, strict=True, assign=True)
        _tie_in_torch(module, twin, where, tied)
        twin.train(module.training)
        if type(module) is GPT:  # the parts keep their own modes
            for name, part in _gpt_modules(module):
                twin.get_submodule(name).training = part.training
    made[id(module)] = twin
    return twin


def _tensor(held: Any, dtype: Any, torch: Any) -> Any:
    """A torch tensor of Values (nested lists) or of a buffer, in one call to torch.tensor."""
    if isinstance(held, Buffer):
        value = getattr(held.owner, held.attribute)
        return torch.tensor(value, dtype=torch.long if type(value) is int else dtype)
    if type(held[0]) is Value:
        return torch.tensor([v.data for v in held], dtype=dtype)
    if type(held[0][0]) is Value:
        return torch.tensor([[v.data for v in row] for row in held], dtype=dtype)
    return torch.tensor(_numbers(held), dtype=dtype)  # a convolution's 3-d or 4-d weight


def _numbers(held: Any) -> Any:
    """The floats of nested lists of Values, nested the same way."""
    if type(held[0]) is Value:
        return [v.data for v in held]
    return [_numbers(part) for part in held]


def _tensors(module: Module) -> dict[str, Any]:
    """Every parameter and buffer of a (non-Sequential) module by its torch name: parameters as
    nested lists of Values in the tensor's shape, buffers as `Buffer`s."""
    kind = type(module)
    if kind in (Linear, Embedding, Conv1d, Conv2d):
        return _present(weight=module.weight, bias=getattr(module, "bias", None))
    if kind in (LayerNorm, RMSNorm):
        return _present(weight=module.weight, bias=getattr(module, "bias", None))
    if kind is MultiheadAttention:
        return _present(
            in_proj_weight=module.in_proj_weight,
            in_proj_bias=module.in_proj_bias,
            **{"out_proj.weight": module.out_proj.weight, "out_proj.bias": module.out_proj.bias},
        )
    if kind is BatchNorm1d:
        buffers = {key: Buffer(module, key) for key in BatchNorm1d.buffer_keys}
        return {**_present(weight=module.weight, bias=module.bias), **buffers}
    if kind in _CELLS:
        return _present(
            weight_ih=module.weight_ih,
            weight_hh=module.weight_hh,
            bias_ih=module.bias_ih,
            bias_hh=module.bias_hh,
        )
    if kind in _SEQUENCES:
        return {
            f"{name}_l{layer}": held
            for layer, cell in enumerate(module.cells)
            for name, held in _tensors(cell).items()
        }
    if kind is GPT:
        return {
            f"{prefix}.{name}": held
            for prefix, part in _gpt_parts(module)
            for name, held in _tensors(part).items()
        }
    if kind is Neuron:
        return {"0.weight": [module.w], "0.bias": [module.b]}
    if kind is Layer:
        return _neurons_as_linear("0", module.neurons)
    if kind is MLP:
        tensors, position = {}, 0
        for layer in module.layers:  # Linear, then its activation unless it is "linear"
            tensors.update(_neurons_as_linear(str(position), layer.neurons))
            position += 1 if layer.activation == "linear" else 2
        return tensors
    return {}


def _gpt_parts(model: GPT) -> list[tuple[str, Module]]:
    """The layers of a GPT that hold tensors, by the names its torch twin gives them."""
    parts = [("wte", model.wte), ("wpe", model.wpe), ("norm_e", model.norm_e)]
    for b, block in enumerate(model.blocks):
        named = {"norm_1": block.norm_1, "attn": block.attn, "norm_2": block.norm_2}
        named |= {"mlp.0": block.mlp[0], "mlp.2": block.mlp[2]}
        parts += [(f"blocks.{b}.{name}", part) for name, part in named.items()]
    parts += [("norm_f", model.norm_f), ("lm_head", model.lm_head)]
    return [(name, part) for name, part in parts if part is not None]


def _gpt_modules(model: GPT) -> list[tuple[str, Module]]:
    """Every module of a GPT, itself and its blocks included, by its torch twin's names (whose
    `blocks` ModuleList has no counterpart in nn, where the blocks are a list)."""
    found = [("", model)]
    for name, part in _gpt_parts(model):
        if name.endswith(".mlp.0"):
            block = name[: -len(".mlp.0")]
            mlp = model.blocks[int(block.rpartition(".")[2])].mlp
            found += [(block + ".mlp", mlp), (block + ".mlp.1", mlp[1])]
        elif name.endswith(".norm_1"):
            found.append((name[: -len(".norm_1")], model.blocks[int(name.split(".")[1])]))
        found.append((name, part))
        if name.endswith(".attn"):
            found.append((name + ".out_proj", part.out_proj))
    return found


def _tie_in_torch(module: Module, twin: Any, where: str, tied: dict) -> None:
    """Give `twin` the torch parameter made before for the same Values (weights tied between
    two layers, an Embedding's and an output Linear's), so the tie holds in torch too. `tied`
    maps the ids of a tensor's Values to that parameter and where it is, and each Value's id to
    where it is: a tensor that shares only some of its Values with another is refused."""
    for name, held in _tensors(module).items():
        if isinstance(held, Buffer):
            continue
        key = tuple(id(v) for v in _values(held))
        owner_name, _, leaf = name.rpartition(".")
        owner = twin.get_submodule(owner_name)
        if key in tied:
            parameter, first = tied[key]
            if list(parameter.shape) != _shape(held):
                raise ValueError(
                    f"to_torch: {where}.{name} holds the parameters of {first} in another "
                    f"shape ({_shape(held)}, not {list(parameter.shape)}); torch cannot tie them"
                )
            setattr(owner, leaf, parameter)
            continue
        shared = next((tied[i] for i in key if i in tied), None)
        if shared is not None:
            raise ValueError(
                f"to_torch: {where}.{name} shares some of its parameters with {shared}, but "
                "not all; torch ties whole tensors only"
            )
        tied[key] = (getattr(owner, leaf), f"{where}.{name}")
        tied.update(dict.fromkeys(key, f"{where}.{name}"))


def _values(held: Any) -> list[Value]:
    """The Values of a tensor nn holds (a list, or nested lists), in order."""
    return list(held) if type(held[0]) is Value else [v for row in held for v in _values(row)]


def _neurons_as_linear(prefix: str, neurons: list[Neuron]) -> dict[str, Any]:
    return {f"{prefix}.weight": [n.w for n in neurons], f"{prefix}.bias": [n.b for n in neurons]}


def _present(**tensors: Any) -> dict[str, Any]:
    return {name: held for name, held in tensors.items() if held is not None}


# --- from PyTorch -----------------------------------------------------------------------------
def _from_torch(
    twin: Any, where: str, torch: Any, made: dict[int, Module], tied: dict[int, Any]
) -> Module:
    """The nn module of `twin`; `made`, as in `_to_torch`, keeps shared modules shared, and
    `tied` parameters tied (see `_tie_in_nn`)."""
    if id(twin) in made:
        return made[id(twin)]
    if type(twin) is torch.nn.Sequential:
        # _modules, not named_children(), which lists a module used twice only once
        parts = [
            _from_torch(c, f"{where}.{n}", torch, made, tied) for n, c in twin._modules.items()
        ]
        module: Module = Sequential(*parts)
        module.training = twin.training  # the parts keep their own modes
    else:
        module = nn_structure(twin, where, torch)
        _load(module, twin.state_dict(), where)
        _tie_in_nn(module, twin, where, tied)
        if not twin.training:
            module.eval()  # an MLP's layers and neurons too (a new module is in training mode)
        if type(module) is GPT:  # the parts keep their own modes
            for name, part in _gpt_modules(module):
                part.training = twin.get_submodule(name).training
    made[id(twin)] = module
    return module


def _load(module: Module, state: dict[str, Any], where: str) -> None:
    """Copy every tensor of `state` into the parameters and buffers of `module`."""
    tensors = _tensors(module)
    if set(tensors) != set(state):
        raise ValueError(
            f"from_torch: {where} holds the tensors {sorted(state)}, but nn's "
            f"{type(module).__name__} has {sorted(tensors)}"
        )
    for name, held in tensors.items():
        tensor = state[name]
        _check_tensor(tensor, _shape(held), f"{where}.{name}")
        if isinstance(held, Buffer):
            setattr(held.owner, held.attribute, tensor.detach().cpu().tolist())
            continue
        for parameter, value in zip(_values(held), tensor.detach().cpu().reshape(-1).tolist()):
            parameter.data = value


def _shape(held: Any) -> list[int]:
    """The shape nn holds a tensor in: a buffer's (a list of floats, or an int: a scalar),
    else that of the nested list of Values."""
    if isinstance(held, Buffer):
        value = getattr(held.owner, held.attribute)
        return [] if type(value) is int else [len(value)]
    return [len(held)] if type(held[0]) is Value else [len(held), *_shape(held[0])]


def _check_tensor(tensor: Any, shape: list[int], where: str) -> None:
    """Refuse a tensor nn cannot hold: of another shape (a buffer too, which would otherwise be
    read as it is), of complex numbers, or on the meta device, which holds no numbers."""
    if list(tensor.shape) != shape:
        raise ValueError(f"from_torch: {where} has shape {list(tensor.shape)}, expected {shape}")
    if tensor.is_complex():
        raise TypeError(f"from_torch: {where} holds complex numbers ({tensor.dtype}), not real")
    if tensor.is_meta:
        raise ValueError(f"from_torch: {where} is on the meta device, which holds no numbers")


def _tie_in_nn(module: Module, twin: Any, where: str, tied: dict[int, Any]) -> None:
    """Make the parameters of `module` the very Values of the nn tensor made before from the
    same torch parameter (tied weights), so that they stay one parameter. `tied` maps a torch
    parameter's id to that tensor and where it is. The Values are put into nn's own lists; an
    MLP's, Layer's or Neuron's biases are not held in one, and are refused."""
    tensors = _tensors(module)
    for name, parameter in twin.named_parameters(remove_duplicate=False):
        held = tensors[name]
        if id(parameter) not in tied:
            tied[id(parameter)] = (held, f"{where}.{name}")
            continue
        first, first_where = tied[id(parameter)]
        if type(held[0]) is Value and type(module) in (MLP, Layer, Neuron):
            raise ValueError(
                f"from_torch: {where}.{name} is tied to {first_where}, but nn's "
                f"{type(module).__name__} keeps its biases in its neurons, which cannot share "
                "them; use torch.nn.Linear layers"
            )
        rows, first_rows = ([held], [first]) if type(held[0]) is Value else (held, first)
        for row, first_row in zip(rows, first_rows):
            row[:] = first_row
