"""The node a checkpoint leaves in the graph, and the sweep that recomputes what it stands for.

A checkpointed computation with inputs p_1..p_n (the Values it read from outside) and outputs
y_1..y_m stands in the graph as one joint node J, whose parents are the p_i, and m output nodes,
each with J as its one parent. Its local derivatives d(y_j)/d(p_i) are not kept: only the
vector-Jacobian product sum_j g_j dy_j/dp_i with the outputs' adjoints g_j is ever needed, and
it is computed when the sweep reaches J, by recomputing the graph of the outputs.

The engine's sweeps need no hook for it; the few objects below stand where numbers would:
- output j's local derivative is a `_Pick(j)`: times an adjoint g it gives `_Adjoints({j: g})`,
  and added into J's `.grad` (reset to 0.0 by the sweep) such pieces gather the adjoints of all
  the outputs the sweep reached; J comes off the sweep's stack only after all of them;
- J's local derivatives are `_Rows`: row i times that gathered `_Adjoints` runs the
  recomputation once (for row 0) and gives the adjoint of p_i.
So `backward()`, `adjoints()` and `create_graph=True` all go through J. For the last, the rule's
`derivatives` hands the sweep rows that recompute with `Value` adjoints, so the result can be
differentiated again. Forward mode (`jvp`) would need Jacobian-vector products, which the rows
refuse with a TypeError naming the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograd.rules import Rule
from autograd.value import Value, _n_ary_node, _node

# vjp(seeds, as_values) -> the adjoint of each parent, given each output's adjoint (0.0 if none)
Replay = Callable[[list, bool], list]


class _NotANumber:
    """Stands where the engine keeps numbers; a drawing or explain() that asks for one is told."""

    __slots__ = ()

    def __float__(self) -> float:
        raise TypeError(
            "checkpoint: a checkpoint's local derivatives are not numbers (backward() recomputes "
            "its graph), so explain() and step_through() cannot show a step through it; show the "
            "function without checkpoint"
        )


class _Adjoints(_NotANumber):
    """The adjoints of a joint node's outputs, by output index, as the sweep gathers them."""

    __slots__ = ("by_output",)

    def __init__(self, by_output: dict[int, Any]) -> None:
        self.by_output = by_output

    def __add__(self, other: Any) -> _Adjoints:
        # Only the sweep holds these (each piece is made by a _Pick), so adding in place is safe.
        if type(other) is not _Adjoints:
            return _not_a_number(other)
        for j, g in other.by_output.items():
            self.by_output[j] = self.by_output[j] + g if j in self.by_output else g
        return self

    def __radd__(self, other: Any) -> _Adjoints:
        if other == 0.0 and type(other) is float:  # the sweep's reset
            return self
        return _not_a_number(other)

    def seeds(self, size: int) -> list:
        return [self.by_output.get(j, 0.0) for j in range(size)]

    def __repr__(self) -> str:
        return f"<adjoints of {len(self.by_output)} checkpoint outputs>"


class _Pick(_NotANumber):
    """d(output j)/d(joint node): selects output j's adjoint into the joint node's vector."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __mul__(self, g: Any) -> _Adjoints:
        return _Adjoints({self.index: g})

    def __repr__(self) -> str:
        return f"<checkpoint output {self.index}>"


class _Rows:
    """d(outputs)/d(parent i) for every parent, available only times the outputs' adjoints."""

    __slots__ = ("replay", "size", "outputs", "as_values", "_given", "_result")

    def __init__(self, replay: Replay, size: int, outputs: int, as_values: bool = False) -> None:
        self.replay, self.size, self.outputs, self.as_values = replay, size, outputs, as_values
        self._given: _Adjoints | None = None
        self._result: list = []

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> _Row:
        if not 0 <= i < self.size:
            raise IndexError(i)
        return _Row(self, i)

    def __iter__(self) -> Any:
        return (_Row(self, i) for i in range(self.size))

    def times(self, i: int, g: Any) -> Any:
        if type(g) is not _Adjoints:
            raise TypeError(
                "checkpoint: its derivatives exist only as a vector-Jacobian product with the "
                f"adjoints of its outputs (a backward sweep), not times {g!r}: forward mode "
                "(jvp, jacfwd) does not go through a checkpoint; call the function unwrapped"
            )
        if self._given is not g:  # the first row of this sweep: recompute once for all rows
            self._result = self.replay(g.seeds(self.outputs), self.as_values)
            self._given = g
        result = self._result[i]
        if i == self.size - 1:
            self._given, self._result = None, []
        return result

    def in_values(self) -> _Rows:
        return _Rows(self.replay, self.size, self.outputs, as_values=True)

    def __repr__(self) -> str:
        return f"<checkpoint rows: {self.size} inputs, {self.outputs} outputs>"


class _Row(_NotANumber):
    __slots__ = ("rows", "index")

    def __init__(self, rows: _Rows, index: int) -> None:
        self.rows, self.index = rows, index

    def __mul__(self, g: Any) -> Any:
        return self.rows.times(self.index, g)

    def __rmul__(self, g: Any) -> Any:
        return self.rows.times(self.index, g)  # refuses every g but an _Adjoints

    def __repr__(self) -> str:
        return f"<checkpoint row {self.index}>"


def _not_a_number(other: Any) -> Any:
    raise TypeError(f"checkpoint: its outputs' adjoints are not numbers, cannot add {other!r}")


def _refuse_forward(*inputs: Any) -> float:
    raise TypeError(
        "checkpoint: a checkpoint's nodes are not an operation on numbers; a tape (autograd.trace) "
        "cannot compile them: trace the function without checkpoint (a tape keeps no graph anyway)"
    )


def _joint_derivatives(node: Any, *parents: Any) -> Any:
    if type(node) is not Value:
        raise TypeError("checkpoint: its derivatives are known only as vector-Jacobian products")
    return node._db.in_values()  # the create_graph sweep: recompute with Value adjoints


def _output_derivatives(node: Any, joint: Any) -> tuple:
    if type(node) is not Value:
        raise TypeError("checkpoint: its derivatives are known only as vector-Jacobian products")
    return (node._da,)


CHECKPOINT = Rule("checkpoint", "checkpoint", _refuse_forward, _joint_derivatives)
CHECKPOINT_OUTPUT = Rule("checkpoint_output", "output", _refuse_forward, _output_derivatives)


def joint_outputs(datas: Sequence[float], parents: tuple, replay: Replay) -> list[Value]:
    """The output nodes of one joint node with these parents, holding `datas`."""
    joint = _n_ary_node(0.0, CHECKPOINT, parents, _Rows(replay, len(parents), len(datas)))
    joint.label = "checkpoint"
    return [
        _node(data, CHECKPOINT_OUTPUT, joint, _Pick(j), None, None) for j, data in enumerate(datas)
    ]
