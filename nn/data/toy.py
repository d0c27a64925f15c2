"""Small two-dimensional datasets: XOR, moons, circles, spirals.

Every maker returns `(X, y)`: `X` a list of `[x1, x2]` float lists, `y` a list of int labels.
Pure Python; the makers draw from `random.Random(seed)`, so one seed always gives the same data;
with no seed they draw from the global `random`: `random.seed(...)` makes a script repeatable.
"""

from __future__ import annotations

import math
import random
from numbers import Real

from nn.data.sources import noise_level, positive_int, random_source

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
    n = positive_int(n, "make_moons", "n")
    noise = noise_level(noise, "make_moons")
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
    n = positive_int(n, "make_circles", "n")
    noise = noise_level(noise, "make_circles")
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
    n = positive_int(n, "make_spirals", "n")
    classes = positive_int(classes, "make_spirals", "classes")
    noise = noise_level(noise, "make_spirals")
    rng = random_source(seed)
    points = []
    for label, count in enumerate(_split(n, classes)):
        for i in range(count):
            r = (i + 1) / count
            angle = 2.0 * math.pi * (label / classes + r) + rng.gauss(0.0, noise)
            points.append((r * math.cos(angle), r * math.sin(angle), label))
    return _finish(points, 0.0, rng)


def _split(n: int, parts: int) -> list[int]:
    """n items shared by `parts` classes as evenly as possible, the first classes taking extras."""
    return [n // parts + (1 if part < n % parts else 0) for part in range(parts)]


def _evenly(count: int, stop: float, endpoint: bool = True) -> list[float]:
    """`count` evenly spaced numbers from 0 to `stop` (including `stop` when `endpoint`)."""
    steps = count - 1 if endpoint else count
    return [stop * i / steps if steps else 0.0 for i in range(count)]


def _finish(points: list[tuple[float, float, int]], noise: float, rng: random.Random) -> Dataset:
    """Noise added to each coordinate, the points shuffled, split into (X, y)."""
    rng.shuffle(points)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b, _ in points]
    return X, [label for _, _, label in points]
