"""Finding what a recomputed graph reads from outside, and sweeping adjoints through it alone.

A checkpoint's graph is made inside a graph scope of its own (`autograd.modes.graph_scope`), so
every node knows whether it was made there. The first run walks back from the outputs to the
nodes made outside: the joint node's parents. A recomputation sweeps the outputs' adjoints back
through its own nodes and stops at those parents, adding their adjoints into a list: their
`.grad` and consumer counts belong to the sweep running outside, which is waiting on this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd.backward import local_derivatives_as_values
from autograd.modes import Scope
from autograd.value import Value


class Inside:
    """Whether a node was made inside `scope` (in it, or in a scope opened within it).

    `known` caches the answer by the node's own scope; the loops below read it inline."""

    __slots__ = ("scope", "known")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.known: dict[Scope | None, bool] = {None: False, scope: True}

    def __call__(self, node: Value) -> bool:
        scope = node.scope
        known = self.known.get(scope)
        if known is None:
            chain = []
            while scope not in self.known:
                chain.append(scope)
                scope = scope.parent
            known = self.known[scope]
            for link in chain:
                self.known[link] = known
        return known


def outside_nodes(outputs: Sequence[Value], inside: Inside, found: dict[Value, int]) -> None:
    """Add to `found` (node -> index) every node made outside that the outputs' graph reads."""
    known = inside.known
    seen: set[int] = set()
    stack: list[Value] = []
    parents: Any = outputs  # the outputs, as the parents of an imaginary root
    while True:
        for parent in parents:
            if parent in found or id(parent) in seen:
                continue
            seen.add(id(parent))
            made_inside = known.get(parent.scope)
            if made_inside is None:
                made_inside = inside(parent)
            if made_inside:
                stack.append(parent)
            else:
                found[parent] = len(found)
        if not stack:
            return
        parents = stack.pop().parents


def sweep_inside(
    outputs: Sequence[Value],
    seeds: Sequence[Any],
    boundary: dict[Value, int],
    inside: Inside,
    result: list,
    as_values: bool = False,
) -> None:
    """Backpropagate `seeds` from a recomputed graph's outputs, adding into `result[boundary[p]]`
    for each outside node p it reads, and into `.grad` of its own nodes.

    The engine's float sweep over the recomputed nodes only (same order: counts first, then a
    stack), so their adjoints come out bit for bit as in the plain graph. The outside nodes'
    `.grad` and consumer counts belong to the sweep that is running outside: never touched.
    """
    known = inside.known
    stack: list[Value] = []
    parents: Any = outputs  # each output is seeded by an edge from an imaginary root
    while True:  # count each recomputed node's consumers
        for parent in parents:
            if parent in boundary:
                continue
            if not parent._pending:
                made_inside = known.get(parent.scope)
                if not (inside(parent) if made_inside is None else made_inside):
                    raise _reached_outside(parent)
                stack.append(parent)
                parent.grad = 0.0
            parent._pending += 1
        if not stack:
            break
        parents = stack.pop().parents
    for output, seed in zip(outputs, seeds):
        j = boundary.get(output)
        if j is not None:
            result[j] = result[j] + seed
            continue
        output.grad = output.grad + seed
        output._pending -= 1
        if not output._pending:
            stack.append(output)
    (_sweep_values if as_values else _sweep_floats)(stack, boundary, result)


def _sweep_floats(stack: list[Value], boundary: dict[Value, int], result: list) -> None:
    """The engine's float sweep (autograd/backward.py), stopping at the boundary."""
    pop, push, at = stack.pop, stack.append, boundary.get
    while stack:
        node = pop()
        g = node.grad
        a = node._a
        if a is not None:
            pairs: Any = (
                ((a, node._da),) if node._b is None else ((a, node._da), (node._b, node._db))
            )
        elif node._b is not None:  # an n-ary node: its parents and their locals, as tuples
            pairs = zip(node._b, node._db)
        else:
            continue
        for parent, local in pairs:
            j = at(parent)
            if j is not None:
                result[j] = result[j] + local * g
                continue
            parent.grad += local * g
            waiting = parent._pending - 1
            parent._pending = waiting
            if not waiting:
                push(parent)


def _sweep_values(stack: list[Value], boundary: dict[Value, int], result: list) -> None:
    """The same with the local derivatives as Values, for `create_graph=True`."""
    while stack:
        node = stack.pop()
        g = node.grad
        for parent, local in zip(node.parents, local_derivatives_as_values(node)):
            j = boundary.get(parent)
            if j is not None:
                result[j] = result[j] + local * g
                continue
            parent.grad = parent.grad + local * g
            parent._pending -= 1
            if not parent._pending:
                stack.append(parent)


def _reached_outside(node: Value) -> RuntimeError:
    return RuntimeError(
        f"checkpoint: recomputing reached {node!r}, made outside and not read the first time: the "
        "checkpointed function must compute the same graph each time it runs (no randomness, no "
        "state that changes between the forward pass and backward())"
    )
