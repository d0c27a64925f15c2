"""`trace(f, *example_args)`: record the graph `f` builds once, and return it as a `Tape`.

A fixed-shape computation builds the same graph for every input; only the numbers differ. `trace`
runs `f` on `Value`s made from the example arguments and keeps the graph, which `autograd.tape.tape`
compiles into a few array operations per level and replays on NumPy arrays or PyTorch tensors, a
whole batch at a time.

What a graph cannot show, Python's own decisions, is what makes tracing delicate. `trace` deals
with them in three ways:

1. Guards. A decision taken on a Value while tracing is recorded with the line that took it:
   comparisons (``x > 0``, and so `max()`, `min()` and `sorted()` over Values), `float(x)` and
   `x.item()`. Every call of the tape recomputes the decision for every example and raises
   `GuardError`, naming the decision and its line, where one would go the other way (a comparison)
   or read another number (`float`, `item`). A batch never silently mixes branches.
2. A probe run. `f` runs a second time, at arguments moved by about a thousandth, and the two
   graphs are walked side by side. They must match node for node: a different structure, length
   or number of decisions means a graph that depends on the data (`TraceError`, naming the node;
   or naming the decision and its line when a comparison came out otherwise at the nearby
   point: the example lies on its boundary, ``if x > 0`` traced at 0.0).
   A number folded into the graph (the `c` of ``x + c``, a `Value` made inside `f`) must be the
   same in both runs, or it was computed from the data (``x * x.data``, ``x.detach()``,
   `no_grad()` inside `f`, a random draw): `TraceError`. Values that are the very same objects in
   both runs existed before `f` was called (a model's weights): they are the tape's parameters,
   read afresh at every call, and the graph stops at them. Numbers `f` reads from state that
   changes between calls (batch norm's running statistics) go through `fresh_numbers(read)`:
   Values among the parameters, set from `read()` again before every call of the tape.
3. What is not caught. A `Value`'s `.data` is a plain slot, read by every operator, so a read of it
   cannot be watched: a decision on ``x.data`` (``if x.data > 0:``) is a decision on a plain float,
   invisible unless it comes out differently in the probe run (which then builds another graph).
   Checks `f` makes on plain numbers (nn.losses refusing a non-finite logit) run at trace time
   only. `int(x)` and `round(x)` raise TypeError on a Value, and `bool(x)` is always True (a Value
   is an object), so neither decides anything. Side effects of `f` happen twice, at trace time.

Choices written as nodes are part of the graph and need no guard: `relu`, `abs`, `leaky_relu`,
`max_values`.

>>> from autograd import Value
>>> w = Value(2.0)
>>> tape = trace(lambda x: (w * x).relu(), 1.5)
>>> tape(3.0), tape.value_and_grad(3.0)
(6.0, (6.0, (2.0,)))
"""

from __future__ import annotations

import linecache
import random
import sys
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

from autograd import value as value_module
from autograd.modes import recording
from autograd.tape.program import Decision, Run, TraceError, flipped_decision, pair
from autograd.value import Value

INSTALL = 'tracing needs NumPy: pip install "chainrule[tape]"'
_AUTOGRAD = str(Path(__file__).resolve().parents[1])  # the autograd package


# --- recording --------------------------------------------------------------------------------
_recording_into: ContextVar[list[Decision] | None] = ContextVar("autograd_trace", default=None)
_active = 0  # traces recording now, in any thread: the hook in value.py is set while any are
_lock = threading.Lock()


def _note_decision(node: Value, op: str, other: Any, result: Any) -> None:
    decisions = _recording_into.get()
    if decisions is not None:
        decisions.append(Decision(node, op, other, result, _caller()))


def _caller() -> str:
    """Where the user's code took a decision: the innermost frame outside autograd."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_AUTOGRAD):
        frame = frame.f_back
    if frame is None:
        return "an unknown line"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    place = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    return f"{place} ({line})" if line else place


@dataclass
class _FreshReads:
    """The `fresh_numbers` requests of a trace: (Values, read) in the order `f` made them.
    `met` counts the requests of a later run, which must get the first run's Values back."""

    entries: list[tuple[list[Value], Callable[[], Sequence[float]]]] = field(default_factory=list)
    met: int | None = None  # None during the first run


_fresh_into: ContextVar[_FreshReads | None] = ContextVar("autograd_fresh", default=None)


def fresh_numbers(read: Callable[[], Sequence[float]]) -> list[Any]:
    """The numbers `read()` returns, read again at every call of a tape that uses them.

    For state that changes between calls of a traced `f` without being a Value (batch norm's
    running statistics): eagerly, the floats of `read()`; while `trace` records `f`, Values
    holding them, which join `tape.parameters` and which the tape sets from `read()` before
    every call (even when `params=` is given), so the state is never baked in as a constant.

    >>> from autograd import trace
    >>> scale = [2.0]
    >>> tape = trace(lambda x: x * fresh_numbers(lambda: scale)[0], 1.0)
    >>> scale[0] = 5.0
    >>> tape(3.0)
    15.0
    """
    reads = _fresh_into.get()
    if reads is None:
        return [float(x) for x in read()]
    if reads.met is None:
        values = [Value(float(x)) for x in read()]
        reads.entries.append((values, read))
        return values
    if reads.met >= len(reads.entries) or len(reads.entries[reads.met][0]) != len(read()):
        raise TraceError(
            "trace: f asked for other fresh numbers when its inputs changed a little than in its "
            "first run: what it reads depends on the data"
        )
    reads.met += 1
    return reads.entries[reads.met - 1][0]


