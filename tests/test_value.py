"""What a user sees of a Value: construction, errors, printing, comparisons, no_grad, detach."""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import UNARY_CALLS, reals

from autograd import Value, dot, is_grad_enabled, no_grad, sum_values


# --- construction and inspection ------------------------------------------------------------------
@pytest.mark.parametrize("number", [3, -2.5, Fraction(1, 4)])
def test_any_real_number_is_stored_as_a_float(number):
    v = Value(number)
    assert type(v.data) is float and v.data == number


@pytest.mark.parametrize("data", ["a", None, [1], 1 + 2j])
def test_non_real_data_is_a_type_error_naming_value_and_the_input(data):
    with pytest.raises(TypeError) as error:
        Value(data)
    assert "Value" in str(error.value) and repr(data) in str(error.value)


def test_a_leaf_has_no_parents_op_or_rule():
    x = Value(2.0, label="x")
    assert (x.parents, x.local_derivatives, x.op, x.rule) == ((), (), "", None)
    assert (x.grad, x.label) == (0.0, "x")


def test_a_node_records_its_parents_local_derivatives_and_op():
    x, y = Value(2.0), Value(5.0)
    z = x * y
    assert z.parents == (x, y)
    assert z.local_derivatives == (5.0, 2.0)
    assert (z.op, z.rule.name) == ("*", "mul")
    w = 3 * x
    assert w.parents == (x,) and w.local_derivatives == (3.0,)


def test_repr_shows_data_and_grad_then_the_label_when_set():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    x = Value(2.0, label="x")
    (x * 3).backward()
    assert repr(x) == "Value(data=2.0, grad=3.0, label='x')"


@given(reals())
def test_float_and_item_give_the_data_as_a_plain_float(x):
    v = Value(x)
    assert type(float(v)) is float and float(v) == x
    assert type(v.item()) is float and v.item() == x


def test_format_spec_formats_the_data():
    assert f"{Value(2.0):.3f}" == "2.000"


def test_unary_plus_returns_the_same_node():
    x = Value(1.0)
    assert +x is x


# --- equality, hashing, ordering ------------------------------------------------------------------
def test_equality_and_hash_are_by_identity_so_values_go_in_sets_and_dicts():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b
    assert len({a, b, a}) == 2
    grads = {a: "first", b: "second"}
    assert grads[a] == "first" and grads[b] == "second"


@given(reals(), reals())
def test_ordering_compares_data_and_returns_plain_bools(x, y):
    a, b = Value(x), Value(y)
    results = [a < b, a <= b, a > b, a >= b, a < y, x <= b, a > y, x >= b]
    assert all(type(r) is bool for r in results)
    assert results == [x < y, x <= y, x > y, x >= y] * 2


def test_sorting_values_orders_them_by_data():
    values = [Value(3.0), Value(-1.0), Value(2.0)]
    assert [v.data for v in sorted(values)] == [-1.0, 2.0, 3.0]
    assert max(values).data == 3.0


@pytest.mark.parametrize(
    "operation",
    [
        lambda v: v < "a",
        lambda v: v + "a",
        lambda v: "a" + v,
        lambda v: v - None,
        lambda v: None - v,
        lambda v: v * [1],
        lambda v: v / "a",
        lambda v: "a" / v,
        lambda v: v ** "a",
        lambda v: "a" ** v,
    ],
)
def test_operators_with_a_non_number_raise_type_error(operation):
    with pytest.raises(TypeError):
        operation(Value(2.0))


# --- bad input ------------------------------------------------------------------------------------
INF, BIG = Value(math.inf), Value(1e308)


@pytest.mark.parametrize(
    "call, error, op, value",
    [
        (lambda: Value(0.0).log(), ValueError, "log", "0.0"),
        (lambda: Value(-2.5).log(), ValueError, "log", "-2.5"),
        (lambda: Value(-1.5).sqrt(), ValueError, "sqrt", "-1.5"),
        (lambda: Value(-2.0) ** 0.5, ValueError, "pow", "-2.0"),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, "pow", "-8.0"),
        (lambda: Value(-2.0) ** Value(0.5), ValueError, "pow", "-2.0"),
        (lambda: (-2.0) ** Value(0.5), ValueError, "pow", "-2.0"),
        (lambda: Value(1.5) / 0, ZeroDivisionError, "division", "1.5 / 0.0"),
        (lambda: Value(1.5) / Value(0.0), ZeroDivisionError, "division", "1.5 / 0.0"),
        (lambda: 3 / Value(0.0), ZeroDivisionError, "division", "3.0 / 0.0"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, "pow", "0.0"),
        (lambda: Value(0.0) ** Value(-2.0), ZeroDivisionError, "pow", "0.0"),
        (lambda: Value(1000.0).exp(), OverflowError, "exp", "1000.0"),
        (lambda: Value(1.0).leaky_relu("a"), TypeError, "leaky_relu", "'a'"),
        (lambda: sum_values([]), ValueError, "sum_values", ""),
        (lambda: sum_values([Value(1.0), "a"]), TypeError, "sum_values", "'a'"),
        (lambda: dot([Value(1.0)], [1.0, 2.0]), ValueError, "dot", "1 weights but 2 inputs"),
        (lambda: dot([Value(1.0)], [None]), TypeError, "dot", "None"),
        (lambda: sum_values([INF, -INF]), ValueError, "sum_values", "inf and -inf"),
        (lambda: sum_values([BIG, BIG]), OverflowError, "sum_values", "too large"),
        (lambda: dot([INF, Value(1.0)], [1.0, -math.inf]), ValueError, "dot", "inf and -inf"),
        (lambda: dot([INF, Value(1.0)], [Value(1.0), -INF]), ValueError, "dot", "inf and -inf"),
        (lambda: dot([BIG, BIG], [Value(1.0), Value(1.0)]), OverflowError, "dot", "too large"),
        (lambda: dot([BIG, Value(1.0)], [Value(2.0), None]), TypeError, "dot", "None"),
    ],
)
def test_bad_input_raises_the_math_modules_error_naming_the_operation_and_value(
    call, error, op, value
):
    with pytest.raises(error) as raised:
        call()
    assert op in str(raised.value) and value in str(raised.value)


