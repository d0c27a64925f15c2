"""Grad mode and graph scopes: per thread and per asyncio task, as `contextvars` keep them.

`no_grad()` in one thread (an evaluation loop, say) must never stop another thread from recording:
its gradients would silently come out 0.0. So the mode and the innermost scope live in
`ContextVar`s: every thread starts with recording on and no scope (as in PyTorch), and an asyncio
task sees the values of the context it was created in, never a change made by another task.

Reading a `ContextVar` costs a method call on every recorded operation, so `value.py` reads one
only while some thread or task has a block open: `_no_grad_blocks` holds one entry per open
`no_grad()` block anywhere in the process, `_scope_blocks` one per thread or task inside a
`graph_scope` (appending to and popping from a list are atomic under the GIL). While they are
empty, the common case, an operation pays one global lookup, as when the mode was a module
global. Entering and leaving a scope sets a `ContextVar` twice, about 0.2 us more than setting a
global did: nn enters one per module call, about 2% of a training step of micrograd's demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_grad_enabled: ContextVar[bool] = ContextVar("chainrule_grad_enabled", default=True)
_scope: ContextVar[Scope | None] = ContextVar("chainrule_graph_scope", default=None)
_no_grad_blocks: list[None] = []  # one entry per no_grad() block open in any thread or task
_scope_blocks: list[None] = []  # one entry per thread or task that has a graph_scope open

# Bound once: value.py calls these on its slower path, when a block is open somewhere.
grad_enabled_here = _grad_enabled.get
scope_here = _scope.get


@contextmanager
def no_grad() -> Iterator[None]:
    """Record no graph inside the block: results are constants with no parents.

    Only the current thread (or asyncio task) stops recording; others go on. Also a decorator.

    >>> from autograd import Value
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y.parents
    ()
    """
    token = _grad_enabled.set(False)
    _no_grad_blocks.append(None)
    try:
        yield
    finally:
        _no_grad_blocks.pop()
        _grad_enabled.reset(token)


def is_grad_enabled() -> bool:
    """Whether new operations record the graph here (False inside `no_grad()`).

    >>> with no_grad():
    ...     is_grad_enabled()
    False
    """
    return _grad_enabled.get()


class Scope:
    """Who made a node: an owner (a module, or any name), inside its enclosing scope."""

    __slots__ = ("owner", "name", "parent")

    def __init__(self, owner: Any, name: str, parent: Scope | None) -> None:
        self.owner = owner
        self.name = name
        self.parent = parent

    @property
    def path(self) -> tuple[Scope, ...]:
        """The scopes from the outermost to this one."""
        chain = []
        scope: Scope | None = self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        return tuple(reversed(chain))

    def __repr__(self) -> str:
        return "Scope(" + "/".join(scope.name for scope in self.path) + ")"


class graph_scope:  # noqa: N801 - a context manager, named as the function form it replaces
    """Tag every node made inside the block with a `Scope` for `owner`, for graph drawing.

    Scopes nest (an MLP's scope holds its layers', which hold their neurons'); a node keeps the
    innermost one, and `Scope.parent` leads outwards. Like `no_grad`, a scope belongs to the
    thread or asyncio task that entered it. It costs nothing per node, and nothing per block
    when the same `graph_scope` object is entered again inside the same outer scope: nn keeps one
    per module and enters it on every call, so every call of a module shares one `Scope`.

    >>> from autograd import Value
    >>> with graph_scope("neuron") as scope:
    ...     y = Value(1.0) * 2
    >>> y.scope is scope, scope.name
    (True, 'neuron')
    """

    __slots__ = ("_owner", "_name", "_last")

    def __init__(self, owner: Any, name: str | None = None) -> None:
        self._owner = owner
        self._name = name if name is not None else str(owner)
        self._last: Scope | None = None

    def __enter__(self) -> Scope:
        outer = _scope.get()
        # Entered again inside the same outer scope (a module called once per example), it
        # hands out the same Scope: nothing is allocated per call. Threads that share the
        # object may each replace `_last`; each still gets a Scope with its own outer scope.
        scope = self._last
        if scope is None or scope.parent is not outer:
            scope = self._last = Scope(self._owner, self._name, outer)
        _scope.set(scope)
        if outer is None:
            _scope_blocks.append(None)
        return scope

    def __exit__(self, *exception: object) -> None:
        outer = _scope.get().parent
        _scope.set(outer)
        if outer is None:
            _scope_blocks.pop()


def current_scope() -> Scope | None:
    """The innermost `graph_scope` active in this thread or task, or None.

    >>> with graph_scope("layer", "layer 0"):
    ...     current_scope()
    Scope(layer 0)
    """
    return _scope.get()
