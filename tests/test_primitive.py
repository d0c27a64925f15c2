"""autograd.primitive: a user's operation works wherever a built-in rule does."""

from __future__ import annotations

import io
import math
import pickle
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import (
    Value,
    explain,
    grad,
    gradcheck,
    gradgradcheck,
    hessian,
    jacfwd,
    jvp,
    primitive,
    sum_values,
    trace,
)
from autograd.primitives import rule_of
from autograd.rules import exp_of

np = pytest.importorskip("numpy")

log1p = primitive(
    math.log1p,
    lambda out, x: (1 / (1 + x),),
    name="log1p",
    array_forward=lambda np, x: np.log1p(x),
    array_derivatives=lambda np, out, x: (1 / (1 + x),),
)
# the same operation without array forms: a tape runs it entry by entry
log1p_slow = primitive(math.log1p, lambda out, x: (1 / (1 + x),), name="log1p_slow")


def _logsumexp_array(np, xs):
    top = xs[0]
    for x in xs[1:]:
        top = np.maximum(top, x)
    return top + np.log(sum(np.exp(x - top) for x in xs))


@primitive(
    derivatives=lambda out, *xs: tuple(exp_of(x - out) for x in xs),
    array_forward=lambda np, *xs: _logsumexp_array(np, xs),
    array_derivatives=lambda np, out, *xs: tuple(np.exp(x - out) for x in xs),
)
def logsumexp(*xs: float) -> float:
    top = max(xs)
    return top + math.log(sum(math.exp(x - top) for x in xs))


# derivatives written with math: first derivatives only
math_sin = primitive(math.sin, lambda out, x: (math.cos(x),), name="math_sin")
# a straight-through estimator: round forward, identity backward
ste_round = primitive(round, lambda out, x: (1.0,), name="ste_round")


# --- random graphs mixing primitives and built-in rules ---------------------------------------
UNARY = {
    "log1p": lambda a: log1p(a * a),
    "log1p_slow": lambda a: log1p_slow(a.softplus()),
    "tanh": Value.tanh,
    "sin": Value.sin,
    "math_sin": math_sin,
}
BINARY = {"lse2": logsumexp, "mul": lambda a, b: a * b, "add": lambda a, b: a + b}
TERNARY = {"lse3": logsumexp}


@st.composite
def mixed_graphs(draw, second_order: bool = False):
    """(steps, point): each step an operation on earlier nodes; the output sums every node."""
    unary = [name for name in UNARY if not (second_order and name == "math_sin")]
    n_inputs = draw(st.integers(1, 3))
    steps = []
    for k in range(draw(st.integers(1, 6))):
        available = n_inputs + k
        arity = draw(st.sampled_from([1, 2, 3]))
        names = {1: unary, 2: list(BINARY), 3: list(TERNARY)}[arity]
        operands = tuple(draw(st.integers(0, available - 1)) for _ in range(arity))
        steps.append((draw(st.sampled_from(names)), operands))
    point = draw(st.lists(st.floats(-1.5, 1.5), min_size=n_inputs, max_size=n_inputs))
    return steps, point


def run(steps, xs):
    nodes = list(xs)
    table = {**UNARY, **BINARY, **TERNARY}
    for name, operands in steps:
        nodes.append(table[name](*(nodes[i] for i in operands)))
    return sum_values(nodes[len(xs) :]) * 0.5


def _close(a: float, b: float, tol: float = 1e-10) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@settings(max_examples=30, deadline=None)
@given(mixed_graphs())
def test_eager_forward_mode_and_tape_agree_on_random_graphs(drawn):
    steps, point = drawn
    f = lambda *xs: run(steps, xs)  # noqa: E731
    argnums = tuple(range(len(point)))
    eager = grad(f, argnums=argnums)(*point)
    forward = jacfwd(f)(*point)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # log1p_slow's entry-by-entry warning
        tape = trace(f, *point)
        taped_value, taped_grad = tape.value_and_grad(*point)
        batch = tape(*[np.array([x, x * 0.5]) for x in point])
    assert _close(taped_value, f(*[Value(x) for x in point]).data)
    for a, b, c in zip(eager, forward, taped_grad):
        assert _close(a, b) and _close(a, c)
    assert _close(float(batch[1]), f(*[Value(x * 0.5) for x in point]).data)


