"""Checks shared by the `load_state_dict` methods of optimizers and schedules, and by checkpoints.

A state arrives from a file, so anything may be in it: each check raises a ValueError that says
where the problem is (`where`, e.g. "Adam.load_state_dict: state['exp_avg']") and what it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any


def check_keys(state: Any, expected: Iterable[str], where: str) -> Mapping[str, Any]:
    """`state` itself, checked to be a mapping with exactly the `expected` keys.

    >>> check_keys({"lr": 0.1, "nesterov": False}, ["lr", "momentum"], "SGD")
    Traceback (most recent call last):
    ValueError: SGD: missing 'momentum'; unexpected 'nesterov'
    """
    if not isinstance(state, Mapping):
        raise ValueError(f"{where}: expected a mapping (a JSON object), got {type(state).__name__}")
    expected = list(expected)
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        problems = [f"missing {few(missing)}"] if missing else []
        problems += [f"unexpected {few(unexpected)}"] if unexpected else []
        raise ValueError(f"{where}: {'; '.join(problems)}")
    return state


def finite_float(value: Any, where: str) -> float:
    """`value` as a float, checked to be a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return number


def finite_floats(values: Any, count: int, where: str) -> list[float]:
    """`values` as a list of `count` floats, each checked by `finite_float`.

    >>> finite_floats([0.5, 1], 2, "momentum_buffer")
    [0.5, 1.0]
    >>> finite_floats([0.5], 2, "momentum_buffer")
    Traceback (most recent call last):
    ValueError: momentum_buffer: expected a list of 2 numbers, one per parameter, got 1
    """
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{where}: expected a list of numbers, got {type(values).__name__}")
    if len(values) != count:
        raise ValueError(
            f"{where}: expected a list of {count} numbers, one per parameter, got {len(values)}"
        )
    return [finite_float(value, f"{where}[{i}]") for i, value in enumerate(values)]


def count(value: Any, where: str) -> int:
    """`value` checked to be an int >= 0 (not a bool): a number of steps or epochs."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{where}: expected a whole number >= 0, got {value!r}")
    return int(value)


def few(items: list[Any], limit: int = 3, quote: bool = True) -> str:
    """The first few items (by repr, or as they are with `quote=False`) and how many more, for
    error messages."""
    shown = ", ".join(repr(item) if quote else str(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
