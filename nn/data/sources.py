"""The checks and the random source every dataset maker and loop shares."""

from __future__ import annotations

import math
import random
from numbers import Integral, Real
from typing import Any


def random_source(seed: int | None) -> Any:
    """`random.Random(seed)`, or with no seed the global `random` module, as micrograd scripts
    expect: `random.seed(1337)` then makes weights, data and batch order all repeatable.

    The global `random` is one stream for the whole process: threads drawing from it share out
    its numbers in whatever order they run, so a program with threads is repeatable only with
    seeds (each `random.Random(seed)` is a stream of its own)."""
    return random if seed is None else random.Random(seed)


def positive_int(value: Any, caller: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{caller}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{caller}: {name} must be positive, got {value}")
    return int(value)


def noise_level(noise: Any, caller: str) -> float:
    if isinstance(noise, bool) or not isinstance(noise, Real):
        raise TypeError(f"{caller}: noise must be a real number, got {noise!r}")
    if not 0.0 <= noise < math.inf:
        raise ValueError(f"{caller}: noise must be finite and >= 0, got {noise}")
    return float(noise)
