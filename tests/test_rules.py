"""Every rule of the table: forward against the math, derivatives against central differences."""

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    UNARY_CALLS,
    UNARY_DOMAINS,
    alphas,
    away_from_zero,
    central_difference,
    close_to_difference,
    exponents,
    positive_bases,
    reals,
)

from autograd import Value, dot, max_values, no_grad, rules, sum_values


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# The textbook formulas, accurate inside UNARY_DOMAINS; the engine may compute them differently.
UNARY_REFERENCES: dict[str, Callable[[float], float]] = {
    "neg": operator.neg,
    "abs": abs,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": lambda x: math.expm1(2 * x) / (math.expm1(2 * x) + 2),
    "sigmoid": _sigmoid,
    "relu": lambda x: max(x, 0.0),
    "softplus": lambda x: math.log1p(math.exp(x)),
    "silu": lambda x: x * _sigmoid(x),
    # x Phi(x), Phi = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2: the erfc form keeps every
    # digit far into the left tail, where 1 + erf cancels (7 digits left at x = -6).
    "gelu": lambda x: x * 0.5 * math.erfc(-x / math.sqrt(2.0)),
    "erf": math.erf,
    "sin": math.sin,
    "cos": math.cos,
}


@dataclass(frozen=True)
class Case:
    """One way to call an operation, and the rule that call must make."""

    id: str
    rule: str
    apply: Callable[..., Value]  # takes a Value or a number in each position
    reference: Callable[..., float]  # the same on floats, by the textbook formula
    args: st.SearchStrategy  # lists of (x, is_a_value) pairs


def _args(*positions: tuple[st.SearchStrategy, bool]) -> st.SearchStrategy:
    return st.tuples(*(st.tuples(domain, st.just(is_value)) for domain, is_value in positions))


def _sum_args() -> st.SearchStrategy:
    return st.lists(st.tuples(reals(), st.booleans()), min_size=1, max_size=6)


def _max_args() -> st.SearchStrategy:
    """Distinct values at least 0.5 apart, so a central difference never crosses a tie."""
    halves = st.lists(st.integers(-20, 20), min_size=1, max_size=6, unique=True)
    return halves.flatmap(
        lambda ns: st.tuples(*(st.tuples(st.just(n / 2), st.booleans()) for n in ns))
    )


def _dot_args(constant_inputs: bool = False) -> st.SearchStrategy:
    """n weights then n inputs. With constant_inputs, Value weights and number inputs (the
    dot_constant rule); otherwise any mix, with the first input a Value (the general dot rule)."""

    def draw(n: int) -> st.SearchStrategy:
        if constant_inputs:
            flags = [st.just(True)] * n + [st.just(False)] * n
        else:
            flags = [st.booleans()] * n + [st.just(True)] + [st.booleans()] * (n - 1)
        return st.tuples(*(st.tuples(reals(-3, 3), flag) for flag in flags))

    return st.integers(1, 4).flatmap(draw)


def _dot_reference(*xs: float) -> float:
    n = len(xs) // 2
    return math.fsum(w * x for w, x in zip(xs[:n], xs[n:]))


def _binary_cases(symbol, op, rules_by_form, domains) -> list[Case]:
    """`op` as Value-Value, Value-number and number-Value: rules_by_form names the three rules."""
    forms = {
        f"x{symbol}y": (True, True),
        f"x{symbol}c": (True, False),
        f"c{symbol}x": (False, True),
    }
    return [
        Case(name, rule, op, op, _args(*zip(domains, form)))
        for rule, (name, form) in zip(rules_by_form, forms.items(), strict=True)
    ]


