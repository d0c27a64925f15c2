"""LayerNorm (Ba et al., 2016) and RMSNorm (Zhang and Sennrich, 2019), with PyTorch's formulas.

Both normalise one example over its own features, so unlike `BatchNorm1d` they need no batch and
behave the same in training and eval mode. A list of examples (a sequence of steps) gives the
list of their normalised lists, as PyTorch normalises the last axis and keeps the ones before.
Each is built from n-ary nodes: the mean is one `sum_values` node, the sum of squares one `dot`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from autograd import Value, dot, sum_values
from nn.layers.arguments import boolean_flag, finite_real, positive_size
from nn.model_files import saveable
from nn.module import Module

Example = Sequence[Value | float]


def _size(name: str, normalized_shape: Any) -> int:
    """The number of features from PyTorch's `normalized_shape`: an int, or a list or tuple of
    one int (nn's layers take flat examples, so a shape of more axes is refused)."""
    if isinstance(normalized_shape, (list, tuple)):
        if len(normalized_shape) != 1:
            raise ValueError(
                f"{name}: normalized_shape must be an int or a 1-tuple (nn normalises flat "
                f"examples), got {normalized_shape!r}"
            )
        (normalized_shape,) = normalized_shape
    return positive_size(f"{name}: normalized_shape", normalized_shape)


def _positive_eps(name: str, eps: Any) -> float:
    eps = finite_real(f"{name}: eps", eps)
    if eps < 0.0:
        raise ValueError(f"{name}: eps must be >= 0, got {eps!r}")
    return eps


class _Norm(Module):
    """What the two share: the size, the checks of an example, sequences of examples."""

    def _features(self, x: Any) -> int:
        if not isinstance(x, (list, tuple)):
            raise TypeError(
                f"{self!r} takes one example, a list of {self.size} numbers, "
                f"got {type(x).__name__} {x!r:.80}"
            )
        if len(x) != self.size:
            raise ValueError(f"{self!r} takes examples of {self.size} features, got {len(x)}")
        return self.size

    def forward(self, x: Example | Sequence[Example]) -> list[Any]:
        if isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)):
            return [self.forward(step) for step in x]
        self._features(x)
        return self._normalise(x)

    def _normalise(self, x: Example) -> list[Value]:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return self.normalized_shape[0]

    def config(self) -> dict[str, Any]:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
        }


@saveable
class LayerNorm(_Norm):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the features of one example, as
    `torch.nn.LayerNorm`: mean and var (biased, dividing by n) are the example's own, and the
    gradient flows through both. `weight` starts at 1 and `bias` at 0 (`elementwise_affine`;
    `bias=False` keeps the weight alone).

    >>> norm = LayerNorm(2)
    >>> norm
    LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> [round(y.data, 4) for y in norm([1.0, 3.0])]
    [-1.0, 1.0]
    """

    config_keys = ("normalized_shape", "eps", "elementwise_affine", "bias")

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        self.normalized_shape = (_size("LayerNorm", normalized_shape),)
        self.eps = _positive_eps("LayerNorm", eps)
        self.elementwise_affine = boolean_flag("elementwise_affine", elementwise_affine)
        self._bias = boolean_flag("bias", bias)  # the argument: no bias without the weight
        self.weight: list[Value] | None = None
        self.bias: list[Value] | None = None
        if self.elementwise_affine:
            self.weight = [Value(1.0) for _ in range(self.size)]
            if self._bias:
                self.bias = [Value(0.0) for _ in range(self.size)]

    def _normalise(self, x: Example) -> list[Value]:
        n = self.size
        mean = sum_values(x) * (1.0 / n)
        centred = [v - mean for v in x]
        inverse_std = (dot(centred, centred) * (1.0 / n) + self.eps) ** -0.5
        if self.weight is None:
            return [c * inverse_std for c in centred]
        if self.bias is None:
            return [c * inverse_std * w for c, w in zip(centred, self.weight)]
        return [c * inverse_std * w + b for c, w, b in zip(centred, self.weight, self.bias)]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "bias": self._bias}

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        if not boolean_flag("elementwise_affine", config["elementwise_affine"]):
            return 0
        n = _size("LayerNorm", config["normalized_shape"])
        return n * (1 + boolean_flag("bias", config["bias"]))

    def __repr__(self) -> str:
        return (
            f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None})"
        )


@saveable
class RMSNorm(_Norm):
    """y = x / sqrt(mean(x**2) + eps) * weight over the features of one example, as
    `torch.nn.RMSNorm`: no centring and no bias. `weight` starts at 1 (`elementwise_affine`).
    `eps=None` means the machine epsilon of the computation, as in PyTorch; nn computes in
    Python floats (float64), so that is `sys.float_info.epsilon` (2.22e-16), torch's for float64.

    >>> norm = RMSNorm(2)
    >>> norm
    RMSNorm((2,), eps=None, elementwise_affine=True)
    >>> [round(y.data, 4) for y in norm([3.0, 4.0])]
    [0.8485, 1.1314]
    """

    config_keys = ("normalized_shape", "eps", "elementwise_affine")

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
    ) -> None:
        self.normalized_shape = (_size("RMSNorm", normalized_shape),)
        self.eps = None if eps is None else _positive_eps("RMSNorm", eps)
        self.elementwise_affine = boolean_flag("elementwise_affine", elementwise_affine)
        self.weight: list[Value] | None = None
        if self.elementwise_affine:
            self.weight = [Value(1.0) for _ in range(self.size)]

    def _normalise(self, x: Example) -> list[Value]:
        eps = sys.float_info.epsilon if self.eps is None else self.eps
        inverse_rms = (dot(x, x) * (1.0 / self.size) + eps) ** -0.5
        if self.weight is None:
            return [v * inverse_rms for v in x]
        return [v * inverse_rms * w for v, w in zip(x, self.weight)]

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        n = _size("RMSNorm", config["normalized_shape"])
        return n * boolean_flag("elementwise_affine", config["elementwise_affine"])

    def __repr__(self) -> str:
        return (
            f"RMSNorm({self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine})"
        )
