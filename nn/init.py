"""Weight initialisation: each scheme draws the weights of one neuron from a random source.

A scheme is `scheme(fan_in, fan_out, rng) -> list[float]`: the `fan_in` weights of a neuron
that reads `fan_in` inputs, in a layer of `fan_out` neurons. `rng` is a `random.Random` or the
`random` module itself (micrograd's habit: `random.seed(1337)` then build the model).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol


class RandomSource(Protocol):
    """What a scheme draws from: a `random.Random`, or the `random` module."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...


Initializer = Callable[[int, int, RandomSource], list[float]]


def uniform(fan_in: int, fan_out: int, rng: RandomSource) -> list[float]:
    """micrograd's scheme: every weight from U(-1, 1), whatever the layer's size.

    >>> import random
    >>> weights = uniform(3, 1, random.Random(0))
    >>> len(weights), all(-1.0 <= w <= 1.0 for w in weights)
    (3, True)
    """
    return [rng.uniform(-1.0, 1.0) for _ in range(fan_in)]


def xavier_uniform(fan_in: int, fan_out: int, rng: RandomSource) -> list[float]:
    """Glorot and Bengio (2010): w ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).

    Var(w) = a**2 / 3 = 2 / (fan_in + fan_out), which keeps the variance of activations and of
    gradients about the same from layer to layer for tanh and sigmoid networks.

    >>> import random
    >>> bound = math.sqrt(6 / (2 + 16))
    >>> all(abs(w) <= bound for w in xavier_uniform(2, 16, random.Random(0)))
    True
    """
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return [rng.uniform(-bound, bound) for _ in range(fan_in)]


def he_normal(fan_in: int, fan_out: int, rng: RandomSource) -> list[float]:
    """He et al. (2015): w ~ N(0, 2 / fan_in), standard deviation sqrt(2 / fan_in).

    ReLU zeroes half of its inputs on average, so doubling Glorot's 1 / fan_in variance keeps
    the variance of activations steady through ReLU layers.

    >>> import random
    >>> len(he_normal(4, 8, random.Random(0)))
    4
    """
    std = math.sqrt(2.0 / fan_in)
    return [rng.gauss(0.0, std) for _ in range(fan_in)]


INITIALIZERS: dict[str, Initializer] = {
    "uniform": uniform,
    "xavier": xavier_uniform,
    "glorot": xavier_uniform,
    "he": he_normal,
    "kaiming": he_normal,
}


def initializer(name: str) -> Initializer:
    """The scheme called `name`: "uniform", "xavier" (or "glorot"), "he" (or "kaiming").

    >>> initializer("glorot") is xavier_uniform
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"initializer: the name must be a str, got {type(name).__name__} {name!r}")
    try:
        return INITIALIZERS[name]
    except KeyError:
        known = ", ".join(repr(known) for known in INITIALIZERS)
        raise ValueError(f"unknown initializer {name!r}; known: {known}") from None
