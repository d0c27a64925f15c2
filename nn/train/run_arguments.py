"""The arguments of `fit` that decide a run's course, as its checkpoint records them.

A run resumes bit for bit only with the arguments it was started with. The checkpoint keeps them,
and resuming with others is refused by name: the batch size, shuffling, the seed, the loss and
the penalty (by their names: `__qualname__`, so not a lambda's coefficient), the training and
validation data (by a fingerprint: their length and a hash of their numbers), early stopping,
`compile` and when the scheduler steps (`scheduler_interval`; a checkpoint written before fit had
it ran per epoch). `epochs` is left out on purpose: a run may go on to more epochs than it first
asked for.

The fingerprint reads every number of the data once, as the 8 bytes of a float64, so 1, 1.0 and
True are the same number, a list and a NumPy array holding the same numbers are the same data, and
any other change of a value, of the order or of the length is seen. Strings count by their text;
anything that is neither a number, a string nor a sequence counts by its type's name only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nn.states import check_keys


def run_arguments(
    loss: Callable[..., Any],
    data: tuple[Sequence[Any], Sequence[Any]],
    batch_size: int | None,
    shuffle: bool,
    seed: Any,
    regularization: Callable[..., Any] | None,
    validation: tuple[Sequence[Any], Sequence[Any]] | None,
    patience: int | None,
    restore_best: bool,
    compile: bool,
    scheduler_interval: str = "epoch",
) -> dict[str, Any]:
    """What a checkpoint records of fit's arguments, ready for JSON, in fit's order.

    >>> from nn.losses import mse
    >>> recorded = run_arguments(mse, ([[0.0], [1.0]], [0, 1]), 1, True, 0, None, None, None,
    ...                          True, False)
    >>> recorded["loss"], recorded["data"]["examples"], recorded["batch_size"]
    ('mse', 2, 1)
    """
    return {
        "loss": callable_name(loss),
        "data": data_fingerprint(data),
        "batch_size": None if batch_size is None else int(batch_size),
        "shuffle": bool(shuffle),
        "seed": seed if seed is None or isinstance(seed, (int, float, str)) else repr(seed),
        "regularization": None if regularization is None else callable_name(regularization),
        "validation": None if validation is None else data_fingerprint(validation),
        "patience": None if patience is None else int(patience),
        "restore_best": bool(restore_best),
        "compile": bool(compile),
        "scheduler_interval": str(scheduler_interval),
    }


def check_run_arguments(saved: Any, given: dict[str, Any], where: str) -> None:
    """A ValueError naming the first argument whose checkpointed value `given` does not match.

    >>> check_run_arguments({"batch_size": 10}, {"batch_size": 20}, "fit")
    Traceback (most recent call last):
    ValueError: fit: the checkpointed run had batch_size=10, but fit was called with \
batch_size=20; resume with the run's own arguments (epochs may differ)
    """
    given = json.loads(json.dumps(given))  # as the file has it: floats by repr, tuples as lists
    if isinstance(saved, Mapping) and "scheduler_interval" in given.keys() - saved.keys():
        saved = {**saved, "scheduler_interval": "epoch"}  # written before fit had the argument
    check_keys(saved, given, f"{where}: arguments")
    for name, value in given.items():
        if saved[name] != value:
            raise ValueError(
                f"{where}: the checkpointed run had {_shown(name, saved[name])}, but fit was "
                f"called with {_shown(name, value)}; resume with the run's own arguments "
                "(epochs may differ)"
            )


def callable_name(function: Callable[..., Any]) -> str:
    """The name a checkpoint records for a loss or a penalty: its `__qualname__`.

    >>> from nn.losses import hinge
    >>> callable_name(hinge), callable_name(functools.partial(hinge)), callable_name(print)
    ('hinge', 'partial(hinge)', 'print')
    """
    if isinstance(function, functools.partial):
        return f"partial({callable_name(function.func)})"
    name = getattr(function, "__qualname__", None)
    return name if isinstance(name, str) else type(function).__qualname__


def data_fingerprint(data: tuple[Sequence[Any], Sequence[Any]]) -> dict[str, Any]:
    """`data = (X, y)` as a checkpoint recognizes it: its length and a hash of its numbers.

    >>> data_fingerprint(([[0.0, 1.0]], [1])) == data_fingerprint(([(0, 1.0)], [1.0]))
    True
    >>> data_fingerprint(([[0.0, 1.0]], [1])) == data_fingerprint(([[1.0, 0.0]], [1]))
    False
    """
    X, y = data
    digest = hashlib.blake2b(digest_size=16)
    _feed(digest, X)
    _feed(digest, y)
    return {"examples": len(X), "digest": digest.hexdigest()}


def _feed(digest: Any, item: Any) -> None:
    """Add `item` to the hash, each kind of entry with its own tag so none reads as another."""
    if isinstance(item, str):
        text = item.encode("utf-8", "surrogatepass")
        digest.update(b"s%d:" % len(text) + text)
    elif _is_sequence(item):
        entries = list(item)
        first = entries[0] if entries else None
        if entries and not isinstance(first, str) and not _is_sequence(first):
            try:  # numbers only, the common case: one call packs them all
                digest.update(b"n%d:" % len(entries) + struct.pack(f"<{len(entries)}d", *entries))
                return
            except (TypeError, OverflowError, struct.error):
                pass  # something else among them: one entry at a time
        digest.update(b"[%d:" % len(entries))
        for entry in entries:
            _feed(digest, entry)
    else:
        try:
            digest.update(b"d" + struct.pack("<d", item))
        except (TypeError, OverflowError, struct.error):
            digest.update(b"?" + type(item).__qualname__.encode())


def _is_sequence(item: Any) -> bool:
    """A list, tuple, array or tensor (not a string, a mapping or a 0-d array)."""
    indexable = hasattr(item, "__len__") and hasattr(item, "__getitem__")
    excluded = isinstance(item, (str, bytes, Mapping)) or getattr(item, "ndim", 1) == 0
    return indexable and not excluded


def _shown(name: str, value: Any) -> str:
    if name in ("data", "validation") and isinstance(value, dict):
        digest = str(value.get("digest", ""))[:12]
        return f"{name}={value.get('examples')} examples (fingerprint {digest})"
    return f"{name}={value!r}"