CASES: list[Case] = [
    *(
        Case(name, name, UNARY_CALLS[name], UNARY_REFERENCES[name], _args((domain, True)))
        for name, domain in UNARY_DOMAINS.items()
    ),
    *_binary_cases("+", operator.add, ["add", "add_constant", "add_constant"], [reals()] * 2),
    *_binary_cases(
        "-", operator.sub, ["sub", "add_constant", "subtract_from_constant"], [reals()] * 2
    ),
    *_binary_cases("*", operator.mul, ["mul", "mul_constant", "mul_constant"], [reals()] * 2),
    *_binary_cases(
        "/",
        operator.truediv,
        ["div", "divide_by_constant", "divide_constant"],
        [reals(), away_from_zero()],
    ),
    *_binary_cases(
        "**", operator.pow, ["pow", "pow_constant", "constant_to_pow"], [positive_bases, exponents]
    ),
    # A negative base is fine with an integer exponent.
    Case(
        "x**n",
        "pow_constant",
        operator.pow,
        operator.pow,
        _args((away_from_zero(0.1, 5.0), True), (st.integers(-3, 4), False)),
    ),
    Case(
        "leaky_relu",
        "leaky_relu",
        Value.leaky_relu,
        lambda x, alpha: x if x > 0 else alpha * x,
        _args((away_from_zero(), True), (alphas, False)),
    ),
    Case("sum_values", "sum", lambda *xs: sum_values(xs), lambda *xs: math.fsum(xs), _sum_args()),
    Case("max_values", "max", lambda *xs: max_values(xs), lambda *xs: max(xs), _max_args()),
    Case(
        "dot",
        "dot",
        lambda *xs: dot(xs[: len(xs) // 2], xs[len(xs) // 2 :]),
        _dot_reference,
        _dot_args(),
    ),
    Case(
        "dot with constant inputs",
        "dot_constant",
        lambda *xs: dot(xs[: len(xs) // 2], xs[len(xs) // 2 :]),
        _dot_reference,
        _dot_args(constant_inputs=True),
    ),
]


def _case_id(case: Case) -> str:
    return case.id


def _wrap(xs, args) -> list:
    return [Value(x) if is_value else x for x, (_, is_value) in zip(xs, args)]


def _evaluate(case: Case, args) -> Callable[[list[float]], float]:
    def f(xs: list[float]) -> float:
        with no_grad():
            return case.apply(*_wrap(xs, args)).data

    return f


def test_every_rule_in_the_table_is_checked():
    table = {rule.name for rule in vars(rules).values() if isinstance(rule, rules.Rule)}
    assert table == {case.rule for case in CASES}
    assert set(rules.UNARY_RULES) == set(UNARY_DOMAINS)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@given(data=st.data())
def test_forward_matches_the_textbook_formula(case, data):
    args = data.draw(case.args)
    xs = [x for x, _ in args]
    out = case.apply(*_wrap(xs, args))
    assert out.rule.name == case.rule
    assert math.isclose(out.data, case.reference(*xs), rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@given(data=st.data())
def test_derivative_matches_central_difference(case, data):
    args = data.draw(case.args)
    xs = [x for x, _ in args]
    inputs = _wrap(xs, args)
    out = case.apply(*inputs)
    out.backward()
    for i, node in enumerate(inputs):
        if isinstance(node, Value):
            difference = central_difference(_evaluate(case, args), xs, i)
            assert close_to_difference(node.grad, difference, scale=abs(out.data)), (i, node)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@given(data=st.data())
def test_derivative_rule_on_values_gives_the_same_numbers_as_on_floats(case, data):
    args = data.draw(case.args)
    xs = [x for x, _ in args]
    as_floats, as_values = _wrap(xs, args), _wrap(xs, args)
    case.apply(*as_floats).backward()
    case.apply(*as_values).backward(create_graph=True)
    for float_node, value_node in zip(as_floats, as_values):
        if isinstance(float_node, Value):
            assert math.isclose(float(value_node.grad), float_node.grad, rel_tol=1e-12)


@pytest.mark.parametrize(
    "f, x, value, derivative",
    [
        (Value.relu, 0.0, 0.0, 0.0),
        (abs, 0.0, 0.0, 0.0),
        (Value.sqrt, 0.0, 0.0, math.inf),
        (lambda v: v**0.5, 0.0, 0.0, math.inf),
        (lambda v: v**0, 0.0, 1.0, 0.0),
        (lambda v: v**1, 0.0, 0.0, 1.0),
        (lambda v: v**2, 0.0, 0.0, 0.0),
        (lambda v: 0.0**v, 2.0, 0.0, 0.0),
        (lambda v: v ** Value(0.0), 0.0, 1.0, 0.0),
    ],
    ids=["relu", "abs", "sqrt", "x**0.5", "x**0", "x**1", "x**2", "0**x", "x**Value(0)"],
)
def test_derivatives_at_kinks_and_edges_follow_the_convention(f, x, value, derivative):
    node = Value(x)
    out = f(node)
    out.backward()
    assert (out.data, node.grad) == (value, derivative)


@given(alpha=alphas)
def test_leaky_relu_slope_at_zero_is_alpha_as_in_pytorch(alpha):
    x = Value(0.0)
    out = x.leaky_relu(alpha)
    out.backward()
    assert (out.data, x.grad) == (0.0, alpha)


@given(exponent=reals(0.1, 3.0))
def test_derivative_of_value_power_towards_its_exponent_is_zero_at_base_zero(exponent):
    x, y = Value(0.0), Value(exponent)
    (x**y).backward()
    assert y.grad == 0.0


@pytest.mark.parametrize("x", [-6.09, -8.0, -20.0])
def test_gelu_keeps_full_precision_far_into_the_left_tail(x):
    # Phi(x) for x << 0 from erfc directly; (1 + erf(x / sqrt 2)) / 2 loses digits there, all of
    # them by x = -8.5. The slope Phi(x) + x phi(x) is a difference of two tiny terms, checked
    # against the same erfc form on floats and on Values (second order takes the Value path).
    phi = 0.5 * math.erfc(-x / math.sqrt(2.0))
    density = math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    v = Value(x)
    y = v.gelu()
    y.backward(create_graph=True)
    assert math.isclose(y.data, x * phi, rel_tol=1e-14)
    assert math.isclose(float(v.grad), phi + x * density, rel_tol=1e-12, abs_tol=1e-300)
