"""`Value`: one scalar node of a computation graph, with the Python operators that build graphs."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from numbers import Real
from typing import Any

from autograd import modes, pickling, rules
from autograd.backward import adjoints, backpropagate
from autograd.modes import Scope, frame_here, grad_enabled_here
from autograd.rules import Rule

Number = int | float

# True while no no_grad() block is open in any thread or task: record without asking the context.
# True while some thread or task is inside a graph_scope: ask the context for this one's scope.
# `modes` counts the blocks and keeps these two up to date.
_recording_everywhere = True
_scopes_somewhere = False
modes.hot_path_flags(globals())

# Set by autograd.trace: told of every Python decision taken on a Value's data (a comparison,
# float(), item()), so a tape can guard it. Comparisons and conversions are never on the hot path.
_decision_hook: Any = None

# Set by autograd.primitive and autograd.custom_vjp while a user's derivative code runs on Values
# (for a second derivative): float() of a Value there (math.cos(x) calls it) would cut the graph
# and make the second derivative silently 0, so it raises TypeError with this message instead.
float_refused: ContextVar[str | None] = ContextVar("autograd_float_refused", default=None)


def _to_float(data: Any, what: str = "Value") -> float:
    if not isinstance(data, Real):
        raise TypeError(f"{what}: expected a real number, got {type(data).__name__} {data!r}")
    return float(data)


class Value:
    """A scalar that remembers how it was computed, so `backward()` can differentiate it.

    >>> x = Value(3.0, label="x")
    >>> y = x * x + 2 * x
    >>> y.backward()
    >>> x.grad
    8.0
    """

    # One- and two-parent nodes (nearly all of them) keep their parents and local derivatives in
    # slots: no tuples to allocate, to free or for the garbage collector to walk. An n-ary node
    # (sum_values, dot) has no `_a`; it keeps the tuple of its parents in `_b` and the tuple of
    # their local derivatives in `_db`. A one-parent node made with a number (x + c, x ** c,
    # leaky_relu(x, c)) keeps that number in `_db`, where a tape (autograd.trace) reads it: its
    # local derivative alone does not always give it back. The label and the graph scope share
    # `_extra`: None (most nodes), the node's Scope (the nodes nn's modules make) or, for a
    # labelled node, a (label, scope or None) pair. Every slot costs each node its store, its 8
    # bytes, and a visit by each pass of the garbage collector, which is what nine slots instead
    # of eleven save most on (benchmarks/node_layout.py times both).
    __slots__ = ("data", "grad", "_op", "_a", "_da", "_b", "_db", "_extra", "_pending")

    def __init__(
        self,
        data: Number,
        label: str = "",
        _op: Rule | None = None,
        _a: Value | None = None,
        _da: Any = None,
        _b: Value | None = None,
        _db: Any = None,
    ) -> None:
        self.data = data if type(data) is float else _to_float(data)
        self.grad: Any = 0.0
        self._op = _op
        self._a = _a  # first parent and d(self)/d(first parent)
        self._da = _da
        self._b = _b  # second parent and d(self)/d(second parent)
        self._db = _db
        scope = frame_here().scope if _scopes_somewhere else None
        self._extra = (label, scope) if label else scope
        self._pending = 0  # consumers not yet visited; used only while ordering the graph

    # --- inspection -------------------------------------------------------------------------
    @property
    def parents(self) -> tuple[Value, ...]:
        """The nodes this one was computed from (empty for a leaf)."""
        if self._a is None:
            return () if self._b is None else self._b
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def local_derivatives(self) -> tuple:
        """d(self)/d(parent) for each parent, recorded when the node was made."""
        if self._a is None:
            return () if self._b is None else self._db
        return (self._da,) if self._b is None else (self._da, self._db)

    @property
    def label(self) -> str:
        """A name for drawings and `repr` ('' when unnamed); settable."""
        extra = self._extra
        return extra[0] if type(extra) is tuple else ""

    @label.setter
    def label(self, label: str) -> None:
        scope = self.scope
        self._extra = (label, scope) if label else scope

    @property
    def op(self) -> str:
        """The operation that made this node, as graphs show it ('' for a leaf)."""
        return self._op.symbol if self._op is not None else ""

    @property
    def rule(self) -> Rule | None:
        """The rule table entry that made this node (None for a leaf)."""
        return self._op

    @property
    def scope(self) -> Scope | None:
        """The innermost `graph_scope` active when this node was made, or None."""
        extra = self._extra
        return extra[1] if type(extra) is tuple else extra

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        if _decision_hook is not None:
            _decision_hook(self, "float", None, self.data)
        refused = float_refused.get()
        if refused is not None:
            raise TypeError(refused)
        return self.data

    def item(self) -> float:
        """The float value, as PyTorch's `Tensor.item()`."""
        if _decision_hook is not None:
            _decision_hook(self, "item", None, self.data)
        refused = float_refused.get()
        if refused is not None:
            raise TypeError(refused)
        return self.data

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # Equality and hashing stay by identity (nodes go in sets and dicts); ordering compares data.
    # A Value compared with a number raises: `Value(0.0) == 0` by identity would be a silent False.
    def __eq__(self, other: object) -> bool:
        if type(other) is Value:
            return self is other
        if isinstance(other, Real):
            raise _compared_with_number("==", self, other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if type(other) is Value:
            return self is not other
        if isinstance(other, Real):
            raise _compared_with_number("!=", self, other)
        return NotImplemented

    def __lt__(self, other: Value | Number) -> bool:
        result = self.data < _data_of(other)
        if _decision_hook is not None:
            _decision_hook(self, "<", other, result)
        return result

    def __le__(self, other: Value | Number) -> bool:
        result = self.data <= _data_of(other)
        if _decision_hook is not None:
            _decision_hook(self, "<=", other, result)
        return result

    def __gt__(self, other: Value | Number) -> bool:
        result = self.data > _data_of(other)
        if _decision_hook is not None:
            _decision_hook(self, ">", other, result)
        return result

    def __ge__(self, other: Value | Number) -> bool:
        result = self.data >= _data_of(other)
        if _decision_hook is not None:
            _decision_hook(self, ">=", other, result)
        return result

    __hash__ = object.__hash__

    # --- gradient bookkeeping -----------------------------------------------------------------
    def backward(self, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(node) into `.grad` of every node of this graph.

        Leaves accumulate across calls, as in PyTorch; the other nodes hold this call's adjoint.
        With `create_graph=True` the gradients are `Value`s that can be differentiated again.
        """
        backpropagate(self, create_graph)

    def zero_grad(self) -> None:
        """Reset this node's gradient to 0.0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """A constant copy: same data and label, no parents."""
        return Value(self.data, self.label)

    # --- pickle and copy (autograd/pickling.py: whole graphs, without recursion) ----------------
    def __reduce_ex__(self, protocol: Any) -> tuple:
        return pickling.reduce_node(self)

    def __setstate__(self, state: tuple) -> None:
        pickling.restore(self, state)

    def __copy__(self) -> Value:
        return pickling.copy_node(self)

    def __deepcopy__(self, memo: dict) -> Value:
        return pickling.deepcopy_node(self, memo)

    # --- arithmetic -----------------------------------------------------------------------------
    # + and * make most nodes, so they skip the generic _apply* calls: the same forward and
    # locals as rules.ADD, ADD_CONSTANT, MUL and MUL_CONSTANT, written out (tests/test_fast_paths.py
    # checks they agree with the table), as is relu below. Every other operation goes through the
    # table.
    def __add__(self, other: Value | Number) -> Value:
        if type(other) is Value:
            out = self.data + other.data
            if _recording_everywhere or grad_enabled_here():
                # _node(out, rules.ADD, self, 1.0, other, 1.0), written out: a call per node saved
                node = _new_object(Value)
                node.data = out
                node.grad = 0.0
                node._op = _ADD
                node._a = self
                node._da = 1.0
                node._b = other
                node._db = 1.0
                node._extra = frame_here().scope if _scopes_somewhere else None
                node._pending = 0
                return node
            return Value(out)
        if type(other) is not float:
            other = _number_or_none(other)  # sum() starts at the int 0
            if other is None:
                return NotImplemented
        out = self.data + other
        if _recording_everywhere or grad_enabled_here():
            return _node(out, _ADD_CONSTANT, self, 1.0, None, other)
        return Value(out)

    __radd__ = __add__

    def __sub__(self, other: Value | Number) -> Value:
        if type(other) is Value:
            return _apply2(rules.SUB, self, other)
        if type(other) is not float:
            other = _number_or_none(other)
            if other is None:
                return NotImplemented
        # x - c is x + (-c): rules.ADD_CONSTANT with local 1, as __add__ writes it out
        out = self.data - other
        if _recording_everywhere or grad_enabled_here():
            return _node(out, _ADD_CONSTANT, self, 1.0, None, -other)
        return Value(out)

    def __rsub__(self, other: Number) -> Value:
        return _apply_constant(rules.SUBTRACT_FROM_CONSTANT, self, other)

    def __mul__(self, other: Value | Number) -> Value:
        if type(other) is Value:
            x, y = self.data, other.data
            if _recording_everywhere or grad_enabled_here():
                # _node(x * y, rules.MUL, self, y, other, x), written out as in __add__
                node = _new_object(Value)
                node.data = x * y
                node.grad = 0.0
                node._op = _MUL
                node._a = self
                node._da = y
                node._b = other
                node._db = x
                node._extra = frame_here().scope if _scopes_somewhere else None
                node._pending = 0
                return node
            return Value(x * y)
        if type(other) is not float:
            other = _number_or_none(other)
            if other is None:
                return NotImplemented
        if _recording_everywhere or grad_enabled_here():
            return _node(self.data * other, _MUL_CONSTANT, self, other, None, other)
        return Value(self.data * other)

    __rmul__ = __mul__

    def __truediv__(self, other: Value | Number) -> Value:
        if type(other) is Value:
            return _apply2(rules.DIV, self, other)
        c = _number_or_none(other)
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {c!r}")
        return _apply_constant(rules.DIVIDE_BY_CONSTANT, self, c)

    def __rtruediv__(self, other: Number) -> Value:
        return _apply_constant(rules.DIVIDE_CONSTANT, self, other)

    def __pow__(self, exponent: Value | Number) -> Value:
        if type(exponent) is Value:
            return _apply2(rules.POW, self, exponent)
        return _apply_constant(rules.POW_CONSTANT, self, exponent, bind=True)

    def __rpow__(self, base: Number) -> Value:
        return _apply_constant(rules.CONSTANT_TO_POW, self, base, bind=True)

    def __neg__(self) -> Value:
        return _apply1(rules.NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _apply1(rules.ABS, self)

    # --- functions --------------------------------------------------------------------------------
    def exp(self) -> Value:
        return _apply1(rules.EXP, self)

    def log(self) -> Value:
        return _apply1(rules.LOG, self)

    def sqrt(self) -> Value:
        return _apply1(rules.SQRT, self)

    def tanh(self) -> Value:
        return _apply1(rules.TANH, self)

    def sigmoid(self) -> Value:
        return _apply1(rules.SIGMOID, self)

    def relu(self) -> Value:
        # rules.RELU written out, as + and * are: the activation of most hidden layers
        x = self.data
        out = 0.0 if x <= 0.0 else x  # NaN passes through, as in the table
        if _recording_everywhere or grad_enabled_here():
            return _node(out, rules.RELU, self, 1.0 if x > 0.0 else 0.0, None, None)
        return Value(out)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        if _number_or_none(alpha) is None:
            raise TypeError(f"leaky_relu: alpha must be a real number, got {alpha!r}")
        return _apply_constant(rules.LEAKY_RELU, self, alpha)

    def softplus(self) -> Value:
        return _apply1(rules.SOFTPLUS, self)

    def silu(self) -> Value:
        return _apply1(rules.SILU, self)

    def gelu(self) -> Value:
        return _apply1(rules.GELU, self)

    def erf(self) -> Value:
        return _apply1(rules.ERF, self)

    def sin(self) -> Value:
        return _apply1(rules.SIN, self)

    def cos(self) -> Value:
        return _apply1(rules.COS, self)


pickling.Value = Value  # the class whose shells a pickled graph is loaded into


def _data_of(other: Value | Number) -> float:
    if type(other) is Value:
        return other.data
    c = _number_or_none(other)
    if c is None:
        raise TypeError(f"cannot compare a Value with {type(other).__name__} {other!r}")
    return c


def _compared_with_number(op: str, node: Value, other: Any) -> TypeError:
    return TypeError(
        f"{node!r} {op} {other!r}: a Value equals only itself (nodes go in sets and dicts), "
        f"so this would always be {op == '!='}; compare the numbers instead: x.data {op} {other!r}"
    )


def _number_or_none(c: Any) -> float | None:
    """`c` as a float if it is a real number, else None (the operator then defers to Python)."""
    if type(c) is float:
        return c
    if type(c) is int:  # before the slower isinstance test: sum() adds Values to the int 0
        return float(c)
    return float(c) if isinstance(c, Real) else None


# --- making nodes ---------------------------------------------------------------------------------
_new_object = object.__new__
# The rules the inlined operators record, as globals: one lookup instead of two per node.
_ADD, _ADD_CONSTANT = rules.ADD, rules.ADD_CONSTANT
_MUL, _MUL_CONSTANT = rules.MUL, rules.MUL_CONSTANT


def _node(data: float, rule: Rule, a: Value | None, da: Any, b: Any, db: Any) -> Value:
    """A recorded node, its slots set as `Value.__init__` sets them.

    An n-ary node passes no `a`, and its parents and their local derivatives, as tuples, for `b`
    and `db`.

    Skipping the call to `__init__` (which CPython 3.11 makes from C, outside its fast path for
    calls between Python functions) saves about a seventh of the time of `a + b` or `a * b`.
    """
    node = _new_object(Value)
    node.data = data
    node.grad = 0.0
    node._op = rule
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node._extra = frame_here().scope if _scopes_somewhere else None
    node._pending = 0
    return node


def _apply1(rule: Rule, a: Value) -> Value:
    x = a.data
    out = rule.forward(x)
    if _recording_everywhere or grad_enabled_here():
        (da,) = rule.derivatives(out, x)
        return _node(out, rule, a, da, None, None)
    return Value(out)


def _apply2(rule: Rule, a: Value, b: Value) -> Value:
    x, y = a.data, b.data
    out = rule.forward(x, y)
    if _recording_everywhere or grad_enabled_here():
        da, db = rule.derivatives(out, x, y)
        return _node(out, rule, a, da, b, db)
    return Value(out)


def _apply_constant(rule: Rule, a: Value, c: Any, bind: bool = False) -> Value:
    if type(c) is not float:
        c = _number_or_none(c)
        if c is None:
            return NotImplemented
    x = a.data
    out = rule.forward(x, c)
    if _recording_everywhere or grad_enabled_here():
        (da,) = rule.derivatives(out, x, c)
        return _node(out, rule.bind(c) if bind else rule, a, da, None, c)
    return Value(out)


def _apply_n(rule: Rule, nodes: tuple) -> Value:
    datas = tuple(node.data for node in nodes)
    out = rule.forward(*datas)
    if _recording_everywhere or grad_enabled_here():
        return _n_ary_node(out, rule, nodes, rule.derivatives(out, *datas))
    return Value(out)


def _as_values(items: Iterable[Value | Number], what: str) -> tuple:
    nodes = []
    for item in items:
        if type(item) is Value:
            nodes.append(item)
        else:
            nodes.append(Value(_to_float(item, what)))
    return tuple(nodes)


def sum_values(values: Iterable[Value | Number]) -> Value:
    """The sum of many values as one node (one parent per term), exact to the last bit (fsum).

    >>> sum_values([Value(1.0), Value(2.0), 3.0]).data
    6.0
    """
    nodes = _as_values(values, "sum_values")
    if not nodes:
        raise ValueError("sum_values: needs at least one value")
    return _apply_n(rules.SUM, nodes)


def max_values(values: Iterable[Value | Number]) -> Value:
    """The largest of many values as one node; the derivative goes to the first largest one.

    A choice written as a node is part of the graph, so a tape (`autograd.trace`) replays it for
    every input, where `max()` over Values would be a Python decision it can only guard.

    >>> m = max_values([Value(1.0), Value(3.0), 2.0])
    >>> m.backward()
    >>> m.data, [round(p.grad, 1) for p in m.parents]
    (3.0, [0.0, 1.0, 0.0])
    """
    nodes = _as_values(values, "max_values")
    if not nodes:
        raise ValueError("max_values: needs at least one value")
    return _apply_n(rules.MAX, nodes)


def dot(weights: Sequence[Value | Number], inputs: Sequence[Value | Number]) -> Value:
    """The dot product w . x as one node, as a neuron computes before its bias and activation.

    When every weight is a `Value` and every input a number (a first layer fed with data), the
    inputs are not made into nodes: only the weights are parents.

    >>> dot([Value(2.0), Value(3.0)], [1.0, -1.0]).data
    -1.0
    """
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    if not weights:
        raise ValueError("dot: needs at least one weight")
    weights = tuple(weights)
    if set(map(type, weights)) == _ONLY_VALUES:
        kinds = set(map(type, inputs))
        if kinds == _ONLY_VALUES:  # a hidden layer: both sides are nodes
            inputs = tuple(inputs)
            w_data, x_data = [w.data for w in weights], [x.data for x in inputs]
            try:  # free in CPython 3.11 when nothing is raised; exact_sum would cost a call
                out = math.fsum(map(operator.mul, w_data, x_data))
            except (ValueError, OverflowError):
                out = rules.exact_sum(map(operator.mul, w_data, x_data), "dot")  # names dot
            locals_ = (*x_data, *w_data)  # d/dw_i = x_i, d/dx_i = w_i: rules.DOT, written out
            return _n_ary_node(out, rules.DOT, weights + inputs, locals_)
        if Value not in kinds:  # data fed to a first layer: only the weights are nodes
            constants = tuple(x if type(x) is float else _to_float(x, "dot") for x in inputs)
            w_data = [w.data for w in weights]
            try:
                out = math.fsum(map(operator.mul, w_data, constants))
            except (ValueError, OverflowError):
                out = rules.exact_sum(map(operator.mul, w_data, constants), "dot")
            return _n_ary_node(out, rules.DOT_CONSTANT, weights, constants)
    return _apply_n(rules.DOT, _as_values(weights, "dot") + _as_values(inputs, "dot"))


_ONLY_VALUES = {Value}


def matvec(
    rows: Sequence[Sequence[Value | Number]], inputs: Sequence[Value | Number]
) -> list[Value]:
    """The dot product of each row with `inputs`, one `dot` node each, as a layer computes W x.

    The same nodes as `[dot(row, inputs) for row in rows]`, with the work on `inputs` (checking
    them, reading their numbers) done once instead of once per row.

    >>> x = [Value(3.0), Value(1.0)]
    >>> [y.data for y in matvec([[Value(1.0), Value(2.0)], [Value(0.0), Value(-1.0)]], x)]
    [5.0, -1.0]
    """
    inputs = tuple(inputs)
    if set(map(type, inputs)) != _ONLY_VALUES or not (_recording_everywhere or grad_enabled_here()):
        return [dot(row, inputs) for row in rows]
    x_data = [x.data for x in inputs]
    x_locals, n, fsum, mul = tuple(x_data), len(inputs), math.fsum, operator.mul
    outputs = []
    for row in rows:
        row = tuple(row)
        if len(row) != n or set(map(type, row)) != _ONLY_VALUES:
            outputs.append(dot(row, inputs))  # dot says what is wrong, or takes the mixture
            continue
        w_data = [w.data for w in row]
        try:
            out = fsum(map(mul, w_data, x_data))
        except (ValueError, OverflowError):
            out = rules.exact_sum(map(mul, w_data, x_data), "dot")
        outputs.append(_node(out, rules.DOT, None, None, row + inputs, x_locals + tuple(w_data)))
    return outputs


def _n_ary_node(out: float, rule: Rule, parents: tuple, locals_: tuple) -> Value:
    if not (_recording_everywhere or grad_enabled_here()):
        return Value(out)
    return _node(out, rule, None, None, parents, locals_)


def _specialize_the_sweeps() -> None:
    """Call the sweeps a few times on a tiny graph, at import, before any user graph reaches them.

    CPython 3.11 specializes a function's bytecode for the types it meets only from the function's
    eighth call on; until then every node goes through the generic instructions. Without this, the
    first seven `backward()` calls of a program (often its only ones, on its largest graph) take
    about twice as long as later ones (the benchmark's "first backward()" row measures it).
    """
    x = Value(0.5)
    y = dot([x, x * x], [x + 1.0, x]).tanh()
    for _ in range(8):
        backpropagate(y)
        adjoints(y)


_specialize_the_sweeps()
