"""The argument checks and the `has_aux` plumbing shared by the function transforms.

With `has_aux=True` (JAX's and torch.func's keyword), f returns a pair `(output, aux)`: the
transform differentiates `output` and hands `aux` back beside its result, undifferentiated. Aux is
anything (a prediction to log, a count, a string). The `Value`s in it, at any depth of lists,
tuples (named ones too) and dicts, come back as floats when the transform returns floats, as JAX
returns concrete arrays for its aux. When the transform builds a graph instead (called on `Value`s
or inside another transform's f), they stay `Value`s, as its output does: a float there would
silently drop the outer transform's derivative through them.

The module is named `auxiliary`, not `aux`: AUX is a reserved file name on Windows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograd.value import Value


def check_callable(f: Any, caller: str) -> None:
    """Refuse an f that cannot be called, when the transform is made rather than when it runs."""
    if not callable(f):
        raise TypeError(f"{caller}: f must be a callable, got {type(f).__name__} {f!r}")


def check_has_aux(has_aux: Any, caller: str) -> None:
    if not isinstance(has_aux, bool):
        raise TypeError(f"{caller}: has_aux must be True or False, got {has_aux!r}")


def check_transform(f: Any, has_aux: Any, caller: str) -> None:
    """The checks a transform makes when it is made: f callable, has_aux a bool."""
    check_callable(f, caller)
    check_has_aux(has_aux, caller)


def split_aux(returned: Any, has_aux: bool, caller: str) -> tuple[Any, Any]:
    """f's result as `(output, aux)`: the pair itself under has_aux, else `(returned, None)`."""
    if not has_aux:
        return returned, None
    if isinstance(returned, (tuple, list)) and len(returned) == 2:
        return returned[0], returned[1]
    shape = (
        f"a {type(returned).__name__} of {len(returned)}"
        if isinstance(returned, (tuple, list))
        else repr(returned)
        if isinstance(returned, Value)
        else f"{type(returned).__name__} {returned!r}"
    )
    raise TypeError(
        f"{caller}: with has_aux=True, f must return a pair (output, aux), but it returned {shape}"
    )


def concrete(aux: Any, nested: bool) -> Any:
    """`aux` with every `Value` in it (through lists, tuples and dicts) replaced by its float,
    unless `nested`, when the transform's results are graphs and aux stays one too.

    >>> concrete({"loss": Value(0.5), "hits": [Value(1.0), 3, "ok"]}, nested=False)
    {'loss': 0.5, 'hits': [1.0, 3, 'ok']}
    """
    if nested:
        return aux
    return _map_values(aux, lambda v: v.data)


def _map_values(item: Any, leaf: Callable[[Value], Any]) -> Any:
    if isinstance(item, Value):
        return leaf(item)
    if isinstance(item, list):
        return [_map_values(x, leaf) for x in item]
    if isinstance(item, tuple):
        items = [_map_values(x, leaf) for x in item]
        return type(item)(*items) if hasattr(item, "_fields") else tuple(items)
    if isinstance(item, dict):
        copy = item.copy()  # keeps the mapping's type (OrderedDict, defaultdict)
        for key in copy:
            copy[key] = _map_values(copy[key], leaf)
        return copy
    return item
