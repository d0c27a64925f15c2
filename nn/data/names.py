"""The 1990 US census first names that the `names` package bundles, for character models (an extra).

The `names` package (pip install "chainrule[names]") ships the Census Bureau's 1990 frequency
lists of first names, public domain, as two text files: 1,219 male and 4,275 female names, 5,494
lines in all. 331 names stand in both lists (JAMES, MARY, ...), so there are 5,163 distinct names.
"""

from __future__ import annotations

import functools
from numbers import Real
from pathlib import Path

from nn.data.sources import random_source
from nn.extras import require

SPLITS = ("all", "train", "validation", "test")


@functools.cache
def _all_names() -> tuple[str, ...]:
    package = require("names", "names", "load_names")
    found = set()
    for key in ("first:male", "first:female"):
        lines = Path(package.FILES[key]).read_text(encoding="ascii").splitlines()
        found.update(line.split()[0].lower() for line in lines if line.strip())
    return tuple(sorted(found))


def _fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"load_names: {name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def load_names(
    split: str = "all", seed: int = 0, validation: float = 0.1, test: float = 0.1
) -> list[str]:
    """First names from the 1990 US census, lower-cased, each once: 5,163 of them.

    `split="all"` gives every name in alphabetical order. "train", "validation" and "test"
    shuffle that list with `random.Random(seed)` and cut it: the first `round(validation * n)`
    names are the validation set, the next `round(test * n)` the test set, the rest the
    training set, each in its shuffled order (the order to train on). One seed gives one split,
    and the three never share a name. Only the letters a to z occur; names are 2 to 11 long.
    Needs the `names` package: pip install "chainrule[names]".

    >>> names = load_names()
    >>> len(names), names[:3]
    (5163, ['aaron', 'abbey', 'abbie'])
    >>> train, valid = load_names("train", seed=0), load_names("validation", seed=0)
    >>> len(train), len(valid), set(train).isdisjoint(valid)
    (4131, 516, True)
    """
    if split not in SPLITS:
        raise ValueError(f"load_names: split must be one of {SPLITS}, got {split!r}")
    validation, test = _fraction(validation, "validation"), _fraction(test, "test")
    if validation + test >= 1.0:
        raise ValueError(
            f"load_names: validation + test must leave names to train on, got {validation} + {test}"
        )
    names = list(_all_names())
    if split == "all":
        return names
    random_source(seed).shuffle(names)
    n_validation, n_test = round(validation * len(names)), round(test * len(names))
    if split == "validation":
        return names[:n_validation]
    if split == "test":
        return names[n_validation : n_validation + n_test]
    return names[n_validation + n_test :]
