"""Ordering the graph and sweeping it backwards: reverse accumulation over the adjoint graph."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from autograd.modes import recording

if TYPE_CHECKING:
    from autograd.value import Value

# The sweeps keep their bookkeeping on the nodes (`_pending`) and add into `.grad`: two threads
# sweeping graphs that share nodes (one model trained from two threads) would corrupt each other's
# counts and lose updates to a shared `.grad`. One lock makes them take turns; under the GIL they
# could not run at once anyway, and a sweep takes it once, not per node. Re-entrant, because
# `backward(create_graph=True)` orders the graph through `topological_order`.
_sweeping = threading.RLock()


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each one after all the nodes that consume it (root first).

    Iterative (Kahn's algorithm), so graphs of any depth work. Walking this list and passing
    each node's adjoint to its parents visits a node only once its adjoint is complete: in
    `b = a + a; c = b + b`, `b` is finished (grad 2) before it passes 2 * 2 to `a`.

    >>> from autograd import Value
    >>> a = Value(1.0); b = a + a; c = b + b
    >>> [node is expected for node, expected in zip(topological_order(c), (c, b, a))]
    [True, True, True]
    """
    with _sweeping:
        return _ordered(root)


def _ordered(root: Value) -> list[Value]:
    # First pass: count, on each node, how many edges of this graph lead out of it.
    visited = [root]
    stack = [root]
    try:
        while stack:
            for parent in stack.pop().parents:
                if parent._pending == 0:
                    stack.append(parent)
                    visited.append(parent)
                parent._pending += 1
        # Second pass: emit a node once all its consumers have been emitted.
        order = []
        ready = [root]
        while ready:
            node = ready.pop()
            order.append(node)
            for parent in node.parents:
                parent._pending -= 1
                if parent._pending == 0:
                    ready.append(parent)
    except BaseException:
        for node in visited:
            node._pending = 0
        raise
    return order


def local_derivatives_as_values(node: Value) -> tuple:
    """The node's local derivatives as differentiable `Value`s, from the same rule as the floats."""
    rule = node._op
    if rule is None or rule.constant_locals:
        return node.local_derivatives
    if rule.constant is None:
        return rule.derivatives(node, *node.parents)
    return rule.derivatives(node, *node.parents, rule.constant)


def backpropagate(root: Value, create_graph: bool = False) -> None:
    """Add d(root)/d(node) into `node.grad` for every node of root's graph (as `Value`s, recorded
    even under an outer `no_grad()`, with `create_graph=True`).

    Leaves accumulate across calls (as in PyTorch); every other node is reset first, so that it
    passes on only this call's adjoint and its `.grad` shows that adjoint afterwards.

    This is `topological_order` with the sweep done as each node comes out of the order, which
    saves a pass and a list over a million-node graph.
    """
    with _sweeping:
        if create_graph:
            with recording():  # a graph was asked for: an outer no_grad() does not stop it
                _backpropagate_values(root)
        else:
            _backpropagate_floats(root)


def _backpropagate_floats(root: Value) -> None:
    stack = [root]
    pop, push = stack.pop, stack.append
    try:
        # First pass: count each node's consumers; inner nodes start this call at grad 0.
        # The same few lines stand for the first, the second and the n-ary parents: a helper
        # function would cost a call per edge on the hot path.
        while stack:
            node = pop()
            a = node._a
            if a is not None:
                consumers = a._pending
                if not consumers:
                    push(a)
                    if a._op is not None:
                        a.grad = 0.0
                a._pending = consumers + 1
                b = node._b
                if b is not None:
                    consumers = b._pending
                    if not consumers:
                        push(b)
                        if b._op is not None:
                            b.grad = 0.0
                    b._pending = consumers + 1
            else:
                parents = node._b  # an n-ary node's tuple of parents; None for a leaf
                if parents is None:
                    continue
                for parent in parents:
                    consumers = parent._pending
                    if not consumers:
                        push(parent)
                        if parent._op is not None:
                            parent.grad = 0.0
                    parent._pending = consumers + 1
        root.grad = 1.0 if root._op is not None else root.grad + 1.0
        # Second pass: a node comes off the stack once all its consumers have passed their
        # share to it; it then passes local * grad to each parent. One- and two-parent nodes
        # are written out (they are nearly all nodes); n-ary ones loop.
        push(root)
        while stack:
            node = pop()
            g = node.grad
            a = node._a
            if a is not None:
                a.grad += node._da * g
                waiting = a._pending - 1
                a._pending = waiting
                if not waiting:
                    push(a)
                b = node._b
                if b is not None:
                    b.grad += node._db * g
                    waiting = b._pending - 1
                    b._pending = waiting
                    if not waiting:
                        push(b)
            else:
                parents = node._b  # an n-ary node's tuple of parents; None for a leaf
                if parents is None:
                    continue
                locals_ = node._db
                i = 0  # an index, not zip(): about 5% less per edge on CPython 3.11
                for parent in parents:
                    parent.grad += locals_[i] * g
                    i += 1
                    waiting = parent._pending - 1
                    parent._pending = waiting
                    if not waiting:
                        push(parent)
    except BaseException:
        _clear_pending(root)
        raise


def _backpropagate_values(root: Value) -> None:
    """The sweep of `backpropagate` with `Value` adjoints, for `create_graph=True`."""
    order = topological_order(root)
    for node in order:
        if node._op is not None:
            node.grad = 0.0
    root.grad = root.grad + 1.0
    for node in order:
        g = node.grad
        for parent, local in zip(node.parents, local_derivatives_as_values(node)):
            parent.grad = parent.grad + local * g


def _clear_pending(root: Value) -> None:
    """Reset the consumer counts after an interrupted first pass, so the next call starts clean."""
    stack, seen = [root], {id(root)}
    while stack:
        for parent in stack.pop().parents:
            parent._pending = 0
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)


def adjoints(root: Value, create_graph: bool = False) -> dict[Value, Any]:
    """d(root)/d(node) for every node of root's graph, in a dict; no `.grad` is touched.

    With `create_graph=True` the adjoints are `Value`s recorded even under an outer `no_grad()`,
    as PyTorch's `create_graph` records them: the graph was asked for.
    """
    if create_graph:
        with recording():
            return _adjoints(root, create_graph)
    return _adjoints(root, create_graph)


def _adjoints(root: Value, create_graph: bool) -> dict[Value, Any]:
    result: dict[Value, Any] = {root: 1.0}
    for node in topological_order(root):
        g = result[node]
        locals_ = local_derivatives_as_values(node) if create_graph else node.local_derivatives
        for parent, local in zip(node.parents, locals_):
            result[parent] = result.get(parent, 0.0) + local * g
    return result
