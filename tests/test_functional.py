"""Higher-order derivatives and the functional API: grad, value_and_grad, jacobian, hessian."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, no_grad, rules
from autograd.functional import (
    GradcheckError,
    grad,
    gradcheck,
    gradgradcheck,
    gradients,
    hessian,
    hvp,
    jacobian,
    value_and_grad,
)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _sig_derivs(x):
    s = _sigmoid(x)
    return s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)


# op name -> (function of a Value, domain, (f', f'', f''') as functions of a float)
UNARY_DERIVATIVES = {
    "exp": (lambda v: v.exp(), (-5, 5), (math.exp, math.exp, math.exp)),
    "log": (
        lambda v: v.log(),
        (0.1, 10),
        (lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
    ),
    "sqrt": (
        lambda v: v.sqrt(),
        (0.1, 10),
        (lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5, lambda x: 0.375 * x**-2.5),
    ),
    "tanh": (
        lambda v: v.tanh(),
        (-3, 3),
        (
            lambda x: 1 - math.tanh(x) ** 2,
            lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
            lambda x: -2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2),
        ),
    ),
    "sigmoid": (
        lambda v: v.sigmoid(),
        (-6, 6),
        tuple(lambda x, k=k: _sig_derivs(x)[k] for k in range(3)),
    ),
    "softplus": (
        lambda v: v.softplus(),
        (-6, 6),
        (_sigmoid, lambda x: _sig_derivs(x)[0], lambda x: _sig_derivs(x)[1]),
    ),
    "silu": (
        lambda v: v.silu(),
        (-6, 6),
        (
            lambda x: _sigmoid(x) + x * _sig_derivs(x)[0],
            lambda x: 2 * _sig_derivs(x)[0] + x * _sig_derivs(x)[1],
            lambda x: 3 * _sig_derivs(x)[1] + x * _sig_derivs(x)[2],
        ),
    ),
    "gelu": (
        lambda v: v.gelu(),
        (-4, 4),
        (
            lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2))) + x * _phi(x),
            lambda x: _phi(x) * (2 - x * x),
            lambda x: _phi(x) * (x**3 - 4 * x),
        ),
    ),
    "erf": (
        lambda v: v.erf(),
        (-3, 3),
        (
            lambda x: 2 / math.sqrt(math.pi) * math.exp(-x * x),
            lambda x: -4 * x / math.sqrt(math.pi) * math.exp(-x * x),
            lambda x: (8 * x * x - 4) / math.sqrt(math.pi) * math.exp(-x * x),
        ),
    ),
    "sin": (lambda v: v.sin(), (-6, 6), (math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x))),
    "cos": (lambda v: v.cos(), (-6, 6), (lambda x: -math.sin(x), lambda x: -math.cos(x), math.sin)),
    "cube": (lambda v: v**3, (-4, 4), (lambda x: 3 * x * x, lambda x: 6 * x, lambda x: 6.0)),
    "two_to_the_x": (
        lambda v: 2**v,
        (-4, 4),
        tuple(lambda x, k=k: 2**x * math.log(2) ** (k + 1) for k in range(3)),
    ),
    "reciprocal": (
        lambda v: 3 / v,
        (0.2, 5),
        (lambda x: -3 / x**2, lambda x: 6 / x**3, lambda x: -18 / x**4),
    ),
    "power_of_values": (
        lambda v: v ** Value(2.5),
        (0.2, 5),
        (lambda x: 2.5 * x**1.5, lambda x: 3.75 * x**0.5, lambda x: 1.875 * x**-0.5),
    ),
    "relu": (lambda v: v.relu(), (0.1, 5), (lambda x: 1.0, lambda x: 0.0, lambda x: 0.0)),
    "abs": (lambda v: abs(v), (-5, -0.1), (lambda x: -1.0, lambda x: 0.0, lambda x: 0.0)),
}


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", sorted(UNARY_DERIVATIVES))
@given(fraction=st.floats(0.0, 1.0))
def test_first_second_third_derivatives_match_analytic_formulas(name, fraction):
    f, (low, high), expected = UNARY_DERIVATIVES[name]
    x = low + (high - low) * fraction
    d1, d2, d3 = grad(f), grad(grad(f)), grad(grad(grad(f)))
    assert _close(d1(x), expected[0](x))
    assert _close(d2(x), expected[1](x))
    assert _close(d3(x), expected[2](x))


@given(st.floats(-2, 2), st.floats(-2, 2))
def test_hessian_of_mixed_expression_matches_differences_of_gradients(x, y):
    def f(a, b):
        return (a * b).tanh() + a.exp() * b.sin() + (a * a + 1).log() / (b * b + 2)

    assert gradgradcheck(f, (x, y))


def test_gradients_leave_grad_untouched_while_backward_accumulates():
    x = Value(2.0)
    y = x**3
    assert gradients(y, [x]) == [12.0]
    assert x.grad == 0.0
    y.backward()
    y.backward()
    assert x.grad == 24.0


def test_backward_with_create_graph_puts_differentiable_values_in_grad():
    x = Value(0.7)
    y = x.tanh()
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value)
    assert _close(first.data, 1 - math.tanh(0.7) ** 2)
    x.grad = 0.0
    first.backward()
    t = math.tanh(0.7)
    assert _close(x.grad, -2 * t * (1 - t * t))


def test_gradients_of_unused_input_is_zero_and_a_value_with_create_graph():
    x, unused = Value(1.0), Value(5.0)
    assert gradients(x * 2, [unused]) == [0.0]
    [g] = gradients(x * 2, [unused], create_graph=True)
    assert isinstance(g, Value) and g.data == 0.0


def test_grad_with_argnums_tuple_returns_tuple_in_that_order():
    f = lambda x, y, z: x * y + z * z
    assert grad(f, argnums=(2, 0))(1.0, 2.0, 3.0) == (6.0, 2.0)
    assert grad(f, argnums=1)(1.0, 2.0, 3.0) == 1.0
    assert grad(f, argnums=-1)(1.0, 2.0, 3.0) == 6.0


def test_value_and_grad_agrees_with_separate_calls():
    f = lambda x, y: (x * y).sin() + y.exp()
    value, gradient = value_and_grad(f, argnums=(0, 1))(0.3, 0.9)
    assert value == f(Value(0.3), Value(0.9)).data
    assert gradient == grad(f, argnums=(0, 1))(0.3, 0.9)


def test_nested_grad_of_function_that_calls_grad_keeps_variables_apart():
    # d/dx [x * d/dy (x y)] = d/dx x**2 = 2x; confusing x with y would give 4x
    assert grad(lambda x: x * grad(lambda y: x * y)(x))(3.0) == 6.0


def test_jacobian_and_hessian_of_known_functions():
    assert jacobian(lambda x, y: [x * y, x - y, x.exp()])(2.0, 3.0) == [
        [3.0, 2.0],
        [1.0, -1.0],
        [math.exp(2.0), 0.0],
    ]
    assert hessian(lambda x, y: x**2 * y**3)(2.0, 1.0) == [[2.0, 12.0], [12.0, 24.0]]
    assert hessian(lambda x, y: x**2 * y**3, argnums=1)(2.0, 1.0) == [[24.0]]


def test_hessian_vector_product_equals_hessian_times_vector():
    f = lambda x, y, z: x * y * z + (x * z).sin()
    point, v = (0.4, -1.1, 0.8), (0.5, 2.0, -1.0)
    h = hessian(f)(*point)
    expected = [sum(h[i][j] * v[j] for j in range(3)) for i in range(3)]
    assert all(_close(a, b) for a, b in zip(hvp(f, point, v), expected))


def test_gradcheck_catches_a_wrong_derivative_rule(monkeypatch):
    f = lambda x: x.sin()
    assert gradcheck(f, (0.5,))
    wrong = rules.SIN.__class__(  # sin with d/dx sin x = sin x, which is wrong
        "sin", "sin", math.sin, lambda out, x: (rules.sin_of(x),)
    )
    monkeypatch.setattr(rules, "SIN", wrong)
    with pytest.raises(GradcheckError, match=r"argument 0: engine gives 0\.479"):
        gradcheck(f, (0.5,))
    with pytest.raises(GradcheckError, match="d2 f"):
        gradgradcheck(lambda x: x.sin() * x, (0.5,))


def test_gradcheck_reports_the_argument_furthest_off_not_the_first():
    # relu's kink at 0: the engine says 0, central differences say half the slope on each side
    with pytest.raises(GradcheckError, match=r"argument 1: engine gives 0\.0, .* give 50\.0"):
        gradcheck(lambda x, y: x.relu() + 100 * y.relu(), (0.0, 0.0))
    with pytest.raises(GradcheckError, match=r"d2 f / d argument 1 d argument 1"):
        gradgradcheck(lambda x, y: x.relu() ** 2 + 100 * y.relu() ** 2, (0.0, 0.0))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: grad(lambda x: x, argnums=1)(1.0), ValueError, "argnums 1 is out of range"),
        (lambda: grad(lambda x: x, argnums="0")(1.0), TypeError, "argnums must be an int, a"),
        (lambda: grad(lambda x: x, argnums=0.0)(1.0), TypeError, "or None, got float 0.0"),
        (lambda: hessian(lambda x: x, argnums={0})(1.0), TypeError, "or None, got set"),
        (lambda: grad(lambda x: x, argnums=(0.0,))(1.0), TypeError, "argnums must be ints"),
        (lambda: grad(lambda x: [x, x])(1.0), TypeError, "use jacobian"),
        (lambda: grad(lambda x: 3.0)(1.0), TypeError, "must return a Value"),
        (lambda: grad(lambda x: x)("a"), TypeError, "argument 0 must be a real number"),
        (lambda: hessian(lambda x: [x])(1.0), TypeError, "single Value"),
        (lambda: jacobian(lambda x: 2.0)(1.0), TypeError, "list of Values"),
        (lambda: hvp(lambda x: x, (1.0,), (1.0, 2.0)), ValueError, "vector has 2 entries"),
        (lambda: gradients(Value(1.0), [1.0]), TypeError, r"inputs\[0\] must be a Value"),
        (lambda: gradients(Value(1.0), {Value(1.0)}), TypeError, "inputs must be a Value or a"),
        (lambda: gradcheck(lambda x: x, 1.0), TypeError, "gradcheck: args must be a tuple"),
        (lambda: gradcheck(lambda x: x, ("a",)), TypeError, r"args\[0\] must be a real number"),
        (lambda: gradcheck(lambda: Value(1.0), ()), ValueError, "gradcheck: args is empty"),
        (lambda: gradgradcheck(lambda: Value(1.0), []), ValueError, "gradgradcheck: args is"),
        (lambda: gradgradcheck(lambda x: x, (Value(1.0),)), TypeError, "must be a real number"),
        (lambda: gradcheck(lambda x: x, (1.0,), eps=0.0), ValueError, "eps must be > 0, got 0.0"),
        (lambda: gradcheck(lambda x: x, (1.0,), eps=-1e-6), ValueError, "eps must be > 0"),
        (lambda: gradcheck(lambda x: x, (1.0,), eps="a"), TypeError, "eps must be a finite real"),
        (lambda: gradgradcheck(lambda x: x, (1.0,), atol=-1.0), ValueError, "atol must be >= 0"),
        (lambda: gradcheck(lambda x: x, (1.0,), rtol=math.nan), TypeError, "rtol must be a finite"),
    ],
)
def test_bad_calls_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_hessian_matches_torch_on_a_mixed_expression():
    torch = pytest.importorskip("torch")

    def ours(a, b, c):
        return (a * b).tanh() * c.exp() + (a - c).sigmoid() * b.sin() + (b * b + 1).log()

    def theirs(t):
        a, b, c = t[0], t[1], t[2]
        return (
            torch.tanh(a * b) * torch.exp(c)
            + torch.sigmoid(a - c) * torch.sin(b)
            + torch.log(b * b + 1)
        )

    point = (0.3, -0.8, 0.5)
    expected = torch.autograd.functional.hessian(theirs, torch.tensor(point, dtype=torch.float64))
    got = hessian(ours)(*point)
    for i in range(3):
        for j in range(3):
            assert math.isclose(got[i][j], expected[i][j].item(), rel_tol=1e-9, abs_tol=1e-12)


def test_newton_beats_gradient_descent_on_rosenbrock():
    import runpy
    from pathlib import Path

    example = runpy.run_path(str(Path(__file__).parent.parent / "examples/newton_rosenbrock.py"))
    point, newton_steps = example["newton"](example["rosenbrock"], example["START"])
    assert all(abs(p - 1.0) < 1e-8 for p in point)
    _, descent_steps = example["gradient_descent"](
        example["rosenbrock"], example["START"], max_steps=1000
    )
    assert newton_steps <= 10 < descent_steps


def test_transforms_under_an_outer_no_grad_still_differentiate_as_torch_func_does():
    # An evaluation loop inside no_grad() asking for a gradient got 0.0 before: f recorded nothing.
    cube = lambda x: x * x * x  # noqa: E731
    with no_grad():
        assert grad(cube)(2.0) == 12.0
        assert grad(grad(cube))(2.0) == 12.0
        assert value_and_grad(cube)(2.0) == (8.0, 12.0)
        assert jacobian(lambda x, y: [x * y, x + y])(2.0, 3.0) == [[3.0, 2.0], [1.0, 1.0]]
        assert hessian(lambda x, y: x * x * y)(3.0, 2.0) == [[4.0, 6.0], [6.0, 0.0]]
        assert hvp(lambda x, y: x * x * y, (3.0, 2.0), (1.0, 0.0)) == [4.0, 6.0]
        assert gradcheck(lambda x, y: (x * y).tanh(), (0.3, -1.2))
        after = Value(2.0) * 3  # the block itself still records nothing
    assert after.parents == ()


def test_a_no_grad_inside_f_still_makes_a_constant_under_the_transforms():
    def half_frozen(x):
        with no_grad():
            frozen = x * x
        return frozen * x

    assert grad(half_frozen)(2.0) == 4.0
    with no_grad():
        assert grad(half_frozen)(2.0) == 4.0


def test_asyncio_tasks_inside_no_grad_get_true_gradients():
    import asyncio

    async def evaluate(frozen: bool) -> float:
        if not frozen:
            return grad(lambda x: x * x)(3.0)
        with no_grad():
            await asyncio.sleep(0)
            return grad(lambda x: x * x)(3.0)

    async def both():
        return await asyncio.gather(evaluate(True), evaluate(False))

    assert asyncio.run(both()) == [6.0, 6.0]


def test_create_graph_records_the_gradient_even_under_no_grad_as_pytorch_does():
    x = Value(3.0)
    y = x**3
    with no_grad():
        [dy] = gradients(y, [x], create_graph=True)
        y.backward(create_graph=True)
    assert dy.data == 27.0 and gradients(dy, [x]) == [18.0]
    assert x.grad.data == 27.0 and gradients(x.grad, [x]) == [18.0]


def test_hvp_keeps_a_value_in_the_vector_so_nesting_counts_its_paths():
    f = lambda x, y: x * x * y  # noqa: E731  H = [[2y, 2x], [2x, 0]]
    # d/dv of (H (v, 0))[0] = 2y = 4: the vector's entry was turned into a float before.
    assert grad(lambda v: hvp(f, (3.0, 2.0), (v, 0.0))[0])(1.0) == 4.0
    assert grad(lambda a: hvp(f, (a, 2.0), (a, 0.0))[1])(3.0) == 4.0 * 3.0  # d/da (2a * a)


@pytest.mark.parametrize(
    "args, vector, message",
    [
        (3.0, (1.0,), r"hvp: args must be a tuple or list .* got float 3.0"),
        ((3.0, 2.0), ("a", 0.0), r"hvp: vector\[0\] must be a real number or a Value, got str 'a'"),
        ((3.0, 2.0), (True, 0.0), r"hvp: vector\[0\] must be a real number .* got bool True"),
        ((3.0, 2.0), iter((1.0, 0.0)), r"hvp: vector must be a tuple or list"),
    ],
)
def test_hvp_refuses_arguments_that_are_not_tuples_of_numbers(args, vector, message):
    with pytest.raises(TypeError, match=message):
        hvp(lambda x, y: x * y, args, vector)


def test_keyword_arguments_pass_through_to_f_undifferentiated_as_in_jax():
    from autograd import jacfwd

    f = lambda x, y, scale=1.0: x * x * y * scale  # noqa: E731
    assert grad(f)(3.0, 2.0, scale=2.0) == 24.0
    assert value_and_grad(f, argnums=(0, 1))(3.0, 2.0, scale=2.0) == (36.0, (24.0, 18.0))
    assert hessian(f)(3.0, 2.0, scale=0.5) == [[2.0, 3.0], [3.0, 0.0]]
    pair = lambda x, y, scale=1.0: [x * y * scale, x + y]  # noqa: E731
    assert jacobian(pair)(2.0, 3.0, scale=2.0) == [[6.0, 4.0], [1.0, 1.0]]
    assert jacfwd(pair)(2.0, 3.0, scale=2.0) == [[6.0, 4.0], [1.0, 1.0]]


def test_gradients_take_one_value_as_inputs_as_torch_autograd_grad_takes_one_tensor():
    x = Value(3.0)
    assert gradients(x**3, x) == [27.0]
    [dy] = gradients(x**3, x, create_graph=True)
    assert gradients(dy, x) == [18.0]


def test_a_transform_inside_f_closing_over_the_outer_variable_counts_its_path_as_jax_does():
    from autograd import jacfwd, jvp

    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x: the inner derivative is x, not the float 2.0.
    assert grad(lambda x: x * grad(lambda y: x * y)(1.0))(2.0) == 4.0
    assert grad(lambda x: x * jvp(lambda y: x * y, (1.0,), (1.0,))[1])(2.0) == 4.0
    assert jvp(lambda x: x * grad(lambda y: x * y)(1.0), (2.0,), (1.0,)) == (4.0, 4.0)
    assert grad(lambda x: x * hessian(lambda y: x * y * y)(1.0)[0][0])(3.0) == 12.0
    assert jacfwd(lambda x: [x * jacobian(lambda y: [x * y])(1.0)[0][0]])(2.0) == [[4.0]]
    assert grad(lambda x: hvp(lambda y: x * y * y, (1.0,), (1.0,))[0] * x)(3.0) == 12.0
    # Perturbation confusion (Siskind and Pearlmutter): d/dx [x * d/dy (x + y)] = 1.
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(2.0) == 1.0


def test_a_transform_at_top_level_still_gives_floats():
    assert type(grad(lambda x: x * x)(2.0)) is float
    assert type(hessian(lambda x: x * x)(2.0)[0][0]) is float


def _loss_with_aux(x, y):
    """A loss and the data a training step logs beside it: Values at several depths, and not."""
    loss = (x * y).tanh() + x.exp()
    aux = {"loss": loss, "parts": [x * y, ("tag", x.exp())], "step": 7}
    return loss, aux


def test_grad_with_has_aux_returns_gradient_and_aux_with_values_as_floats_as_jax_does():
    gradient, aux = grad(_loss_with_aux, argnums=(0, 1), has_aux=True)(0.5, 2.0)
    assert gradient == grad(lambda x, y: _loss_with_aux(x, y)[0], argnums=(0, 1))(0.5, 2.0)
    assert aux == {
        "loss": math.tanh(1.0) + math.exp(0.5),
        "parts": [1.0, ("tag", math.exp(0.5))],
        "step": 7,
    }
    assert type(aux["loss"]) is float and type(aux["parts"][1][1]) is float


def test_value_and_grad_with_has_aux_returns_output_and_aux_then_gradient():
    (value, aux), gradient = value_and_grad(_loss_with_aux, has_aux=True)(0.5, 2.0)
    assert value == aux["loss"] == math.tanh(1.0) + math.exp(0.5)
    assert gradient == grad(_loss_with_aux, has_aux=True)(0.5, 2.0)[0]


def test_aux_keeps_named_tuples_and_mapping_types():
    from collections import OrderedDict, namedtuple

    Pair = namedtuple("Pair", "first second")
    aux = OrderedDict(pair=Pair(Value(1.0), "b"), nothing=None)
    _, back = grad(lambda x: (x * x, aux), has_aux=True)(3.0)
    assert type(back) is OrderedDict and type(back["pair"]) is Pair
    assert back == OrderedDict(pair=Pair(1.0, "b"), nothing=None)
    assert isinstance(aux["pair"].first, Value)  # f's own aux is not changed in place


def test_jacobian_with_has_aux_returns_the_jacobian_and_aux():
    jac, aux = jacobian(lambda x, y: ([x * y, x + y], [x * y]), has_aux=True)(2.0, 3.0)
    assert jac == [[3.0, 2.0], [1.0, 1.0]] and aux == [6.0]


def test_has_aux_nests_grad_of_grad_with_has_aux_on_both():
    # The inner grad returns (f', aux), a pair, so the outer one takes f' as its output: f''.
    def cube(x):
        return x**3, {"cube": x**3}

    second, aux = grad(grad(cube, has_aux=True), has_aux=True)(2.0)
    assert second == 12.0 and aux == {"cube": 8.0}


def test_has_aux_on_the_outer_transform_around_an_inner_one():
    slope, aux = grad(lambda x: (grad(lambda y: y**3)(x), x * x), has_aux=True)(2.0)
    assert (slope, aux) == (12.0, 4.0)


def test_aux_of_a_nested_transform_stays_a_value_so_the_outer_derivative_counts_it():
    # As in JAX, aux is not differentiated by the transform that returns it, but an outer one
    # differentiates through it: d/dx [x * x] = 2x, where a float aux would give 0.
    assert grad(lambda x: grad(lambda y: (x * y, x * y), has_aux=True)(x)[1])(3.0) == 6.0
    _, aux = grad(lambda x: (x * x, x + 1), has_aux=True)(Value(2.0))
    assert isinstance(aux, Value) and aux.data == 3.0


@pytest.mark.parametrize(
    "returned, shown",
    [
        (lambda x: x, r"returned Value\(data=1.0"),
        (lambda x: (x, x, x), "returned a tuple of 3"),
        (lambda x: [x], "returned a list of 1"),
        (lambda x: 2.0, "returned float 2.0"),
    ],
)
@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacobian", "jacfwd", "jvp"])
def test_has_aux_refuses_an_f_that_returns_no_pair_naming_what_it_returned(name, returned, shown):
    import autograd

    transform = getattr(autograd, name)
    message = rf"{name}: with has_aux=True, f must return a pair \(output, aux\), but it {shown}"
    with pytest.raises(TypeError, match=message):
        if name == "jvp":
            transform(returned, (1.0,), (1.0,), has_aux=True)
        else:
            transform(returned, has_aux=True)(1.0)


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacobian", "jacfwd"])
def test_has_aux_must_be_a_bool(name):
    import autograd

    with pytest.raises(TypeError, match=f"{name}: has_aux must be True or False, got 1"):
        getattr(autograd, name)(lambda x: x, has_aux=1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: grad(3),
        lambda: value_and_grad(3),
        lambda: jacobian(3),
        lambda: hessian(3),
        lambda: hvp(3, (1.0,), (1.0,)),
        lambda: gradcheck(3, (1.0,)),
        lambda: gradgradcheck(3, (1.0,)),
    ],
)
def test_a_transform_refuses_a_non_callable_f_when_it_is_made_as_jax_does(make):
    with pytest.raises(TypeError, match=r"^\w+: f must be a callable, got int 3$"):
        make()


def test_grad_and_value_and_grad_with_has_aux_match_torch_func():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch")

    def theirs(x, y):
        loss = torch.tanh(x * y) + torch.exp(x)
        return loss, {"loss": loss, "product": x * y}

    point = (0.5, 2.0)
    tensors = tuple(torch.tensor(p, dtype=torch.float64) for p in point)
    (their_dx, their_dy), their_aux = torch.func.grad(theirs, argnums=(0, 1), has_aux=True)(
        *tensors
    )

    def ours(x, y):
        loss = (x * y).tanh() + x.exp()
        return loss, {"loss": loss, "product": x * y}

    (dx, dy), aux = grad(ours, argnums=(0, 1), has_aux=True)(*point)
    assert dx == pytest.approx(float(their_dx), rel=1e-12)
    assert dy == pytest.approx(float(their_dy), rel=1e-12)
    assert aux == pytest.approx({k: float(v) for k, v in their_aux.items()}, rel=1e-12)
    # torch.func.grad_and_value orders its result (gradient, (value, aux)); JAX's and ours is
    # ((value, aux), gradient).
    their_gradient, (their_value, _) = torch.func.grad_and_value(theirs, has_aux=True)(*tensors)
    (value, _), gradient = value_and_grad(ours, has_aux=True)(*point)
    assert value == pytest.approx(float(their_value), rel=1e-12)
    assert gradient == pytest.approx(float(their_gradient), rel=1e-12)


def test_jacobian_with_has_aux_matches_torch_func_jacrev():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch")
    x = torch.tensor([2.0, 3.0], dtype=torch.float64)
    their_jac, their_aux = torch.func.jacrev(
        lambda t: (torch.stack([t[0] * t[1].sin(), t[0] + t[1]]), t[0] * t[1]), has_aux=True
    )(x)
    jac, aux = jacobian(lambda a, b: ([a * b.sin(), a + b], a * b), has_aux=True)(2.0, 3.0)
    for row, their_row in zip(jac, their_jac.tolist(), strict=True):
        assert row == pytest.approx(their_row, rel=1e-12)
    assert aux == pytest.approx(float(their_aux), rel=1e-12)