def _record(f: Callable[..., Any], args: Sequence[Any], shapes: list[int | None]) -> Run:
    reads = _fresh_into.get()
    if reads is not None and reads.met is not None:
        reads.met = 0  # a probe run (or its retry): the first run's Values again
    leaves = [[Value(float(x)) for x in ([a] if s is None else a)] for a, s in zip(args, shapes)]
    call_args = [leaf[0] if s is None else list(leaf) for leaf, s in zip(leaves, shapes)]
    decisions: list[Decision] = []
    global _active
    with _lock:
        _active += 1
        value_module._decision_hook = _note_decision
    token = _recording_into.set(decisions)
    try:
        result = f(*call_args)
    finally:
        _recording_into.reset(token)
        with _lock:
            _active -= 1
            if not _active:
                value_module._decision_hook = None
    single = isinstance(result, Value)
    outputs = [result] if single else result
    if not isinstance(outputs, (list, tuple)) or not all(isinstance(o, Value) for o in outputs):
        raise TypeError(
            f"trace: f must return a Value or a list of Values, got {type(result).__name__} "
            f"{result!r:.80}"
        )
    return Run(leaves, list(outputs), single, decisions)


def _shape(arg: Any, position: int) -> int | None:
    if isinstance(arg, Real) and not isinstance(arg, bool):
        return None
    if isinstance(arg, (list, tuple)) and all(
        isinstance(x, Real) and not isinstance(x, bool) for x in arg
    ):
        return len(arg)
    raise TypeError(
        f"trace: example argument {position} must be a number or a list of numbers, "
        f"got {type(arg).__name__} {arg!r:.80}"
    )


def _probe(f: Callable[..., Any], args: Sequence[Any], shapes: list[int | None]) -> Run:
    """`f` run again at arguments moved by about a thousandth (a few tries if `f` fails there)."""
    rng = random.Random(0)
    failure: BaseException | None = None
    for scale in (2.0**-10, 2.0**-16, 2.0**-22):

        def move(x: float, scale: float = scale) -> float:
            sign = rng.choice((-1.0, 1.0))
            return float(x) * (1.0 + sign * scale) + sign * scale * 1e-3

        moved = [move(a) if s is None else [move(x) for x in a] for a, s in zip(args, shapes)]
        try:
            return _record(f, moved, shapes)
        except (ArithmeticError, ValueError) as error:
            failure = error
    raise TraceError(
        "trace: f fails at every point tried near the example arguments, so it cannot be told "
        f"which numbers in its graph come from the data: {failure}"
    ) from failure


# --- the public function --------------------------------------------------------------------
def trace(
    f: Callable[..., Any],
    *example_args: float | Sequence[float],
    parameters: Sequence[Value] | None = None,
) -> Any:
    """Run `f` on the example arguments, record its graph, and return it compiled as a `Tape`.

    Each argument is a number or a list of numbers; `f` takes a `Value` (or a list of Values) in
    each place and returns a Value or a list of Values. The tape then computes `f` for new
    arguments: floats in, floats out, or NumPy arrays (or PyTorch tensors) with the batch on axis
    0. See the module's docstring for which Python decisions in `f` are guarded and which cannot
    be seen.

    `parameters` (such as `model.parameters()`) orders `tape.parameters`: those `f` uses come
    first, in this order, then any other Value `f` reads, in the order the graph meets them.

    >>> tape = trace(lambda x, ys: x * ys[0] + ys[1], 1.0, [2.0, 3.0])
    >>> tape(2.0, [5.0, 1.0])
    11.0
    """
    try:
        from autograd.tape.tape import Tape  # imports NumPy, an extra: only a trace needs it
    except ImportError as error:
        if "numpy" not in str(error).lower():
            raise
        raise ImportError(INSTALL) from error
    if not callable(f):
        raise TypeError(f"trace: f must be callable, got {type(f).__name__} {f!r:.80}")
    shapes = [_shape(arg, i) for i, arg in enumerate(example_args)]
    if parameters is not None:
        parameters = list(parameters)
        strays = [p for p in parameters if not isinstance(p, Value)]
        if strays:
            raise TypeError(
                f"trace: parameters must be Values (such as model.parameters()), got "
                f"{type(strays[0]).__name__} {strays[0]!r:.80}"
            )
    reads = _FreshReads()
    token = _fresh_into.set(reads)
    try:
        with recording():  # as the other transforms: an outer no_grad() would leave no graph
            first = _record(f, example_args, shapes)
            reads.met = 0
            second = _probe(f, example_args, shapes)
    finally:
        _fresh_into.reset(token)
    try:
        program = pair(first, second, shapes)
    except TraceError as error:  # blame a decision on its boundary before what it led to
        flipped = flipped_decision(first, second)
        if flipped is None:
            raise
        raise flipped from error
    program.fresh = reads.entries
    if parameters is not None:
        rank = {id(p): i for i, p in enumerate(parameters)}
        found = program.parameters
        program.parameters = sorted(found, key=lambda p: rank.get(id(p), len(rank)))
    return Tape(program)
