"""Grad mode and graph scopes: per thread and per asyncio task, as `contextvars` keep them.

`no_grad()` in one thread (an evaluation loop, say) must never stop another thread from recording:
its gradients would silently come out 0.0. So the mode and the innermost scope live in
`ContextVar`s: every thread starts with recording on and no scope (as in PyTorch), and an asyncio
task sees the values of the context it was created in, never a change made by another task.

Reading a `ContextVar` costs a method call on every recorded operation, so `value.py` reads one
only while some thread or task has a block open. Two counters, kept under a lock, count the open
blocks anywhere in the process (every `no_grad()`, and every thread or task with a `graph_scope`
open); each is mirrored as a bool among `value.py`'s globals (`_recording_everywhere`,
`_scopes_somewhere`). While no block is open, the common case, an operation tests one global
bool, as when the mode itself was a module global. (A bool, not the count: the interpreter
tests True and False without a call, any other object through its `__bool__`.)

nn enters a graph scope on every module call, 3,700 times a step of the benchmarks' `mlp_step`,
and setting a `ContextVar` allocates (a new mapping and a token for the context): a set and a
reset per call cost about 0.2 us, a few percent of the step (with the bools above, this design
took `mlp_step`'s cost over the engine before threads from +8.2% to +5.3%, measured with
benchmarks/compare.py). So the variable holds a `_Frame`, the innermost scope of one thread,
which that thread changes in place, entering and leaving scopes, with no allocation; a thread
makes a frame of its own at its first scope (a frame it finds in its context, copied from
another thread's, is never changed by it). Inside a running asyncio event loop, where tasks
interleave on one thread, every scope sets a new frame instead, as plain `ContextVar` values: a
task sees the scope of the context it was created in, never one another task enters later.

The counters count blocks, not contexts: a context copied inside a scope that outlives the block
(an asyncio task created there, still running after it) reads that scope in `current_scope()`,
but its new nodes carry no scope once no block is open anywhere. Only drawings read scopes.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_grad_enabled: ContextVar[bool] = ContextVar("chainrule_grad_enabled", default=True)

# Bound once: value.py calls it on its slower path, when a no_grad() block is open somewhere.
grad_enabled_here = _grad_enabled.get

_lock = threading.Lock()
_open = {"no_grad": 0, "scope": 0}  # no_grad() blocks; threads and tasks inside a graph_scope
_hot_path: dict[str, Any] = {}  # value.py's globals, where operations read the two bools


def hot_path_flags(namespace: dict[str, Any]) -> None:
    """Keep `_recording_everywhere` and `_scopes_somewhere` in `namespace` up to date."""
    global _hot_path
    with _lock:
        _hot_path = namespace
        _publish()


def _count(kind: str, change: int) -> None:
    with _lock:
        _open[kind] += change
        _publish()


def _publish() -> None:
    _hot_path["_recording_everywhere"] = _open["no_grad"] == 0
    _hot_path["_scopes_somewhere"] = _open["scope"] > 0


class no_grad:  # noqa: N801 - a context manager, named as the function form it replaces
    """Record no graph inside the block: results are constants with no parents.

    Only the current thread (or asyncio task) stops recording; others go on. Also a decorator,
    with or without brackets (`@no_grad`, `@no_grad()`), of plain functions, of `async def`
    coroutines (the body does not record, across its awaits) and of generators (the body does not
    record, while the code that drives the generator records as before, between its steps).

    >>> from autograd import Value
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y.parents
    ()
    """

    __slots__ = ("_tokens",)

    def __new__(cls, function: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        self._tokens = []  # one per open block of this object, innermost last
        if function is None:
            return self
        if not callable(function):
            raise TypeError(
                f"no_grad: takes no arguments (or decorates a function), got "
                f"{type(function).__name__} {function!r}"
            )
        return self(function)  # @no_grad without brackets

    def __enter__(self) -> None:
        self._tokens.append(_grad_enabled.set(False))
        _count("no_grad", +1)

    def __exit__(self, *exception: object) -> None:
        _count("no_grad", -1)
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(function):
            raise TypeError(
                f"no_grad: cannot decorate the async generator {function.__qualname__}; "
                "use `with no_grad():` inside it"
            )
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def coroutine_without_graph(*args: Any, **kwargs: Any) -> Any:
                with no_grad():
                    return await function(*args, **kwargs)

            return coroutine_without_graph
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator_without_graph(*args: Any, **kwargs: Any) -> Any:
                return (yield from _each_step_without_graph(function(*args, **kwargs)))

            return generator_without_graph

        @functools.wraps(function)
        def without_graph(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return function(*args, **kwargs)

        return without_graph


def _each_step_without_graph(generator: Generator) -> Generator:
    """Run `generator` one step at a time, each inside `no_grad()`: a block left open across a
    `yield` would stop the code that drives the generator from recording, in between."""
    step, given = generator.send, None
    while True:
        try:
            with no_grad():
                produced = step(given)
        except StopIteration as stop:
            return stop.value
        try:
            given = yield produced
            step = generator.send
        except GeneratorExit:
            with no_grad():
                generator.close()
            raise
        except BaseException as error:  # thrown in by the driver: pass it on, inside no_grad()
            step, given = generator.throw, error


@contextmanager
def recording() -> Iterator[None]:
    """Record inside the block even under an outer `no_grad()`, as PyTorch's `enable_grad`.

    The transforms (`grad`, `jvp`, `hessian`, ...) differentiate the graph that f records, so
    they run f in this block: as `torch.func`'s transforms, they ignore a `no_grad()` around the
    call (an evaluation loop asking for a gradient), where f would otherwise record nothing and
    every derivative would silently come out 0.0. A `no_grad()` inside f still holds there.

    >>> from autograd import Value
    >>> with no_grad(), recording():
    ...     y = Value(2.0) * 3
    >>> len(y.parents)
    1
    """
    if _grad_enabled.get():
        yield
        return
    token = _grad_enabled.set(True)
    try:
        yield
    finally:
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


class _Frame:
    """The innermost scope of a thread (`thread` its ident), changed in place by that thread; or,
    with `thread` None, a snapshot set by a scope inside an event loop, over `previous`."""

    __slots__ = ("scope", "thread", "previous")

    def __init__(self, scope: Scope | None, thread: int | None, previous: _Frame | None) -> None:
        self.scope = scope
        self.thread = thread
        self.previous = previous


# The default frame is only read: a thread changes only a frame that carries its own ident.
_NO_SCOPE = _Frame(None, None, None)
_frame: ContextVar[_Frame] = ContextVar("chainrule_graph_scope", default=_NO_SCOPE)  # noqa: B039
frame_here = _frame.get  # value.py reads `frame_here().scope` when a scope is open somewhere
_thread = threading.get_ident
_modules = sys.modules


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
        frame = _frame.get()
        outer = frame.scope
        # Entered again inside the same outer scope (a module called once per example), it
        # hands out the same Scope: nothing is allocated per call. Threads that share the
        # object may each replace `_last`; each still gets a Scope with its own outer scope.
        scope = self._last
        if scope is None or scope.parent is not outer:
            scope = self._last = Scope(self._owner, self._name, outer)
        asyncio = _modules.get("asyncio")  # not imported: no event loop can be running
        if asyncio is not None and asyncio.events._get_running_loop() is not None:
            _frame.set(_Frame(scope, None, frame))
        elif frame.thread == _thread():
            frame.scope = scope
        else:  # this thread's first scope, or a frame that came with a copied context
            _frame.set(_Frame(scope, _thread(), frame))
        if outer is None:
            _count("scope", +1)
        return scope

    def __exit__(self, *exception: object) -> None:
        frame = _frame.get()
        outer = frame.scope.parent
        if frame.thread is None:
            _frame.set(frame.previous)
        else:
            frame.scope = outer
        if outer is None:
            _count("scope", -1)


def current_scope() -> Scope | None:
    """The innermost `graph_scope` active in this thread or task, or None.

    >>> with graph_scope("layer", "layer 0"):
    ...     current_scope()
    Scope(layer 0)
    """
    return _frame.get().scope