@settings(max_examples=25, deadline=None)
@given(mixed_graphs(second_order=True))
def test_first_and_second_derivatives_match_finite_differences(drawn):
    steps, point = drawn
    f = lambda *xs: run(steps, xs)  # noqa: E731
    assert gradcheck(f, point)
    assert gradgradcheck(f, point)


# --- the forms and what they give ------------------------------------------------------------
def test_decorator_and_call_forms_name_the_operation():
    assert logsumexp.__name__ == "logsumexp" and logsumexp.rule.arity is None
    assert log1p.__name__ == "log1p" and log1p.__module__ == __name__
    assert log1p.rule.arity == 1 and Value(1.0).__class__ is Value
    assert logsumexp(Value(0.0), 0.0).op == "logsumexp"


def test_numbers_in_give_a_float_out():
    assert log1p(1.0) == math.log1p(1.0)
    assert logsumexp(0.0, 0.0) == pytest.approx(math.log(2.0))


def test_numbers_beside_values_become_constant_leaves():
    x = Value(0.5)
    y = logsumexp(x, 1.0, 2.0)
    y.backward()
    assert len(y.parents) == 3 and y.parents[1].data == 1.0
    assert x.grad == pytest.approx(math.exp(0.5 - y.data))


def test_straight_through_estimator_passes_the_gradient_unchanged():
    assert grad(lambda x: 3 * ste_round(x))(1.3) == 3.0
    assert ste_round(Value(1.3)).data == 1.0
    assert hessian(lambda x: ste_round(x) * x)(1.3) == [[2.0]]


def test_second_derivative_through_math_derivatives_is_refused_naming_it():
    assert grad(math_sin)(0.5) == math.cos(0.5)
    with pytest.raises(TypeError, match="math_sin: its derivatives called float"):
        grad(grad(math_sin))(0.5)


def test_forward_mode_matches_reverse_mode():
    value, slope = jvp(lambda x, y: logsumexp(x, log1p(y)), (0.3, 0.7), (1.0, -2.0))
    g = grad(lambda x, y: logsumexp(x, log1p(y)), argnums=(0, 1))(0.3, 0.7)
    assert slope == pytest.approx(g[0] - 2.0 * g[1], rel=1e-12)
    assert value == pytest.approx(logsumexp(0.3, math.log1p(0.7)))


def test_explain_shows_the_symbol_and_the_formula_or_a_name():
    x = Value(0.5, label="x")
    text = io.StringIO()
    explain(log1p(x) * math_sin(x), file=text)
    text = text.getvalue()
    assert "log1p(x)" in text and "1 / (1 + x)" in text
    assert "math_sin(x)" in text and "dn2/dx" in text


def test_symbol_is_what_graphs_show():
    cube = primitive(lambda x: x**3, lambda out, x: (3 * x * x,), name="cube", symbol="³")
    assert cube(Value(2.0)).op == "³"


# --- errors -----------------------------------------------------------------------------------
def test_wrong_number_of_derivatives_is_refused_when_made():
    with pytest.raises(ValueError, match="twice: derivatives must return one .* tuple of 1"):
        primitive(math.sin, lambda out, x: (1.0, 2.0), name="twice")
    with pytest.raises(ValueError, match="lse_bad: derivatives .* tuple of 2"):
        primitive(lambda *xs: sum(xs), lambda out, *xs: (1.0,), name="lse_bad")


def test_array_forms_that_disagree_or_miscount_are_refused_when_made():
    with pytest.raises(ValueError, match="bad_array: array_forward gives"):
        primitive(math.sin, lambda out, x: (1.0,), name="bad_array",
                  array_forward=lambda np, x: np.cos(x))  # fmt: skip
    with pytest.raises(ValueError, match="bad_count: array_derivatives must return"):
        primitive(math.exp, lambda out, x: (out,), name="bad_count",
                  array_derivatives=lambda np, out, x: (out, out))  # fmt: skip


def test_a_wrong_count_at_a_point_the_probe_missed_is_refused_at_use():
    odd = primitive(lambda x: x, lambda out, x: (1.0,) if x > -10 else (), name="odd")
    with pytest.raises(ValueError, match="odd: derivatives must return"):
        odd(Value(-20.0))


