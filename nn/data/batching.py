"""Mini-batching: one pass over `(X, y)` in batches, and the check that `(X, y)` is a dataset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from nn.data.sources import positive_int, random_source


def batches(
    data: tuple[Sequence[Any], Sequence[Any]],
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """One pass over `data = (X, y)` in batches: `(X_batch, y_batch)` lists, each example once.

    `batch_size=None` is the whole set at once (batch training), 1 one example at a time
    (stochastic), k mini-batches of k (the last one smaller when k does not divide the size).
    `shuffle` orders the examples by `random.Random(seed)` first (the global `random` with no seed).

    >>> X, y = [[0.0], [1.0], [2.0], [3.0], [4.0]], [0, 1, 0, 1, 0]
    >>> [yb for _, yb in batches((X, y), batch_size=2, shuffle=False)]
    [[0, 1], [0, 1], [0]]
    """
    X, y = check_data(data, "batches")
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batches", "batch_size")
    order = list(range(len(X)))
    if shuffle:
        random_source(seed).shuffle(order)
    # Checked above, sliced below: a bad argument raises at the call, not at the first next().
    return _slices(X, y, order, batch_size or len(order))


def _slices(
    X: Sequence[Any], y: Sequence[Any], order: list[int], size: int
) -> Iterator[tuple[list[Any], list[Any]]]:
    for start in range(0, len(order), size):
        chosen = order[start : start + size]
        yield [X[i] for i in chosen], [y[i] for i in chosen]


def check_data(data: Any, caller: str) -> tuple[Sequence[Any], Sequence[Any]]:
    """`data` as `(X, y)`, after checking it is a non-empty pair of sequences of equal length.

    >>> check_data(([[1.0]], [0]), "fit")
    ([[1.0]], [0])
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{caller}: data must be a pair (X, y), got {type(data).__name__}")
    X, y = data
    for name, part in (("X", X), ("y", y)):
        indexable = hasattr(part, "__len__") and hasattr(part, "__getitem__")
        if isinstance(part, str) or not indexable:
            raise TypeError(f"{caller}: {name} must be a sequence, got {type(part).__name__}")
    if len(X) != len(y):
        raise ValueError(f"{caller}: X has {len(X)} examples but y has {len(y)} labels")
    if len(X) == 0:  # not `not X`: a NumPy array has no truth value
        raise ValueError(f"{caller}: the data set is empty")
    return X, y
