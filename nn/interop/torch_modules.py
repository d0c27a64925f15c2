"""PyTorch twins of nn's micrograd-style networks: `MLP`, `Layer` and `Neuron` as torch modules.

`nn.to_torch` turns an `nn.MLP` into `nn.interop.torch_modules.MLP`, a `torch.nn.Sequential` of
`Linear` layers and activation modules, so it runs, trains and saves as any PyTorch model does: its
state dict (`0.weight`, `0.bias`, `2.weight`, ...) also loads into a plain `torch.nn.Sequential` of
the same layers. It keeps the constructor arguments of the nn model (`nin`, `nouts`, `activation`,
`init`), so that `nn.from_torch` rebuilds an `nn.MLP`, not an `nn.Sequential`. `Layer` and `Neuron`
are the same for one layer and one unit. Each takes a batch, a tensor of shape (batch, nin), and
returns (batch, outputs): a one-unit network gives (batch, 1) where the nn model gives a bare Value.
Unlike the rest of nn, this module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from nn.init import initializer
from nn.layers.arguments import positive_size
from nn.layers.mlp import _activation_function, _activations_per_layer, _sizes

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