def test_forward_keeps_the_math_modules_exceptions_with_the_name():
    with pytest.raises(ValueError, match=r"log1p\(-2.0\): math domain error"):
        log1p(Value(-2.0))
    my_exp = primitive(math.exp, lambda out, x: (out,), name="my_exp")
    with pytest.raises(OverflowError, match="my_exp"):
        my_exp(Value(1000.0))
    inverse = primitive(lambda x: 1 / x, lambda out, x: (-out * out,), name="inverse")
    with pytest.raises(ZeroDivisionError, match="inverse"):
        inverse(Value(0.0))


def test_tape_raises_as_the_eager_engine_with_the_example():
    tape = trace(lambda x: log1p(x), 0.5)
    with pytest.raises(ValueError, match=r"log1p\(-2.0\): math domain error \(example 1"):
        tape(np.array([0.5, -2.0]))


def test_bad_names_and_calls_are_refused():
    with pytest.raises(ValueError, match="built-in"):
        primitive(math.exp, lambda out, x: (out,), name="exp")
    with pytest.raises(TypeError, match="lambda forward needs name"):
        primitive(lambda x: x, lambda out, x: (1.0,))
    with pytest.raises(ValueError, match="identifier"):
        primitive(math.exp, lambda out, x: (out,), name="my exp")
    with pytest.raises(TypeError, match="log1p: takes 1 inputs, got 2"):
        log1p(Value(1.0), 2.0)
    with pytest.raises(TypeError, match="log1p: expected a Value or a real number"):
        log1p("a")
    with pytest.raises(TypeError, match="derivatives"):
        primitive(math.exp)


def test_a_tape_without_array_forms_warns_once_per_primitive():
    slow = primitive(math.atan, lambda out, x: (1 / (1 + x * x),), name="slow_atan")
    tape = trace(lambda x: slow(x), 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tape.value_and_grad(np.array([0.5, 1.0]))
        result = tape.value_and_grad(np.array([0.5, 1.0]))
    assert [str(w.message).startswith("slow_atan: a tape runs") for w in caught] == [True]
    assert result[1][0][1] == pytest.approx(0.5)


# --- identity and pickling -----------------------------------------------------------------------
def test_rules_pickle_by_their_importable_name():
    assert pickle.loads(pickle.dumps(log1p.rule)) is log1p.rule
    assert pickle.loads(pickle.dumps(logsumexp.rule)) is logsumexp.rule
    assert rule_of(__name__, "log1p") is log1p.rule


def test_a_primitive_not_importable_by_name_is_refused_by_pickle():
    local = primitive(math.atan, lambda out, x: (1 / (1 + x * x),), name="local_atan")
    with pytest.raises(pickle.PicklingError, match="local_atan.*not importable"):
        pickle.dumps(local.rule)


# --- against PyTorch ----------------------------------------------------------------------------
def test_log1p_and_logsumexp_match_torch_in_float64():
    torch = pytest.importorskip("torch")
    xs = [0.3, -0.4, 1.7]
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    (torch.log1p(t[0] * t[0]) * torch.logsumexp(t, 0)).backward()
    ours = grad(lambda a, b, c: log1p(a * a) * logsumexp(a, b, c), argnums=(0, 1, 2))(*xs)
    assert ours == pytest.approx(t.grad.tolist(), rel=1e-12)
    second = torch.autograd.functional.hessian(
        lambda t: torch.log1p(t[0]), torch.tensor(xs[:1], dtype=torch.float64)
    )
    assert hessian(log1p)(xs[0])[0][0] == pytest.approx(second.item(), rel=1e-12)


def test_a_tape_on_torch_tensors_runs_primitives_with_and_without_array_forms():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tape = trace(lambda x: log1p(x) + log1p_slow(x), 0.5)
        on_numpy = tape(np.array([0.5, 1.0]))
        on_torch = tape(torch.tensor([0.5, 1.0], dtype=torch.float64))
    assert on_torch.tolist() == pytest.approx(on_numpy.tolist(), rel=1e-15)


def test_a_derivative_undefined_at_a_sample_point_moves_the_probe_on():
    # d/dx sqrt(|x - 0.5|) is undefined at the first sample point, 0.5
    root = primitive(
        lambda x: abs(x - 0.5) ** 0.5,
        lambda out, x: ((1 if x > 0.5 else -1) / (2 * out),),
        name="root_at_half",
    )
    assert grad(root)(1.5) == pytest.approx(0.5)
