"""Nested lists and tuples of Values and numbers, flattened to a list of leaves and rebuilt.

A checkpointed function and a scan's step take and return such trees (an LSTM's state is a pair
of lists); only their `Value` leaves are differentiated, every other leaf passes through as it is.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from autograd.value import Value

Tree = Any  # a Value, a number, None, or a list or tuple of trees


def flatten(tree: Tree) -> tuple[list[Any], Any]:
    """The leaves of `tree` in order, and its shape for `unflatten`.

    >>> flatten(([1.0, 2.0], None))
    ([1.0, 2.0, None], (<class 'tuple'>, ((<class 'list'>, (None, None)), None)))
    """
    leaves: list[Any] = []
    return leaves, _shape(tree, leaves)


# Module-level recursions: a nested function that calls itself is a reference cycle, which would
# keep the leaves (and the graphs behind them) alive until the cyclic collector ran.
def _shape(item: Tree, leaves: list[Any]) -> Any:
    if type(item) is list or type(item) is tuple:
        return (type(item), tuple(_shape(child, leaves) for child in item))
    leaves.append(item)
    return None


def unflatten(shape: Any, leaves: list[Any]) -> Tree:
    """The tree of that shape holding `leaves`, in order.

    >>> unflatten(*reversed(flatten([1.0, (2.0, 3.0)])))
    [1.0, (2.0, 3.0)]
    """
    return _build(shape, iter(leaves))


def _build(part: Any, given: Any) -> Tree:
    if part is None:
        return next(given)
    kind, children = part
    return kind(_build(child, given) for child in children)


class Frozen:
    """A tree's numbers without its graph: a snapshot of a scan's state, kept as floats.

    `thaw()` rebuilds the tree with a fresh leaf `Value` wherever there was a Value (in the
    graph scope open at the call), and every other leaf as it was.
    """

    __slots__ = ("shape", "leaves", "is_value")

    def __init__(self, tree: Tree, what: str = "state") -> None:
        leaves, self.shape = flatten(tree)
        for leaf in leaves:
            if not (type(leaf) is Value or leaf is None or isinstance(leaf, Real)):
                raise TypeError(
                    f"checkpoint_scan: the {what} must be made of Values, numbers and None, in "
                    f"lists and tuples; it holds {type(leaf).__name__} {leaf!r}"
                )
        self.is_value = tuple(type(leaf) is Value for leaf in leaves)
        self.leaves = tuple(leaf.data if type(leaf) is Value else leaf for leaf in leaves)

    def thaw(self) -> tuple[Tree, list[Value]]:
        """The tree, and its fresh Value leaves in order."""
        fresh: list[Value] = []
        leaves = []
        for leaf, is_value in zip(self.leaves, self.is_value):
            if is_value:
                leaf = Value(leaf)
                fresh.append(leaf)
            leaves.append(leaf)
        return unflatten(self.shape, leaves), fresh


def value_leaves(tree: Tree) -> list[Value]:
    """The `Value` leaves of `tree`, in order."""
    return [leaf for leaf in flatten(tree)[0] if type(leaf) is Value]


def same_numbers(a: float, b: float) -> bool:
    """Equal to the last bit, NaN matching NaN: did a recomputation give back the first value?"""
    return a == b or (a != a and b != b)
