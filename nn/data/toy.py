"""Small two-dimensional datasets (XOR, moons, circles, spirals), mini-batching, the 8x8
digits that ship inside scikit-learn (`load_digits`), and (from `nn.data.sequences`) sequence tasks
for recurrent networks.

Every maker returns `(X, y)`: `X` a list of `[x1, x2]` float lists, `y` a list of int labels.
Pure Python; the makers draw from `random.Random(seed)`, so one seed always gives the same data;
with no seed they draw from the global `random`: `random.seed(...)` makes a script repeatable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from typing import Any

Dataset = tuple[list[list[float]], list[int]]


def xor() -> Dataset:
    """The four corners of the unit square, labelled 1 where exactly one coordinate is 1.

    >>> X, y = xor()
    >>> list(zip(map(tuple, X), y))
    [((0.0, 0.0), 0), ((0.0, 1.0), 1), ((1.0, 0.0), 1), ((1.0, 1.0), 0)]
    """
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    return X, [int(a) ^ int(b) for a, b in X]


def make_moons(n: int = 100, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Two interleaving half circles of radius 1, in random order.

    Class 0 lies on the upper half of the circle about (0, 0): (cos t, sin t), t in [0, pi].
    Class 1 lies on the lower half of the circle about (1, 0.5): (1 - cos t, 0.5 - sin t).
    Class 0 gets ceil(n/2) points, evenly spaced in t; `noise` is the standard deviation of
    Gaussian noise added to each coordinate.

    >>> X, y = make_moons(6, noise=0.0, seed=0)
    >>> sorted(y)
    [0, 0, 0, 1, 1, 1]
    """
    n = _positive_int(n, "make_moons", "n")
    noise = _noise(noise, "make_moons")
    upper, lower = _split(n, 2)
    points = [(math.cos(t), math.sin(t), 0) for t in _evenly(upper, math.pi)]
    points += [(1.0 - math.cos(t), 0.5 - math.sin(t), 1) for t in _evenly(lower, math.pi)]
    return _finish(points, noise, random_source(seed))


def make_circles(
    n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> Dataset:
    """Two concentric circles about (0, 0), in random order: class 0 of radius 1, class 1 of
    radius `factor` (0 < factor < 1).

    Class 0 gets ceil(n/2) points at evenly spaced angles; `noise` is the standard deviation of
    Gaussian noise added to each coordinate.

    >>> X, y = make_circles(4, noise=0.0, factor=0.5, seed=0)
    >>> sorted(round(math.hypot(*x), 6) for x in X)
    [0.5, 0.5, 1.0, 1.0]
    """
    n = _positive_int(n, "make_circles", "n")
    noise = _noise(noise, "make_circles")
    if not isinstance(factor, Real) or isinstance(factor, bool):
        raise TypeError(f"make_circles: factor must be a real number, got {factor!r}")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be between 0 and 1 (exclusive), got {factor}")
    points = []
    for label, (count, radius) in enumerate(zip(_split(n, 2), (1.0, float(factor)))):
        angles = _evenly(count, 2.0 * math.pi, endpoint=False)
        points += [(radius * math.cos(t), radius * math.sin(t), label) for t in angles]
    return _finish(points, noise, random_source(seed))


def make_spirals(
    n: int = 100, classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> Dataset:
    """`classes` spiral arms winding out of (0, 0), one per class, in random order.

    Arm c's i-th of m points has radius r = (i + 1) / m and angle 2 pi (c / classes + r) plus
    Gaussian noise of standard deviation `noise` radians: each arm makes one full turn, and the
    arms start at equal angles apart. The classes get n // classes points each, the first
    n % classes one more.

    >>> X, y = make_spirals(9, classes=3, seed=0)
    >>> sorted(y)
    [0, 0, 0, 1, 1, 1, 2, 2, 2]
    """
    n = _positive_int(n, "make_spirals", "n")
    classes = _positive_int(classes, "make_spirals", "classes")
    noise = _noise(noise, "make_spirals")
    rng = random_source(seed)
    points = []
    for label, count in enumerate(_split(n, classes)):
        for i in range(count):
            r = (i + 1) / count
            angle = 2.0 * math.pi * (label / classes + r) + rng.gauss(0.0, noise)
            points.append((r * math.cos(angle), r * math.sin(angle), label))
    return _finish(points, 0.0, rng)


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
        batch_size = _positive_int(batch_size, "batches", "batch_size")
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


def _positive_int(value: Any, caller: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{caller}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{caller}: {name} must be positive, got {value}")
    return int(value)


def _noise(noise: Any, caller: str) -> float:
    if isinstance(noise, bool) or not isinstance(noise, Real):
        raise TypeError(f"{caller}: noise must be a real number, got {noise!r}")
    if not 0.0 <= noise < math.inf:
        raise ValueError(f"{caller}: noise must be finite and >= 0, got {noise}")
    return float(noise)


def _split(n: int, parts: int) -> list[int]:
    """n items shared by `parts` classes as evenly as possible, the first classes taking extras."""
    return [n // parts + (1 if part < n % parts else 0) for part in range(parts)]


def _evenly(count: int, stop: float, endpoint: bool = True) -> list[float]:
    """`count` evenly spaced numbers from 0 to `stop` (including `stop` when `endpoint`)."""
    steps = count - 1 if endpoint else count
    return [stop * i / steps if steps else 0.0 for i in range(count)]


def random_source(seed: int | None) -> Any:
    """`random.Random(seed)`, or with no seed the global `random` module, as micrograd scripts
    expect: `random.seed(1337)` then makes weights, data and batch order all repeatable.

    The global `random` is one stream for the whole process: threads drawing from it share out
    its numbers in whatever order they run, so a program with threads is repeatable only with
    seeds (each `random.Random(seed)` is a stream of its own)."""
    return random if seed is None else random.Random(seed)


def _finish(points: list[tuple[float, float, int]], noise: float, rng: random.Random) -> Dataset:
    """Noise added to each coordinate, the points shuffled, split into (X, y)."""
    rng.shuffle(points)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b, _ in points]
    return X, [label for _, _, label in points]


def load_digits() -> Dataset:
    """The 8x8 images of handwritten digits that ship inside scikit-learn: 1,797 of them, read
    from scikit-learn's own files (no download).

    `X` holds 64 pixel intensities per image, row by row, scaled from 0..16 to [0, 1]; `y` the
    digit, 0 to 9 (about 180 of each). Needs scikit-learn: pip install "chainrule[digits]".

    >>> X, y = load_digits()
    >>> len(X), len(X[0]), sorted(set(y)) == list(range(10)), max(max(x) for x in X)
    (1797, 64, True, 1.0)
    """
    try:
        from sklearn.datasets import load_digits as bundled_digits
    except ImportError as error:
        raise ImportError(
            'load_digits needs scikit-learn: pip install "chainrule[digits]"'
        ) from error
    digits = bundled_digits()
    return (digits.data / 16.0).tolist(), [int(label) for label in digits.target]
