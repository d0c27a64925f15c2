"""Pooling and Flatten, as PyTorch names them: MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, Flatten.

These are the layers of a convolutional network that hold no weights and only reduce or reshape
its feature maps, so they share a file. Pooling works on each channel apart, over windows of
`kernel_size` moved by `stride` (by default the kernel size, so windows do not overlap), on the
input padded by `padding` on each side: max pooling takes the largest entry of each window as one
`max_values` node (the padding, PyTorch's -inf, never wins), average pooling the window's sum
(`sum_values`) over the kernel's size, the zero padding counted (PyTorch's count_include_pad).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from autograd import Value, max_values, sum_values
from nn.layers.conv import _fold
from nn.layers.windows import (
    Gather,
    as_given,
    check_fits,
    flatten_example,
    gather,
    spatial,
    windows,
)
from nn.model_files import saveable
from nn.module import Module


class _Pool(Module):
    """What the pooling layers share: arguments, the windows, the forward pass."""

    dims: ClassVar[int]
    config_keys = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
    ) -> None:
        name, dims = type(self).__name__, self.dims
        stride = kernel_size if stride is None else stride
        self._kernel = spatial(name, "kernel_size", kernel_size, dims, 1)
        self._stride = spatial(name, "stride", stride, dims, 1)
        self._padding = spatial(name, "padding", padding, dims, 0)
        if any(2 * p > k for p, k in zip(self._padding, self._kernel)):
            raise ValueError(
                f"{name}: padding must be at most half the kernel size, got "
                f"padding={as_given(padding)!r} for kernel_size={as_given(kernel_size)!r}"
            )
        # as given (an int or a tuple), for the repr and the config, as PyTorch keeps them
        self.kernel_size, self.stride, self.padding = map(as_given, (kernel_size, stride, padding))
        self._plans: dict[tuple[int, ...], tuple[tuple[int, ...], list[Gather]]] = {}

    def forward(self, x: Sequence[Any]) -> list:
        flat, sizes = flatten_example(self, x, None, self.dims)
        out_sizes, plan = self._plan(sizes)
        area = math.prod(sizes)
        reduce = self._reduce
        return [
            _fold([reduce(pick(flat[c * area : (c + 1) * area])) for pick in plan], out_sizes)
            for c in range(len(x))
        ]

    def _reduce(self, window: tuple) -> Value:
        raise NotImplementedError

    def _plan(self, sizes: tuple[int, ...]) -> tuple[tuple[int, ...], list[Gather]]:
        if sizes not in self._plans:
            ones = (1,) * self.dims
            check_fits(self, sizes, self._kernel, self._padding, ones)
            out_sizes, positions = windows(sizes, self._kernel, self._stride, self._padding, ones)
            plan = [gather([j for _, j in pairs]) for pairs in positions]
            self._plans[sizes] = (out_sizes, plan)
        return self._plans[sizes]

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def config(self) -> dict[str, Any]:
        return {key: _plain(getattr(self, key)) for key in self.config_keys}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}{self._extra_repr})"
        )

    _extra_repr = ""


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class _MaxPool(_Pool):
    _extra_repr = ", dilation=1, ceil_mode=False"  # PyTorch's defaults, the only ones here

    def _reduce(self, window: tuple) -> Value:
        return max_values(window)


class _AvgPool(_Pool):
    def _reduce(self, window: tuple) -> Value:
        return sum_values(window) / self._count

    @property
    def _count(self) -> int:
        return math.prod(self._kernel)


@saveable
class MaxPool1d(_MaxPool):
    """The largest entry of each window of `kernel_size` along the length, channel by channel.

    An example is channels x length; the output is channels x L_out with L_out =
    floor((L + 2 padding - kernel_size) / stride) + 1. `stride` defaults to `kernel_size`;
    `padding` (at most half the kernel) pads with -inf, as PyTorch does. The gradient goes to the
    first largest entry of each window.

    >>> pool = MaxPool1d(2)
    >>> pool
    MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> [[v.data for v in channel] for channel in pool([[1.0, 3.0, 2.0, 0.0, 5.0]])]
    [[3.0, 2.0]]
    """

    dims = 1


@saveable
class MaxPool2d(_MaxPool):
    """The largest entry of each kernel_size window of each channel of a channels x height x
    width example; each argument an int or a (height, width) pair, as MaxPool1d along each axis.

    >>> out = MaxPool2d(2)([[[1.0, 2.0], [4.0, 3.0]]])
    >>> out[0][0][0].data
    4.0
    """

    dims = 2


@saveable
class AvgPool1d(_AvgPool):
    """The mean of each window of `kernel_size` along the length, channel by channel.

    As MaxPool1d, but each window's sum over `kernel_size`, the zero padding counted
    (PyTorch's count_include_pad=True). PyTorch's AvgPool1d keeps its sizes as 1-tuples.

    >>> pool = AvgPool1d(2, padding=1)
    >>> pool
    AvgPool1d(kernel_size=(2,), stride=(2,), padding=(1,))
    >>> [[v.data for v in channel] for channel in pool([[1.0, 3.0, 2.0]])]
    [[0.5, 2.5]]
    """

    dims = 1

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = self._kernel, self._stride, self._padding


@saveable
class AvgPool2d(_AvgPool):
    """The mean of each kernel_size window of each channel of a channels x height x width
    example (the zero padding counted); each argument an int or a (height, width) pair.

    >>> out = AvgPool2d(2)([[[1.0, 2.0], [4.0, 3.0]]])
    >>> out[0][0][0].data
    2.5
    """

    dims = 2


@saveable
class Flatten(Module):
    """One example's nested lists (channels x length, channels x height x width, ...) as one flat
    list, row-major: what sits between the convolutions and the Linear layers.

    PyTorch's Flatten() flattens each example of a batch, the axes after the batch's: the same,
    since nn takes one example at a time, hence its repr.

    >>> flat = Flatten()
    >>> flat
    Flatten(start_dim=1, end_dim=-1)
    >>> flat([[1.0, 2.0], [3.0, 4.0]])
    [1.0, 2.0, 3.0, 4.0]
    """

    def forward(self, x: Any) -> list:
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"Flatten takes one example, nested lists, got {type(x).__name__}")
        return _flat(x)

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def __repr__(self) -> str:
        return "Flatten(start_dim=1, end_dim=-1)"


def _flat(x: Sequence[Any]) -> list:
    if not any(isinstance(v, (list, tuple)) for v in x):
        return list(x)
    return [v for part in x for v in (_flat(part) if isinstance(part, (list, tuple)) else (part,))]
