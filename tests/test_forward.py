"""Forward mode (jvp, jacfwd): every rule and random graphs against central differences and
reverse mode, second order through both modes; its behaviour and its errors.
test_forward_against_torch.py checks the same against PyTorch's torch.func."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    build,
    central_difference,
    close_to_difference,
    evaluate,
    graphs_with_points,
    reals,
    smooth_around,
)
from test_rules import CASES, Case

from autograd import (
    Value,
    dot,
    grad,
    jacfwd,
    jacobian,
    jvp,
    no_grad,
    rules,
    sum_values,
    value_and_grad,
)
from nn import MLP


def close(ours: float, expected: float, scale: float = 1.0) -> bool:
    """Equal up to rounding: the two modes add the same products in different orders."""
    return math.isclose(ours, expected, rel_tol=1e-9, abs_tol=1e-12 * max(1.0, scale))


# --- every rule of the table ----------------------------------------------------------------------
def rule_function(case: Case, args) -> tuple:
    """The case as a function of its Value operands only (numbers stay fixed), and their point."""
    where = [k for k, (_, is_value) in enumerate(args) if is_value]
    assume(where)  # a sum of numbers alone is no function to differentiate

    def f(*values):
        operands = [x for x, _ in args]
        for k, value in zip(where, values):
            operands[k] = value
        return case.apply(*operands)

    return f, [args[k][0] for k in where]


def test_the_cases_cover_every_rule_of_the_table():
    table = {rule.name for rule in vars(rules).values() if isinstance(rule, rules.Rule)}
    assert {case.rule for case in CASES} == table


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@given(data=st.data())
def test_jvp_of_every_rule_matches_central_differences(case, data):
    args = data.draw(case.args)
    f, point = rule_function(case, args)
    assert f(*map(Value, point)).rule.name == case.rule
    for i in range(len(point)):
        direction = [1.0 if j == i else 0.0 for j in range(len(point))]
        value, slope = jvp(f, point, direction)
        difference = central_difference(lambda xs: evaluate_rule(f, xs), point, i)
        assert close_to_difference(slope, difference, scale=abs(value)), (i, slope, difference)


def evaluate_rule(f, xs: list[float]) -> float:
    with no_grad():
        return f(*map(Value, xs)).data


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@given(data=st.data())
def test_jvp_of_every_rule_is_the_reverse_gradient_dotted_with_the_tangent(case, data):
    args = data.draw(case.args)
    f, point = rule_function(case, args)
    tangent = data.draw(st.lists(reals(-1, 1), min_size=len(point), max_size=len(point)))
    value, slope = jvp(f, point, tangent)
    f_value, gradient = value_and_grad(f, argnums=tuple(range(len(point))))(*point)
    terms = [g * t for g, t in zip(gradient, tangent)]
    assert value == f_value
    assert close(slope, math.fsum(terms), scale=sum(map(abs, terms)))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@given(data=st.data())
def test_second_derivatives_of_every_rule_agree_through_both_mixed_modes(case, data):
    args = data.draw(case.args)
    f, point = rule_function(case, args)
    tangent = data.draw(st.lists(reals(-1, 1), min_size=len(point), max_size=len(point)))
    every = tuple(range(len(point)))
    hessian_rows = jacobian(lambda *x: list(grad(f, argnums=every)(*x)))(*point)  # reverse^2
    expected = [math.fsum(h * t for h, t in zip(row, tangent)) for row in hessian_rows]
    forward_over_reverse = jvp(grad(f, argnums=every), point, tangent)[1]
    reverse_over_forward = grad(lambda *x: jvp(f, x, tangent)[1], argnums=every)(*point)
    scale = max([1.0, *(abs(h) for row in hessian_rows for h in row)])
    for i in range(len(point)):
        assert close(forward_over_reverse[i], expected[i], scale), i
        assert close(reverse_over_forward[i], expected[i], scale), i


# --- random graphs --------------------------------------------------------------------------------
def output_of(graph):
    return lambda *inputs: build(graph, inputs)[-1]


def every_node_of(graph):
    return lambda *inputs: build(graph, inputs)


@given(graphs_with_points())
def test_jvp_on_random_graphs_matches_central_differences(graph_and_point):
    graph, xs = graph_and_point
    for i in range(len(xs)):
        if not smooth_around(graph, xs, i):
            continue
        direction = [1.0 if j == i else 0.0 for j in range(len(xs))]
        value, slope = jvp(output_of(graph), xs, direction)
        difference = central_difference(lambda p: evaluate(graph, p)[-1], xs, i)
        scale = max(map(abs, evaluate(graph, xs)))
        assert close_to_difference(slope, difference, scale), (i, slope, difference)


@given(graphs_with_points())
def test_jacfwd_of_every_node_of_random_graphs_equals_reverse_mode_jacobian(graph_and_point):
    graph, xs = graph_and_point
    forward = jacfwd(every_node_of(graph))(*xs)
    reverse = jacobian(every_node_of(graph))(*xs)
    scale = max([1.0, *(abs(d) for row in reverse for d in row)])
    for i, (ours, expected) in enumerate(zip(forward, reverse)):
        assert all(close(a, b, scale) for a, b in zip(ours, expected)), (i, ours, expected)


@given(graphs_with_points(max_steps=8), st.data())
def test_second_order_through_both_modes_on_random_graphs(graph_and_point, data):
    graph, xs = graph_and_point
    f, every = output_of(graph), tuple(range(len(xs)))
    v = data.draw(st.lists(reals(-1, 1), min_size=len(xs), max_size=len(xs)))
    hessian = jacobian(lambda *x: list(grad(f, argnums=every)(*x)))(*xs)  # reverse over reverse
    scale = max([1.0, *(abs(h) for row in hessian for h in row)])
    by_forward_over_reverse = jacfwd(grad(f, argnums=every))(*xs)
    by_forward_over_forward = jacfwd(lambda *x: jacfwd(f)(*x)[0])(*xs)
    hv = [math.fsum(h * t for h, t in zip(row, v)) for row in hessian]
    jvp_of_grad = jvp(grad(f, argnums=every), xs, v)[1]
    grad_of_jvp = grad(lambda *x: jvp(f, x, v)[1], argnums=every)(*xs)
    for i in range(len(xs)):
        for j in range(len(xs)):
            assert close(by_forward_over_reverse[i][j], hessian[i][j], scale), (i, j)
            assert close(by_forward_over_forward[i][j], hessian[i][j], scale), (i, j)
        assert close(jvp_of_grad[i], hv[i], scale) and close(grad_of_jvp[i], hv[i], scale), i


# --- behaviour ------------------------------------------------------------------------------------
def test_jvp_gives_back_the_container_f_returns():
    f = lambda x, y: [x * y, x + y]
    assert jvp(f, (2.0, 3.0), (1.0, 0.0)) == ([6.0, 5.0], [3.0, 1.0])
    assert jvp(lambda x: (x, x * x), [3.0], [2.0]) == ((3.0, 9.0), (2.0, 12.0))
    assert jvp(lambda x, y: x * 2.0, (1.0, 5.0), (0.5, 7.0)) == (2.0, 1.0)


def test_jvp_through_sum_values_dot_and_a_value_exponent():
    f = lambda x, y: sum_values([x, dot([x, y], [y, 3.0]), x**y, 2.0**x])
    value, slope = jvp(f, (2.0, 3.0), (1.0, -1.0))
    dfdx = 1 + 3.0 + 3 * 2.0**2 + 2.0**2 * math.log(2)
    dfdy = 2.0 + 3.0 + 2.0**3 * math.log(2.0)
    assert math.isclose(slope, dfdx - dfdy, rel_tol=1e-12)


def test_jvp_of_a_function_that_ignores_an_argument_or_returns_a_constant():
    assert jvp(lambda x, y: y * 3.0, (1.0, 2.0), (1.0, 0.0)) == (6.0, 0.0)
    assert jvp(lambda x: Value(4.0), (1.0,), (1.0,)) == (4.0, 0.0)
    assert jacfwd(lambda x, y: [x, Value(1.0)])(1.0, 2.0) == [[1.0, 0.0], [0.0, 0.0]]


def test_forward_mode_leaves_every_grad_untouched():
    model = MLP(3, [4, 2], activation="tanh", seed=0)
    forward = jacfwd(lambda *x: model(list(x)))(0.1, -0.2, 0.3)
    reverse = jacobian(lambda *x: model(list(x)))(0.1, -0.2, 0.3)
    for row, expected in zip(forward, reverse):
        assert all(close(a, b) for a, b in zip(row, expected))
    assert all(p.grad == 0.0 for p in model.parameters())


def test_jacfwd_selects_arguments_like_jacobian():
    f = lambda x, y, z: [x * y * z, x + z]
    for argnums in (0, 2, (2, 0), -1):
        assert jacfwd(f, argnums=argnums)(1.0, 2.0, 3.0) == jacobian(f, argnums)(1.0, 2.0, 3.0)


def test_jvp_runs_through_a_chain_far_deeper_than_the_recursion_limit():
    def chain(x):
        for _ in range(20_000):
            x = x * 1.0001 + 0.5
        return x

    assert close(jvp(chain, (1.0,), (1.0,))[1], grad(chain)(1.0))


def test_forward_over_forward_is_the_second_derivative():
    f = lambda x: x.sin() * x.exp()
    second = jvp(lambda x: jvp(f, (x,), (1.0,))[1], (0.7,), (1.0,))[1]
    assert close(second, 2 * math.cos(0.7) * math.exp(0.7))


@given(x=reals(-3, 3), y=reals(-3, 3))
def test_a_tangent_given_as_a_value_can_be_differentiated(x, y):
    slope_in = lambda t: jvp(lambda a: (a * a).sin(), (x,), (t,))[1]
    assert close(grad(slope_in)(y), 2 * x * math.cos(x * x), 1.0)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "primals, tangents, error, message",
    [
        ((1.0, 2.0), (1.0,), ValueError, "2 primals but 1 tangents"),
        (1.0, (1.0,), TypeError, "primals must be a tuple or list"),
        ((1.0,), 1.0, TypeError, "tangents must be a tuple or list"),
        (("a",), (1.0,), TypeError, "primals[0] must be a real number or a Value, got str 'a'"),
        ((1.0,), (True,), TypeError, "tangents[0] must be a real number or a Value, got bool"),
        ((1.0,), ([1.0],), TypeError, "tangents[0] must be a real number"),
    ],
)
def test_jvp_refuses_bad_primals_and_tangents_naming_them(primals, tangents, error, message):
    with pytest.raises(error) as raised:
        jvp(lambda x: x * 2.0, primals, tangents)
    assert message in str(raised.value)


def test_jvp_and_jacfwd_refuse_a_function_that_returns_no_value():
    with pytest.raises(TypeError, match="jvp: f must return a Value or a list of Values, got 3.0"):
        jvp(lambda x: 3.0, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="jacfwd: f must return a Value or a list of Values"):
        jacfwd(lambda x: [x, 1.0])(1.0)


def test_jacfwd_refuses_bad_arguments_and_argnums():
    with pytest.raises(TypeError, match="jacfwd: argument 1 must be a real number or a Value"):
        jacfwd(lambda x, y: x * y)(1.0, "b")
    with pytest.raises(ValueError, match="jacfwd: argnums 2 is out of range"):
        jacfwd(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_forward_mode_under_an_outer_no_grad_still_differentiates_as_torch_func_does():
    # torch.func.jvp and jacfwd ignore a torch.no_grad() around the call; a no_grad() inside f
    # still makes a constant there.
    with no_grad():
        assert jvp(lambda x: x * x * x, (2.0,), (1.0,)) == (8.0, 12.0)
        assert jacfwd(lambda x, y: [x * y, x + y])(2.0, 3.0) == [[3.0, 2.0], [1.0, 1.0]]
        assert jacfwd(grad(lambda x: x * x * x))(2.0) == [[12.0]]

    def half_frozen(x):
        with no_grad():
            frozen = x * x
        return frozen * x

    assert jvp(half_frozen, (2.0,), (1.0,)) == (8.0, 4.0)


def test_jvp_with_has_aux_returns_output_tangent_and_aux_as_jax_does():
    def f(x, y):
        out = x * y.sin()
        return out, {"out": out, "labels": ["x", x]}

    value, slope, aux = jvp(f, (2.0, 0.5), (1.0, 0.0), has_aux=True)
    assert (value, slope) == jvp(lambda x, y: f(x, y)[0], (2.0, 0.5), (1.0, 0.0))
    assert aux == {"out": 2.0 * math.sin(0.5), "labels": ["x", 2.0]}
    assert type(aux["labels"][1]) is float


def test_jvp_with_has_aux_keeps_the_container_f_returns():
    values, slopes, aux = jvp(lambda x: ((x * x, x * 3.0), "note"), (2.0,), (1.0,), has_aux=True)
    assert (values, slopes, aux) == ((4.0, 6.0), (4.0, 3.0), "note")


def test_jacfwd_with_has_aux_returns_the_jacobian_and_aux_as_jacobian_does():
    def f(x, y):
        return [x * y, x + y], (x * y, 5)

    jac, aux = jacfwd(f, has_aux=True)(2.0, 3.0)
    assert (jac, aux) == jacobian(f, has_aux=True)(2.0, 3.0) == ([[3.0, 2.0], [1.0, 1.0]], (6.0, 5))


def test_reverse_over_forward_with_has_aux_on_both():
    # grad of the tangent of x**3 along 1 (its derivative 3x**2) is 6x; the aux of the inner jvp
    # is a Value there, so the outer derivative through it is counted: d/dx [x * x] = 2x.
    def tangent_and_aux(x):
        _, slope, aux = jvp(lambda y: (y**3, y * y), (x,), (1.0,), has_aux=True)
        return slope, aux

    assert grad(tangent_and_aux, has_aux=True)(2.0) == (12.0, 4.0)
    assert grad(lambda x: tangent_and_aux(x)[1])(2.0) == 4.0
    assert jacfwd(grad(lambda x: (x**3, x), has_aux=True), has_aux=True)(2.0) == ([[12.0]], 2.0)


def test_jvp_and_jacfwd_refuse_a_non_callable_f_at_once():
    with pytest.raises(TypeError, match="^jvp: f must be a callable, got str 'f'$"):
        jvp("f", (1.0,), (1.0,))
    with pytest.raises(TypeError, match="^jacfwd: f must be a callable, got NoneType None$"):
        jacfwd(None)
    with pytest.raises(TypeError, match="jvp: has_aux must be True or False, got 'yes'"):
        jvp(lambda x: x, (1.0,), (1.0,), has_aux="yes")
