"""`checkpoint_scan`: a long recurrence whose backward() recomputes it on the binomial schedule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograd.checkpointing.joint import joint_outputs
from autograd.checkpointing.recompute import Inside, outside_nodes, sweep_inside
from autograd.checkpointing.revolve import binomial_schedule
from autograd.checkpointing.trees import Frozen, flatten, same_numbers, unflatten, value_leaves
from autograd.modes import graph_scope, is_grad_enabled, no_grad, recording
from autograd.value import Value

Step = Callable[[Any, Any], tuple[Any, Any]]
_A_VALUE = object()  # where a step's output held a Value (its node is made once all are known)


def checkpoint_scan(
    step: Step, state: Any, inputs: Sequence[Any], *, snapshots: int
) -> tuple[Any, list[Any]]:
    """`state, y = step(state, x)` for each x of `inputs`, keeping at most `snapshots` states.

    Returns the last state and the list of the steps' outputs y, as `jax.lax.scan` does (y may
    be None; states and outputs are Values, numbers, None, or lists and tuples of them, such as
    an LSTM's `(h, c)`). No step's graph is kept: the result's Values hang from one joint node
    whose parents are the Values the steps read from outside (the first state, the inputs, the
    weights a step closes over; see `checkpoint`). backward() reverses the steps on Griewank's
    binomial schedule (`autograd.checkpointing.revolve`): with k snapshots and n steps it calls
    `step` the n times it must record, plus T(n, k) = r n - C(k + r + 1, r - 1) times, r the
    least with C(k + r, r) >= n, the fewest any schedule with k snapshots needs; the snapshots
    taken in the first sweep, during this call, serve the first backward(). The gradients are
    those of the plain loop. Higher derivatives through a scan raise; under `no_grad()` the
    steps just run.

    Memory: k snapshots of the state (floats, no graph), one step's graph, and the outputs.

    >>> from autograd import Value
    >>> w = Value(0.9)
    >>> def step(h, x):
    ...     h = (w * h + x).tanh()
    ...     return h, h
    >>> h, ys = checkpoint_scan(step, Value(0.0), [0.5, -1.0, 2.0, 0.3], snapshots=2)
    >>> (h + ys[0]).backward()
    >>> round(w.grad, 12)
    0.304927441009
    """
    if not callable(step):
        raise TypeError(f"checkpoint_scan: step must be callable, got {type(step).__name__}")
    if type(snapshots) is not int:
        raise TypeError(f"checkpoint_scan: snapshots must be an int, got {snapshots!r}")
    if snapshots < 1:
        raise ValueError(f"checkpoint_scan: snapshots (states kept) must be >= 1, got {snapshots}")
    if not isinstance(inputs, Sequence) or isinstance(inputs, str):
        raise TypeError(
            f"checkpoint_scan: inputs must be a sequence, one per step, got {type(inputs).__name__}"
        )
    Frozen(state)  # refuses a state that is not a tree of Values and numbers, before any step
    if not inputs:
        return state, []
    if not is_grad_enabled():
        outputs = []
        for x in inputs:
            state, y = _called(step, state, x)
            outputs.append(y)
        return state, outputs
    return _Scan(step, state, inputs, snapshots).result


def _called(step: Step, state: Any, x: Any) -> tuple[Any, Any]:
    result = step(state, x)
    if type(result) not in (tuple, list) or len(result) != 2:
        raise TypeError(
            f"checkpoint_scan: step must return a pair (state, output), output None if none; "
            f"got {type(result).__name__} {result!r}"
        )
    return result[0], result[1]


class _Scan:
    """One scan: its schedule, the snapshots of its first sweep, and how to reverse it."""

    def __init__(self, step: Step, state: Any, inputs: Sequence[Any], snapshots: int) -> None:
        self.step, self.inputs, self.n = step, inputs, len(inputs)
        self.scope = graph_scope(step, "checkpoint_scan")
        self.inside: Inside | None = None
        self.initial = value_leaves(state)
        self.parents: dict[Value, int] = {}
        for value in self.initial:
            self.parents.setdefault(value, len(self.parents))
        self.start = Frozen(state)
        self.schedule = binomial_schedule(self.n, snapshots)
        self.y_shapes: list[tuple] = []  # per step: shape, leaves, first y index
        self.y_datas: list[float] = []
        # The first sweep: the schedule's actions up to its first turn, recording each step to
        # find the Values it reads from outside; the last step's graph is kept for that turn.
        self.stack: list[tuple[int, Frozen]] = []
        working = self.start
        for position, action in enumerate(self.schedule):  # noqa: B007 - read below
            if action[0] == "firsturn":
                break
            working = self._act(action, working, discover=True)
        self.resume = position
        self.kept = self._record(self.n - 1, working, discover=True)
        final, finals = self.kept[2], self.kept[1][: self.kept[3]]
        self.state_size = len(finals)
        datas = [v.data for v in finals] + self.y_datas
        nodes = joint_outputs(datas, tuple(self.parents), self._reverse)
        self.final_datas = datas[: self.state_size]
        leaves, shape = flatten(final)
        it = iter(nodes)
        leaves = [next(it) if type(leaf) is Value else leaf for leaf in leaves]
        ys = []
        for y_shape, y_leaves, _ in self.y_shapes:
            filled = [next(it) if leaf is _A_VALUE else leaf for leaf in y_leaves]
            ys.append(unflatten(y_shape, filled))
        self.result = (unflatten(shape, leaves), ys)

    def _act(self, action: tuple, working: Frozen | None, discover: bool = False) -> Frozen:
        kind, i = action[0], action[1]
        if kind == "takeshot":
            self.stack.append((i, working))
        elif kind == "advance":
            advance = self._discover if discover else self._advance
            for t in range(i, action[2]):
                working = advance(t, working)
        else:  # restore
            while self.stack[-1][0] > i:
                self.stack.pop()
            working = self.stack[-1][1]
        return working

    def _discover(self, t: int, working: Frozen) -> Frozen:
        return self._record(t, working, discover=True)[0]

    def _advance(self, t: int, working: Frozen) -> Frozen:
        with no_grad():
            state, _ = working.thaw()
            return Frozen(_called(self.step, state, self.inputs[t])[0])

    def _record(self, t: int, working: Frozen, discover: bool = False) -> tuple:
        """Step t recorded: (next state frozen, its Value leaves then y's, state, how many)."""
        with recording(), self.scope as scope:
            state, fresh = working.thaw()
            state, y = _called(self.step, state, self.inputs[t])
        if self.inside is None or self.inside.scope is not scope:
            self.inside = Inside(scope)
        finals, y_leaves = value_leaves(state), flatten(y)
        ys = [leaf for leaf in y_leaves[0] if type(leaf) is Value]
        outputs = finals + ys
        if discover:
            outside_nodes(outputs, self.inside, self.parents)
            leaves = [_A_VALUE if type(leaf) is Value else leaf for leaf in y_leaves[0]]
            start = len(self.y_datas)
            self.y_shapes.append((y_leaves[1], leaves, start))
            self.y_datas.extend(v.data for v in ys)
        else:
            start = self.y_shapes[t][2]
            for v, data in zip(ys, self.y_datas[start : start + len(ys)]):
                if not same_numbers(v.data, data):
                    raise _changed(t, v, data)
        return Frozen(state), outputs, state, len(finals), fresh, start

    def _reverse(self, seeds: list, as_values: bool) -> list:
        if as_values:
            raise TypeError(
                "checkpoint_scan: higher derivatives (create_graph=True, hessian) do not go "
                "through a scan; run the loop plainly, or checkpoint each step with checkpoint()"
            )
        result = [0.0] * len(self.parents)
        adjoint = seeds[: self.state_size]
        y_seeds = seeds[self.state_size :]
        working = self.start if self.resume == 0 else None
        try:
            for action in self.schedule[self.resume :]:
                if action[0] not in ("firsturn", "youturn"):
                    working = self._act(action, working)
                    continue
                t = action[1]
                if action[0] == "firsturn" and self.kept is not None:
                    recorded, self.kept = self.kept, None
                else:
                    recorded = self._record(t, working)
                    if t == self.n - 1:
                        for v, data in zip(recorded[1], self.final_datas):
                            if not same_numbers(v.data, data):
                                raise _changed(t, v, data)
                _, outputs, _, size, fresh, start = recorded
                count = len(outputs) - size
                step_seeds = adjoint + y_seeds[start : start + count]
                sweep_inside(outputs, step_seeds, self.parents, self.inside, result)
                adjoint = [leaf.grad for leaf in fresh]
        finally:  # a later backward() starts the schedule again from the first state
            self.resume, self.stack, self.kept = 0, [], None
        for value, g in zip(self.initial, adjoint):
            result[self.parents[value]] += g
        return result


def _changed(t: int, value: Value, data: float) -> RuntimeError:
    return RuntimeError(
        f"checkpoint_scan: recomputing step {t} gave {value.data!r} where the first run gave "
        f"{data!r}: step must compute the same values each time (no randomness, no weights "
        "changed between the scan and backward())"
    )