def test_domain_errors_are_raised_under_no_grad_too():
    with no_grad(), pytest.raises(ValueError, match="log"):
        Value(-1.0).log()


# --- extreme and non-finite input -----------------------------------------------------------------
# op -> (f, f') at -inf, then at +inf; None where f(x) tends to x itself
LIMITS = {
    "tanh": ((-1.0, 0.0), (1.0, 0.0)),
    "sigmoid": ((0.0, 0.0), (1.0, 0.0)),
    "softplus": ((0.0, 0.0), (None, 1.0)),
    "silu": ((0.0, 0.0), (None, 1.0)),
    "gelu": ((0.0, 0.0), (None, 1.0)),
}


@pytest.mark.parametrize("op", sorted(LIMITS))
@pytest.mark.parametrize("x", [-1e4, -1e3, 1e3, 1e4])
def test_saturating_ops_do_not_overflow_and_reach_their_limits(op, x):
    v = Value(x)
    out = getattr(v, op)()
    out.backward()
    value, slope = LIMITS[op][x > 0]
    expected = x if value is None else value  # None: f(x) -> x
    assert math.isclose(out.data, expected, rel_tol=1e-15, abs_tol=1e-300)
    assert math.isclose(v.grad, slope, abs_tol=1e-300)


CALLS = {**UNARY_CALLS, "leaky_relu": lambda v: v.leaky_relu(0.1)}


@pytest.mark.parametrize("op", sorted(CALLS))
def test_nan_propagates_through_every_function_without_an_error(op):
    x = Value(math.nan)
    out = CALLS[op](x)
    out.backward()
    assert math.isnan(out.data)


@pytest.mark.parametrize(
    "f",
    [
        lambda v: v + 1,
        lambda v: 2 - v,
        lambda v: v * Value(3.0),
        lambda v: v / Value(2.0),
        lambda v: 1 / v,
        lambda v: v**2,
        lambda v: 2**v,
        lambda v: v ** Value(2.0),
        lambda v: sum_values([v, 1.0]),
        lambda v: dot([v], [2.0]),
    ],
)
def test_nan_propagates_through_operators(f):
    assert math.isnan(f(Value(math.nan)).data)


@pytest.mark.parametrize(
    "f, x, expected",
    [
        (lambda v: v + 1, math.inf, math.inf),
        (lambda v: v.exp(), math.inf, math.inf),
        (lambda v: v.exp(), -math.inf, 0.0),
        (lambda v: v.log(), math.inf, math.inf),
        (lambda v: v.tanh(), -math.inf, -1.0),
        (lambda v: v.sigmoid(), math.inf, 1.0),
        (lambda v: v.softplus(), math.inf, math.inf),
        (lambda v: 1 / v, math.inf, 0.0),
    ],
)
def test_infinities_propagate_as_python_floats_do(f, x, expected):
    assert f(Value(x)).data == expected


def _finite(low: float | None = None, high: float | None = None) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# Each function on every finite float where it is defined (exp up to where e**x overflows).
WHOLE_DOMAINS = {op: _finite() for op in CALLS}
WHOLE_DOMAINS.update(exp=_finite(high=709.0), log=_finite(low=5e-324), sqrt=_finite(low=0.0))


@pytest.mark.parametrize("op", sorted(WHOLE_DOMAINS))
@given(data=st.data())
def test_no_function_makes_a_nan_from_a_finite_input_in_its_domain(op, data):
    v = Value(data.draw(WHOLE_DOMAINS[op]))
    out = CALLS[op](v)
    out.backward()
    assert not math.isnan(out.data) and not math.isnan(v.grad)


# --- no_grad and detach ---------------------------------------------------------------------------
def test_no_grad_results_are_constants_with_no_parents():
    x = Value(2.0)
    with no_grad():
        y = (x * 3).tanh() + x
    assert (y.parents, y.op) == ((), "")
    assert y.data == math.tanh(6.0) + 2.0
    y.backward()
    assert x.grad == 0.0


def test_no_grad_nests_and_restores_recording_only_when_the_outer_block_ends():
    assert is_grad_enabled()
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) + 1).parents == ()
    assert is_grad_enabled()
    assert len((Value(1.0) + 1).parents) == 1


def test_no_grad_restores_recording_after_an_exception():
    with pytest.raises(ValueError):
        with no_grad():
            with no_grad():
                Value(-1.0).log()
    assert is_grad_enabled()
    x = Value(1.0)
    assert (x * 2).parents == (x,)


def test_detach_is_a_constant_copy_that_gradients_do_not_flow_through():
    x = Value(3.0, label="x")
    c = x.detach()
    assert c is not x and (c.data, c.label, c.parents) == (3.0, "x", ())
    (c * x).backward()
    assert x.grad == 3.0 and c.grad == 3.0


def test_zero_grad_resets_the_gradient():
    x = Value(3.0)
    (x * x).backward()
    x.zero_grad()
    assert x.grad == 0.0
