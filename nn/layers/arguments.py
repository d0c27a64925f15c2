"""The checks layers make of their constructor arguments, each naming the argument it refuses."""

from __future__ import annotations

import math
import random
from numbers import Integral, Real
from typing import Any

from nn.init import RandomSource


def positive_size(what: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"{what} must be a positive int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


def random_source_for(seed: Any) -> RandomSource:
    if seed is None:
        return random  # the module itself: micrograd's global stream
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return random.Random(int(seed))


def boolean_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def finite_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)
