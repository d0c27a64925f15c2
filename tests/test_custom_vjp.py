"""autograd.custom_vjp: a function whose backward pass the user gives, as JAX's."""

from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given, settings

from autograd import (
    Value,
    custom_vjp,
    grad,
    gradgradcheck,
    hessian,
    jacfwd,
    jacobian,
    jvp,
    no_grad,
    sum_values,
    trace,
)
from autograd.rules import exp_of
from tests.strategies import reals


@custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (max(-1.0, min(1.0, g)),))


@custom_vjp
def softplus(x):
    return x.softplus()


# a stable backward: s(x) = 1 / (1 + e**-x) never overflows, where e**x / (1 + e**x) would
softplus.defvjp(lambda x: (x.softplus(), x), lambda x, g: (g * x.sigmoid(),))


@custom_vjp
def polar(r, t):
    return [r * t.cos(), r * t.sin()]


def _polar_bwd(res, g):
    r, t = res
    return (g[0] * t.cos() + g[1] * t.sin(), r * (g[1] * t.cos() - g[0] * t.sin()))


polar.defvjp(lambda r, t: (polar.f(r, t), (r, t)), _polar_bwd)


@custom_vjp
def logsumexp(xs):
    top = max(x.data if isinstance(x, Value) else x for x in xs)
    return top + sum_values([exp_of(x - top) for x in xs]).log()


def _logsumexp_fwd(xs):
    out = logsumexp.f(xs)
    return out, (xs, out)


logsumexp.defvjp(_logsumexp_fwd, lambda res, g: ([g * exp_of(x - res[1]) for x in res[0]],))


@custom_vjp
def straight_round(x):
    return Value(round(x.data))


straight_round.defvjp(lambda x: (round(x.data), None), lambda res, g: (g,))


@custom_vjp
def math_softplus(x):
    return x.softplus()


math_softplus.defvjp(lambda x: (x.softplus(), x), lambda x, g: (g / (1 + math.exp(-x)),))


def test_clipping_the_gradient_inside_the_graph():
    assert grad(lambda x: 10 * clip_gradient(x))(2.0) == 1.0
    assert grad(lambda x: 0.5 * clip_gradient(x))(2.0) == 0.5
    assert grad(lambda x: -10 * clip_gradient(x * x))(3.0) == -6.0  # clipped to -1, then * 2x


def test_a_stable_backward_where_the_plain_one_overflows():
    assert grad(softplus)(1000.0) == 1.0
    assert softplus(Value(1000.0)).data == 1000.0


@settings(max_examples=30, deadline=None)
@given(reals(-20.0, 20.0))
def test_first_and_second_derivatives_equal_the_built_in_rule(x):
    assert grad(softplus)(x) == pytest.approx(grad(Value.softplus)(x), rel=1e-12, abs=1e-300)
    expected = hessian(Value.softplus)(x)[0][0]
    assert hessian(softplus)(x)[0][0] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_second_derivatives_match_finite_differences():
    assert gradgradcheck(lambda x, y: softplus(x * y) * clip_gradient(y), (0.3, -0.8))
    assert gradgradcheck(lambda r, t: polar(r, t)[0] * polar(r, t)[1], (1.5, 0.4))


def test_list_outputs_give_the_jacobian_and_hessian_of_the_plain_function():
    plain = lambda r, t: [r * t.cos(), r * t.sin()]  # noqa: E731
    for ours, expected in zip(jacobian(polar)(2.0, 0.5), jacobian(plain)(2.0, 0.5)):
        assert ours == pytest.approx(expected, rel=1e-15)
    product = lambda f: lambda r, t: f(r, t)[0] * f(r, t)[1]  # noqa: E731
    for ours, expected in zip(hessian(product(polar))(2.0, 0.5), hessian(product(plain))(2.0, 0.5)):
        assert ours == pytest.approx(expected, rel=1e-12)


def test_list_arguments_get_a_list_of_gradients():
    ours = grad(lambda a, b: logsumexp([a, b, 1.0]), argnums=(0, 1))(0.2, 0.3)
    total = math.exp(0.2) + math.exp(0.3) + math.exp(1.0)
    assert ours == pytest.approx((math.exp(0.2) / total, math.exp(0.3) / total), rel=1e-12)


def test_straight_through_rounding():
    assert straight_round(Value(1.4)).data == 1.0
    assert grad(lambda x: 3 * straight_round(x))(1.4) == 3.0


def test_without_values_or_under_no_grad_f_itself_runs():
    assert clip_gradient(2.0) == 2.0
    with no_grad():
        y = softplus(Value(1.0))
    assert y.parents == () and y.data == pytest.approx(math.log1p(math.e))


def test_second_derivative_through_math_is_refused_naming_f():
    assert grad(math_softplus)(0.3) == pytest.approx(grad(Value.softplus)(0.3), rel=1e-15)
    with pytest.raises(TypeError, match="math_softplus: its fwd or bwd called float"):
        hessian(math_softplus)(0.3)


def test_forward_mode_and_tapes_are_refused():
    with pytest.raises(TypeError, match="custom_vjp function 'softplus'.*forward mode"):
        jvp(softplus, (0.3,), (1.0,))
    with pytest.raises(TypeError, match="softplus"):
        jacfwd(grad(lambda x: softplus(x) * x))(0.3)
    pytest.importorskip("numpy")
    with pytest.raises(ValueError, match="trace: the graph goes through the custom_vjp"):
        trace(softplus, 0.3)


def test_bad_definitions_are_refused_naming_f():
    @custom_vjp
    def undefined(x):
        return x

    with pytest.raises(TypeError, match=r"undefined.defvjp\(fwd, bwd\) first"):
        undefined(Value(1.0))
    undefined.defvjp(lambda x: x, lambda res, g: (g,))
    with pytest.raises(TypeError, match="undefined: fwd must return a pair"):
        undefined(Value(1.0))
    undefined.defvjp(lambda x: (x, None), lambda res, g: (g, g))
    with pytest.raises(ValueError, match="undefined: bwd must return one gradient per argument"):
        grad(undefined)(1.0)
    with pytest.raises(TypeError, match="bwd must be callable"):
        undefined.defvjp(lambda x: (x, None), None)


def test_pickles_by_its_importable_name():
    assert pickle.loads(pickle.dumps(softplus)) is softplus
    assert pickle.loads(pickle.dumps(softplus.rule)) is softplus.rule

    @custom_vjp
    def local(x):
        return x

    with pytest.raises(pickle.PicklingError, match="not importable"):
        pickle.dumps(local)


def test_matches_torch_custom_function_in_float64():
    torch = pytest.importorskip("torch")

    class Clip(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g.clamp(-1.0, 1.0)

    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (Clip.apply(x).sin() * 5).backward()
    ours = grad(lambda x: clip_gradient(x).sin() * 5)(0.7)
    assert ours == pytest.approx(x.grad.item(), rel=1e-15)
