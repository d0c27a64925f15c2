"""PyTorch twins of nn's composite models: micrograd's `MLP`, `Layer` and `Neuron`, and `GPT`.

`nn.to_torch` turns an `nn.MLP` into `nn.interop.torch_modules.MLP`, a `torch.nn.Sequential` of
`Linear` layers and activation modules, so it runs, trains and saves as any PyTorch model does: its
state dict (`0.weight`, `0.bias`, `2.weight`, ...) also loads into a plain `torch.nn.Sequential` of
the same layers. It keeps the constructor arguments of the nn model (`nin`, `nouts`, `activation`,
`init`), so that `nn.from_torch` rebuilds an `nn.MLP`, not an `nn.Sequential`. `Layer` and `Neuron`
are the same for one layer and one unit. Each takes a batch, a tensor of shape (batch, nin), and
returns (batch, outputs): a one-unit network gives (batch, 1) where the nn model gives a bare Value.
`GPT` is `nn.GPT` from torch.nn's Embedding, LayerNorm or RMSNorm, MultiheadAttention and Linear,
under nn's names; it reads token ids of shape (T,) or (batch, T).
Unlike the rest of nn, this module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from nn.init import initializer
from nn.layers.arguments import positive_size
from nn.layers.mlp import _activation_function, _activations_per_layer, _sizes
from nn.models.gpt import _checked_settings

# torch.nn.Softplus returns x itself above `threshold`; nn computes softplus exactly everywhere.
# At 40 the two differ by at most e**-40 (4e-18), below a float64 rounding of anything near 40.
SOFTPLUS_THRESHOLD = 40.0
# from_torch takes a torch Softplus whose threshold is at least torch's default, 20: just above
# it the two differ by log(1 + e**-20) = 2.1e-9 at most. Below it they differ by more (0.31 at
# threshold 1), and nn's Softplus has no threshold: refused.
SOFTPLUS_LOWEST_THRESHOLD = 20.0

# The torch module for each activation name of `nn.ACTIVATIONS` ("linear" has none).
TORCH_ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    "softplus": lambda: torch.nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD),
    "silu": torch.nn.SiLU,
    "gelu": torch.nn.GELU,
}


def _layers(
    sizes: Sequence[int], activations: Sequence[str], device: Any, dtype: Any
) -> list[torch.nn.Module]:
    """Linear(sizes[i], sizes[i + 1]) then its activation module, for every layer."""
    layers: list[torch.nn.Module] = []
    for nin, nout, activation in zip(sizes, sizes[1:], activations):
        _activation_function(activation)  # an unknown name is refused as nn refuses it
        layers.append(torch.nn.Linear(nin, nout, device=device, dtype=dtype))
        if activation != "linear":
            layers.append(TORCH_ACTIVATIONS[activation]())
    return layers


def _init(name: str) -> str:
    """An initializer's name, refused as nn refuses it when unknown (it is used by the way back
    to nn: an unknown one would be refused only by `from_torch`)."""
    initializer(name)
    return name


class MLP(torch.nn.Sequential):
    """`nn.MLP(nin, nouts, activation=..., init=...)` as a torch.nn.Sequential.

    `device` and `dtype` go to the Linear layers, as in torch.nn; `init` is kept for the way
    back to nn (the weights here start as torch.nn.Linear's do).

    >>> model = MLP(2, [3, 1], activation="tanh")
    >>> model
    MLP(
      nin=2, nouts=[3, 1], activation='tanh', init='uniform'
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "relu",
        init: str = "uniform",
        *,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.nin, self.nouts = positive_size("nin", nin), _sizes(nouts)
        per_layer = _activations_per_layer(activation, len(self.nouts))
        super().__init__(*_layers([self.nin, *self.nouts], per_layer, device, dtype))
        self.activation = activation if isinstance(activation, str) else list(activation)
        self.init = _init(init)

    def extra_repr(self) -> str:
        return (
            f"nin={self.nin}, nouts={self.nouts}, activation={self.activation!r}, "
            f"init={self.init!r}"
        )


class Layer(torch.nn.Sequential):
    """`nn.Layer(nin, nout, activation=..., init=...)`: Linear(nin, nout) and its activation.

    >>> Layer(2, 3)
    Layer(
      nin=2, nout=3, activation='relu', init='uniform'
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
    )
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        init: str = "uniform",
        *,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.nin, self.nout = positive_size("nin", nin), positive_size("nout", nout)
        super().__init__(*_layers([self.nin, self.nout], [activation], device, dtype))
        self.activation, self.init = activation, _init(init)

    def extra_repr(self) -> str:
        return (
            f"nin={self.nin}, nout={self.nout}, activation={self.activation!r}, init={self.init!r}"
        )


class Neuron(torch.nn.Sequential):
    """`nn.Neuron(nin, activation=..., init=...)`: Linear(nin, 1) and its activation.

    >>> Neuron(2, activation="linear")(torch.ones(4, 2)).shape
    torch.Size([4, 1])
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        init: str = "uniform",
        *,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.nin = positive_size("nin", nin)
        super().__init__(*_layers([self.nin, 1], [activation], device, dtype))
        self.activation, self.init = activation, _init(init)

    def extra_repr(self) -> str:
        return f"nin={self.nin}, activation={self.activation!r}, init={self.init!r}"


class GPTBlock(torch.nn.Module):
    """One pre-norm block of the `GPT` twin, as `nn.models.blocks.Block`: `norm_1`, `attn` (a
    torch.nn.MultiheadAttention, batch first), `norm_2` and `mlp` (Linear, activation, Linear).

        x = x + attn(norm_1(x)), causal;  x = x + mlp(norm_2(x))
    """

    def __init__(self, n_embd: int, n_head: int, settings: dict[str, Any], **factory: Any) -> None:
        super().__init__()
        bias = settings["bias"]
        self.norm_1 = _norm(n_embd, settings, factory)
        self.attn = torch.nn.MultiheadAttention(
            n_embd, n_head, bias=bias, batch_first=True, **factory
        )
        self.norm_2 = _norm(n_embd, settings, factory)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n_embd, 4 * n_embd, bias=bias, **factory),
            TORCH_ACTIVATIONS[settings["mlp"]](),
            torch.nn.Linear(4 * n_embd, n_embd, bias=bias, **factory),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x of shape (batch, T, n_embd); `mask` the (T, T) causal mask, True above the diagonal
        (may not attend)."""
        h = self.norm_1(x)
        attended = self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
        x = x + attended
        return x + self.mlp(self.norm_2(x))


def _norm(size: int, settings: dict[str, Any], factory: dict[str, Any]) -> torch.nn.Module:
    """torch.nn.LayerNorm or RMSNorm, as `nn.models.blocks.make_norm` makes nn's."""
    options = {"eps": settings["norm_eps"], "elementwise_affine": settings["norm_weights"]}
    if settings["norm"] == "layernorm":
        return torch.nn.LayerNorm(size, **options, bias=settings["bias"], **factory)
    return torch.nn.RMSNorm(size, **options, **factory)


class GPT(torch.nn.Module):
    """`nn.GPT(vocab_size, block_size, n_embd, n_head, n_layer, ...)` built from torch.nn layers.

    The same modules under the same names as nn's GPT, so that its state dict holds the same
    tensors: `wte`, `wpe` (torch.nn.Embedding), `norm_e` (when `embedding_norm`), `blocks.b`
    (`GPTBlock`s: `norm_1`, `attn`, `norm_2`, `mlp.0`, `mlp.2`), `norm_f` (when `final_norm`)
    and `lm_head` (a Linear without bias). The settings are nn's, kept for the way back
    (`nn.from_torch` rebuilds an `nn.GPT`). Made directly, its weights start as nn's do in
    distribution: matrices and embeddings from N(0, init_std), biases 0, norm weights 1, from
    torch's generator.

    `model(tokens)`: tokens an int64 tensor of shape (T,) or (batch, T), T at most block_size;
    the logits, (T, vocab_size) or (batch, T, vocab_size), position t seeing positions 0..t.
    Sequences of a batch share their length: pad them at the end (a causal model never lets
    earlier positions see the padding) and leave the padded targets out of the loss.

    >>> model = GPT(5, block_size=8, n_embd=8, n_head=2, n_layer=1, dtype=torch.float64)
    >>> model(torch.tensor([0, 3, 1])).shape, model(torch.zeros(4, 6, dtype=torch.long)).shape
    (torch.Size([3, 5]), torch.Size([4, 6, 5]))
    >>> sum(p.numel() for p in model.parameters())  # as nn.GPT(5, 8, 8, 2, 1)
    1032
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_embd: int,
        n_head: int,
        n_layer: int,
        *,
        norm: str = "layernorm",
        norm_weights: bool = True,
        norm_eps: float = 1e-5,
        mlp: str = "gelu",
        bias: bool = True,
        embedding_norm: bool = False,
        final_norm: bool = True,
        init_std: float = 0.02,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        sizes = (vocab_size, block_size, n_embd, n_head, n_layer)
        names = ("vocab_size", "block_size", "n_embd", "n_head", "n_layer")
        for name, size in zip(names, sizes):
            setattr(self, name, positive_size(f"GPT: {name}", size))
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPT: n_embd={n_embd} is not divisible by n_head={n_head}; each head takes "
                "n_embd // n_head entries"
            )
        settings = _checked_settings(norm, norm_weights, norm_eps, mlp, bias, init_std)
        settings["embedding_norm"] = bool(embedding_norm)
        settings["final_norm"] = bool(final_norm)
        self.settings = settings
        factory = {"device": device, "dtype": dtype}
        n = self.n_embd
        # tables given, not drawn: torch.nn.Embedding draws N(0, 1) on creation, and on the meta
        # device (where nn.to_torch builds) its first draw imports torch's compiler
        self.wte = torch.nn.Embedding(vocab_size, n, _weight=torch.empty(vocab_size, n, **factory))
        self.wpe = torch.nn.Embedding(block_size, n, _weight=torch.empty(block_size, n, **factory))
        self.norm_e = _norm(n, settings, factory) if embedding_norm else None
        self.blocks = torch.nn.ModuleList(
            GPTBlock(n, self.n_head, settings, **factory) for _ in range(self.n_layer)
        )
        self.norm_f = _norm(n, settings, factory) if final_norm else None
        self.lm_head = torch.nn.Linear(n, vocab_size, bias=False, **factory)
        if self.wte.weight.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """Matrices and embeddings from N(0, init_std), biases 0, norm weights 1 (nn's
        scheme), from torch's generator."""
        std = self.settings["init_std"]
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                if ".norm" in name or name.startswith("norm"):
                    parameter.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    parameter.zero_()
                else:
                    parameter.normal_(0.0, std)

    def config(self) -> dict[str, Any]:
        """The arguments it was made with (those of `nn.GPT`)."""
        sizes = ("vocab_size", "block_size", "n_embd", "n_head", "n_layer")
        return {key: getattr(self, key) for key in sizes} | self.settings

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() not in (1, 2):
            raise ValueError(
                f"GPT: tokens must have shape (T,) or (batch, T), got {tuple(tokens.shape)}"
            )
        length = tokens.shape[-1]
        if not 1 <= length <= self.block_size:
            raise ValueError(
                f"GPT: tokens has {length} positions; a sequence takes 1 to "
                f"block_size={self.block_size}"
            )
        batch = tokens if tokens.dim() == 2 else tokens.unsqueeze(0)
        positions = torch.arange(length, device=tokens.device)
        x = self.wte(batch) + self.wpe(positions)
        if self.norm_e is not None:
            x = self.norm_e(x)
        mask = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        for block in self.blocks:
            x = block(x, mask)
        if self.norm_f is not None:
            x = self.norm_f(x)
        logits = self.lm_head(x)
        return logits if tokens.dim() == 2 else logits.squeeze(0)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.config().items())
