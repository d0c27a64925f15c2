"""Activation modules, as PyTorch names them: ReLU, Tanh, Sigmoid, LeakyReLU, Softplus, SiLU,
GELU and Identity, each applying a function of `Value` to every entry of an example."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, ClassVar

from autograd import Value
from nn.layers.arguments import finite_real
from nn.model_files import saveable
from nn.module import Module

Example = Sequence[Value | float]


class _Elementwise(Module):
    """An activation applied to each entry of an example (a list, or nested lists such as a
    convolution's channels x length), or to a single Value."""

    function: ClassVar[Callable[[Value], Value]]  # a staticmethod, or a method for LeakyReLU

    def forward(self, x: Example | Value | float) -> list[Value] | Value:
        apply = self.function
        if isinstance(x, (list, tuple)):
            if x and isinstance(x[0], (list, tuple)):  # nested: a convolution's feature maps
                return [self.forward(part) for part in x]
            return [apply(v if type(v) is Value else _constant(v)) for v in x]
        return apply(x if type(x) is Value else _constant(x))

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@saveable
class ReLU(_Elementwise):
    """max(0, x) for each entry.

    >>> [y.data for y in ReLU()([-1.0, 2.0])]
    [0.0, 2.0]
    """

    function = staticmethod(Value.relu)


@saveable
class Tanh(_Elementwise):
    """tanh(x) for each entry.

    >>> Tanh()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.tanh)


@saveable
class Sigmoid(_Elementwise):
    """1 / (1 + e**-x) for each entry.

    >>> Sigmoid()([0.0])[0].data
    0.5
    """

    function = staticmethod(Value.sigmoid)


@saveable
class Softplus(_Elementwise):
    """log(1 + e**x) for each entry: PyTorch's Softplus with beta = 1, computed without overflow.

    >>> round(Softplus()([0.0])[0].data, 6)
    0.693147
    """

    function = staticmethod(Value.softplus)


@saveable
class SiLU(_Elementwise):
    """x sigmoid(x) for each entry.

    >>> SiLU()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.silu)


@saveable
class GELU(_Elementwise):
    """x Phi(x) for each entry, Phi the standard normal CDF (PyTorch's exact form).

    >>> GELU()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.gelu)


@saveable
class Identity(_Elementwise):
    """Returns its input unchanged; a placeholder, as in PyTorch.

    >>> Identity()([1.0, 2.0])
    [1.0, 2.0]
    """

    def forward(self, x: Any) -> Any:
        return x


@saveable
class LeakyReLU(_Elementwise):
    """x for x > 0, `negative_slope` * x below.

    >>> [y.data for y in LeakyReLU(0.1)([-2.0, 3.0])]
    [-0.2, 3.0]
    """

    config_keys = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = finite_real("LeakyReLU: negative_slope", negative_slope)

    def function(self, x: Value) -> Value:
        return x.leaky_relu(self.negative_slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


ACTIVATION_MODULES = (ReLU, Tanh, Sigmoid, LeakyReLU, Softplus, SiLU, GELU, Identity)


def _constant(x: Any) -> Value:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"expected a Value or a real number, got {type(x).__name__} {x!r}")
    return Value(x)
