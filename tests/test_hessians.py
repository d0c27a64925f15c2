"""Hessians of random expression graphs, by reverse over reverse on the rule table, against
central differences of the engine's gradients and against PyTorch (float64)."""

import math

import pytest
from hypothesis import assume, given
from strategies import build, difference_step, evaluate, graphs_with_points, smooth_around

from autograd import Value, gradients, hessian

try:
    import torch
    from test_against_torch import TORCH_FUNCTIONS
except ImportError:
    torch = None


def _output(graph):
    return lambda *inputs: build(graph, inputs)[-1]


def _gradient(graph, xs: list[float]) -> list[float]:
    inputs = [Value(x) for x in xs]
    return gradients(build(graph, inputs)[-1], inputs)


@given(graphs_with_points(max_steps=8))
def test_hessians_of_random_graphs_match_differences_of_gradients(graph_and_point):
    graph, xs = graph_and_point
    assume(all(smooth_around(graph, xs, i) for i in range(len(xs))))
    exact = hessian(_output(graph))(*xs)
    for i in range(len(xs)):
        h = difference_step(xs[i])
        up = _gradient(graph, [x + h if j == i else x for j, x in enumerate(xs)])
        down = _gradient(graph, [x - h if j == i else x for j, x in enumerate(xs)])
        scale = max(1.0, *map(abs, up), *map(abs, down))
        for j in range(len(xs)):
            difference = (up[j] - down[j]) / (2 * h)
            # A central difference of a gradient: truncation ~h**2, rounding ~1e-16 * scale / h.
            tolerance = 1e-4 * abs(difference) + 1e-7 * scale / (h / 1e-6)
            assert abs(exact[i][j] - difference) <= tolerance, (i, j, exact[i][j], difference)


@given(graphs_with_points(max_steps=8))
def test_hessians_are_symmetric(graph_and_point):
    graph, xs = graph_and_point
    exact = hessian(_output(graph))(*xs)
    for i in range(len(xs)):
        for j in range(i):
            assert math.isclose(exact[i][j], exact[j][i], rel_tol=1e-9, abs_tol=1e-9)


def _some_power_has_exponent_zero(graph, xs: list[float]) -> bool:
    """Whether a `pow` step of `graph` raises to tanh(0) = 0 at `xs`.

    There PyTorch's Hessian is wrong: its derivative of b**t towards b is masked to 0 where t == 0,
    and the mask has no derivative towards t, so the term d2(b**t)/(db dt) = 1/b at t = 0 is
    lost (for ((x+1)**2 + 0.5)**tanh(x) at x = 0, PyTorch gives 1.4977; the engine and second
    differences give 2.8311).
    """
    data = evaluate(graph, xs)
    return any(step.op == "pow" and data[step.operands[1]] == 0.0 for step in graph.steps)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@given(graphs_with_points(max_steps=8))
def test_hessians_of_random_graphs_match_pytorch(graph_and_point):
    graph, xs = graph_and_point
    assume(not _some_power_has_exponent_zero(graph, xs))
    ours = hessian(_output(graph))(*xs)
    leaves = tuple(torch.tensor(x, dtype=torch.float64) for x in xs)
    theirs = torch.autograd.functional.hessian(
        lambda *inputs: build(graph, inputs, TORCH_FUNCTIONS)[-1], leaves
    )
    for i in range(len(xs)):
        for j in range(len(xs)):
            expected = float(theirs[i][j])
            assert math.isclose(ours[i][j], expected, rel_tol=1e-9, abs_tol=1e-9), (i, j)


def test_hessian_of_a_power_at_exponent_zero_keeps_the_mixed_term():
    # f = u**t with u = (x+1)**2 + 0.5, t = tanh(x); at x = 0: u = 1.5, u' = 2, t = 0, t' = 1, so
    # f'' = f * ((t' ln u)**2 + 2 t' u' / u) = ln(1.5)**2 + 8/3 (PyTorch drops the 8/3's share).
    def f(x):
        return ((x + 1) ** 2 + 0.5) ** x.tanh()

    assert math.isclose(hessian(f)(0.0)[0][0], math.log(1.5) ** 2 + 8 / 3, rel_tol=1e-14)
