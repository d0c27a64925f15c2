"""The sliding-window arithmetic that convolution and pooling share: sizes given as an int or one
per spatial axis, the output size, which input entries each output reads, and the checks of an
example (nested lists: channels x length, or channels x height x width)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from functools import lru_cache
from numbers import Integral
from typing import Any

Gather = Callable[[Sequence[Any]], Sequence[Any]]
AXES = {1: "length", 2: "height x width"}


def spatial(layer: str, name: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """`value` (an int, or a tuple or list of `dims` ints) as a tuple of `dims` ints >= minimum.

    >>> spatial("Conv2d", "kernel_size", 3, 2, 1)
    (3, 3)
    """
    entries = value if isinstance(value, (tuple, list)) else (value,) * dims
    if len(entries) != dims or not all(
        isinstance(n, Integral) and not isinstance(n, bool) for n in entries
    ):
        form = "an int" if dims == 1 else "an int or a pair of ints"
        raise TypeError(f"{layer}: {name} must be {form}, got {value!r}")
    if any(n < minimum for n in entries):
        raise ValueError(f"{layer}: {name} must be at least {minimum}, got {value!r}")
    return tuple(int(n) for n in entries)


def as_given(value: Any) -> Any:
    """An int or a tuple, as a user gave it (a list, from a model file, becomes a tuple)."""
    return tuple(value) if isinstance(value, list) else value


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1, PyTorch's formula.

    >>> output_size(40, 5, 2, 1, 1)
    19
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def gather(indices: Sequence[int]) -> Gather:
    """A function that picks `indices` out of a sequence, as a sequence: an itemgetter (picklable,
    as a lambda is not), given one index as a slice so that it too returns a sequence.

    >>> gather([2, 0])("abc"), gather([1])(("a", "b", "c"))
    (('c', 'a'), ('b',))
    """
    if len(indices) == 1:
        return operator.itemgetter(slice(indices[0], indices[0] + 1))
    return operator.itemgetter(*indices)


@lru_cache(maxsize=256)
def windows(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, ...], list[list[tuple[int, int]]]]:
    """The output sizes, and for each output position (row-major) the (kernel offset, input
    offset) pairs of its window that fall inside the input, both flattened row-major; entries in
    the padding are left out (they add nothing to a sum and never win a max).

    >>> windows((3,), (2,), (1,), (1,), (1,))
    ((4,), [[(1, 0)], [(0, 0), (1, 1)], [(0, 1), (1, 2)], [(0, 2)]])
    """
    out = tuple(map(output_size, sizes, kernel, stride, padding, dilation))
    found = []
    for position in itertools.product(*map(range, out)):
        pairs = []
        for k, offsets in enumerate(itertools.product(*map(range, kernel))):
            where = [
                o * s - p + j * d
                for o, s, p, j, d in zip(position, stride, padding, offsets, dilation)
            ]
            if all(0 <= w < n for w, n in zip(where, sizes)):
                pairs.append((k, _flat(where, sizes)))
        found.append(pairs)
    return out, found


def _flat(where: Sequence[int], sizes: Sequence[int]) -> int:
    index = 0
    for w, n in zip(where, sizes):
        index = index * n + w
    return index


def flatten_example(
    layer: Any, x: Any, channels: int | None, dims: int
) -> tuple[list, tuple[int, ...]]:
    """The entries of the example `x` (channels x length, or channels x height x width, as nested
    lists) in one row-major list, and its spatial sizes; a ValueError naming `layer` and the
    sizes when it is not of that shape (`channels` None: any number of them)."""
    expected = f"{'' if channels is None else f'{channels} '}channels of {AXES[dims]}"
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"{layer!r} takes one example, {expected} as nested lists, "
            f"got {type(x).__name__} {x!r:.80}"
        )
    if not x or (channels is not None and len(x) != channels):
        raise ValueError(f"{layer!r} takes {expected}, got {len(x)} channels")
    shape = _shape(x[0], dims)
    flat: list = []
    for c, channel in enumerate(x):
        entries = _entries(channel, dims)
        if entries is None or _shape(channel, dims) != shape:
            raise ValueError(
                f"{layer!r} takes {expected}, each of the same size; channel {c} is "
                f"{_describe(channel)}, channel 0 {_describe(x[0])}"
            )
        flat += entries
    return flat, shape


def _shape(item: Any, dims: int) -> tuple[int, ...] | None:
    """The sizes of the first `dims` levels of nested lists (following first entries)."""
    sizes = []
    for _ in range(dims):
        if not isinstance(item, (list, tuple)) or not item:
            return None
        sizes.append(len(item))
        item = item[0]
    return tuple(sizes)


def _entries(channel: Any, dims: int) -> list | None:
    """The entries of one channel (a list, or a list of rows), row-major; None when a row is not
    a list of numbers or Values or the rows differ in length."""
    rows = [channel] if dims == 1 else channel
    if not isinstance(rows, (list, tuple)) or not rows:
        return None
    width, flat = None, []
    for row in rows:
        if not isinstance(row, (list, tuple)) or not row:
            return None
        if width is not None and len(row) != width:
            return None
        width = len(row)
        if any(type(v) in (list, tuple) for v in row):
            return None
        flat += row
    return flat


def _describe(item: Any) -> str:
    """The sizes of nested lists, as 'a list of 3 lists of 4 entries'."""
    if not isinstance(item, (list, tuple)):
        return f"a {type(item).__name__}"
    if not item:
        return "an empty list"
    if isinstance(item[0], (list, tuple)):
        return f"a list of {len(item)} lists (the first {_describe(item[0])})"
    return f"a list of {len(item)} entries"


def check_fits(
    layer: Any,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> None:
    """A ValueError naming `layer` and the sizes when its kernel reaches past the padded input."""
    for axis, (n, k, p, d) in enumerate(zip(sizes, kernel, padding, dilation)):
        if d * (k - 1) + 1 > n + 2 * p:
            name = AXES[len(sizes)].split(" x ")[axis]
            raise ValueError(
                f"{layer!r}: the kernel spans {d * (k - 1) + 1} along the {name}, more than the "
                f"padded input's {n} + 2 * {p} = {n + 2 * p}"
            )
