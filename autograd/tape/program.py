"""A traced program: the two runs of `f` that `autograd.trace` records, and the walk that pairs
them into one `Program` (nodes in topological order, outputs, guards, parameters).

`pair(first, second)` walks the graphs of the run at the example and of the probe run at a nearby
point side by side, parents in order. Nodes that are the very same object in both runs existed
before `f` was called: they are parameters, and the walk stops at them. Every other pair must
match: the same rule, the same number of operands, the same number folded in (the `c` of
``x + c``), the same data for a leaf made inside `f`. Anything else is a `TraceError` naming the
node: a graph, or a number in it, that depends on the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from autograd.custom_gradients import CustomVjpRule
from autograd.value import Value


class TraceError(ValueError):
    """`f` cannot be traced: its graph, or a number in it, depends on the data.

    >>> from autograd import trace
    >>> trace(lambda x: x * x.data, 1.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    TraceError: trace: the * node was applied with the number 1.0 at the example but ...
    """


class GuardError(ValueError):
    """A tape was called with inputs that would take another branch than the traced one.

    >>> from autograd import trace
    >>> tape = trace(lambda x: x * 2 if x > 0 else x * 3, 1.0)
    >>> tape(-1.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    GuardError: tape: the decision '>' at ... was True when f was traced, but it is False ...
    """


@dataclass
class Decision:
    """A Python decision taken on a Value while tracing: `node op other` gave `result`."""

    node: Value
    op: str  # '<', '<=', '>', '>=', or 'float' / 'item' for a read of the value
    other: Any  # a Value, a number, or None for a read
    result: Any  # the comparison's bool, or the float read
    where: str  # file:line in the user's code, and that line


@dataclass
class Run:
    """One run of `f`: the argument leaves (a list per argument), the outputs, the decisions."""

    arguments: list[list[Value]]
    outputs: list[Value]
    single: bool  # f returned one Value (not a list)
    decisions: list[Decision] = field(default_factory=list)


@dataclass
class Node:
    """One node of a traced program. `kind` is 'argument', 'parameter', 'constant' or 'op'."""

    kind: str
    rule: Any = None  # the Rule (as recorded; a bound rule keeps its number) of an op
    parents: tuple[int, ...] = ()
    number: Any = None  # the number an op was applied with (a tuple for dot_constant)
    slot: tuple[int, int] | None = None  # (argument, entry) of an argument
    value: Any = None  # the Value of a parameter, the float of a constant
    about: str = ""  # the node as a message names it


@dataclass
class Guard:
    """A recorded decision, on program node `node` against node `other_node` or `other_number`."""

    decision: Decision
    node: int
    other_node: int | None = None
    other_number: float | None = None


@dataclass
class Program:
    """A traced graph: its nodes in topological order (parents first), outputs and guards."""

    nodes: list[Node]
    outputs: list[int]
    single: bool
    shapes: list[int | None]  # per argument: None for a number, n for a list of n numbers
    guards: list[Guard]
    parameters: list[Value]
    fresh: list[tuple[list[Value], Any]] = field(default_factory=list)  # autograd.fresh_numbers


def _about(node: Value) -> str:
    scope = f" made in {'/'.join(s.name for s in node.scope.path)}" if node.scope else ""
    label = f" {node.label!r}" if node.label else ""
    return f"the {node.op or 'leaf'} node{label}{scope}"


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_same_number, a, b))
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def _number_of(node: Value) -> Any:
    """The number an op was applied with: dot_constant's inputs, or a one-parent node's `_db`."""
    if node._op.name == "dot_constant":
        return node._db  # the inputs, its local derivatives
    return node._db if node._a is not None and node._b is None else None


def _differ(what: str, node: Value) -> TraceError:
    return TraceError(
        f"trace: f builds a different graph when its inputs change a little: {what} at "
        f"{_about(node)}. A graph that depends on the data (its length, its structure, or a "
        "number computed from .data) cannot be replayed by a tape; write the choice as a node "
        "(relu, abs, max_values, ...) or keep it outside f"
    )


def flipped_decision(first: Run, second: Run) -> TraceError | None:
    """The error naming the first comparison that came out differently in the two runs, if one
    did: the example lies on its boundary (``if x > 0`` traced at 0.0), where the probe's small
    move took the other branch, and the graphs then differ for that reason alone."""
    for d1, d2 in zip(first.decisions, second.decisions):
        if d1.op == d2.op and d1.op not in ("float", "item") and d1.result != d2.result:
            other = d1.other.data if isinstance(d1.other, Value) else d1.other
            return TraceError(
                f"trace: the decision {d1.op!r} at {d1.where} was {d1.result} at the example "
                f"but {d2.result} at a nearby point (the Value is {d1.node.data!r}, compared "
                f"with {other!r}): the example lies on the decision's boundary, where a small "
                "move takes the other branch. Trace f at an example clearly on one side of it "
                "(the tape then guards that side), or write the choice as a node (relu, abs, "
                "max_values)"
            )
    return None


def pair(first: Run, second: Run, shapes: list[int | None]) -> Program:
    """Walk the two runs' graphs side by side into one `Program`, or raise `TraceError`."""
    if len(first.outputs) != len(second.outputs):
        raise TraceError(
            f"trace: f returned {len(first.outputs)} values at the example but "
            f"{len(second.outputs)} at a nearby point: its length depends on the data"
        )
    if [d.op for d in first.decisions] != [d.op for d in second.decisions]:
        raise TraceError(
            f"trace: f took {len(first.decisions)} decisions on Values at the example but "
            f"{len(second.decisions)} (or others) at a nearby point: its control flow depends "
            "on the data"
        )
    slots = {}
    for run_number, run in enumerate((first, second)):
        for i, leaves in enumerate(run.arguments):
            for j, leaf in enumerate(leaves):
                slots[run_number, id(leaf)] = (i, j)
    numbers: dict[int, int] = {}  # id of a node of the first run -> its position in `nodes`
    partners: dict[int, int] = {}  # id of a node of the second run -> the same position
    nodes: list[Node] = []
    parameters: list[Value] = []

    def visit(a: Value, b: Value) -> int:
        """Post-order, iteratively: a node is numbered after all its parents."""
        stack = [(a, b, False)]
        while stack:
            a, b, expanded = stack.pop()
            if id(a) in numbers:
                if partners.get(id(b)) != numbers[id(a)]:
                    raise _differ("a node is shared in one run but not in the other", a)
                continue
            if id(b) in partners:
                raise _differ("a node is shared in one run but not in the other", a)
            if not expanded and a is not b and a._op is not None:
                if b._op is None or b._op.name != a._op.name:
                    raise _differ(f"{b.op or 'a leaf'} instead of {a.op}", a)
                a_parents, b_parents = a.parents, b.parents
                if len(a_parents) != len(b_parents):
                    raise _differ(f"{len(b_parents)} operands instead of {len(a_parents)}", a)
                stack.append((a, b, True))
                stack.extend(
                    (p, q, False) for p, q in zip(reversed(a_parents), reversed(b_parents))
                )
                continue
            numbers[id(a)] = partners[id(b)] = len(nodes)
            nodes.append(_node_of(a, b, numbers, slots))
            if nodes[-1].kind == "parameter":
                parameters.append(a)
        return numbers[id(a)]

    outputs = [visit(a, b) for a, b in zip(first.outputs, second.outputs)]
    guards = []
    for d1, d2 in zip(first.decisions, second.decisions):
        guard = Guard(d1, visit(d1.node, d2.node))
        if isinstance(d1.other, Value):
            guard.other_node = visit(d1.other, d2.other)
        elif d1.other is not None:
            guard.other_number = float(d1.other)
        guards.append(guard)
    return Program(nodes, outputs, first.single, shapes, guards, parameters)


def _node_of(a: Value, b: Value, numbers: dict[int, int], slots: dict) -> Node:
    if a is b:
        return Node("parameter", value=a, about=_about(a))
    if (0, id(a)) in slots:
        if slots.get((1, id(b))) != slots[0, id(a)]:
            raise _differ("another argument", a)
        return Node("argument", slot=slots[0, id(a)], about="argument")
    if a._op is None:
        if not _same_number(a.data, b.data):
            raise TraceError(
                f"trace: {_about(a)} is a Value made inside f with data {a.data!r} at the example "
                f"but {b.data!r} at a nearby point: a number computed from the data (.data, "
                "float(), detach(), no_grad()) or drawn at random. The tape would replay it as a "
                "constant; compute it with Value operations instead, or pass it as an argument"
            )
        return Node("constant", value=a.data, about=_about(a))
    if a._op.name in ("checkpoint", "checkpoint_output"):
        raise TraceError(
            f"trace: f calls a checkpoint ({_about(a)}), whose graph is recomputed in backward(); "
            "a tape cannot replay it. Trace f without checkpoint: a tape keeps no graph anyway"
        )
    if isinstance(a._op, CustomVjpRule):
        raise TraceError(a._op.refusal("trace"))
    number = _number_of(a)
    if not _same_number(number, _number_of(b)) or not _same_number(a._op.constant, b._op.constant):
        raise TraceError(
            f"trace: {_about(a)} was applied with the number {number!r} at the example but "
            f"{_number_of(b)!r} at a nearby point: a number computed from the data (.data, "
            "float()). The tape would replay it as a constant; use a Value instead"
        )
    parents = tuple(numbers[id(p)] for p in a.parents)
    return Node("op", rule=a._op, parents=parents, number=number, about=_about(a))
