"""Forward mode against PyTorch's torch.func in float64: jvp, jacfwd, and jvp of grad."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import UNARY_CALLS, UNARY_DOMAINS, build, evaluate, graphs_with_points, reals
from test_forward import close, every_node_of, output_of

from autograd import grad, jacfwd, jvp

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch")
from test_against_torch import TORCH_FUNCTIONS, TORCH_UNARY  # noqa: E402 (needs torch)


def tensors(xs: list[float]) -> tuple:
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


@pytest.mark.parametrize("op", sorted(TORCH_UNARY))
@given(data=st.data())
def test_jvp_of_each_function_matches_torch_func_jvp(op, data):
    x, t = data.draw(UNARY_DOMAINS[op]), data.draw(reals(-2, 2))
    ours = jvp(UNARY_CALLS[op], (x,), (t,))
    theirs = torch.func.jvp(TORCH_UNARY[op], tensors([x]), tensors([t]))
    assert all(close(a, float(b), abs(a)) for a, b in zip(ours, theirs))


# No deadline: an example can be the first torch.func.jvp of a worker, whose one-time start-up
# took 4.6 s under `pytest -n 2` on a busy machine (the dev profile's deadline is 2 s).
@settings(deadline=None)
@given(graphs_with_points(), st.data())
def test_jvp_on_random_graphs_matches_torch_func_jvp(graph_and_point, data):
    graph, xs = graph_and_point
    v = data.draw(st.lists(reals(-1, 1), min_size=len(xs), max_size=len(xs)))
    value, slope = jvp(output_of(graph), xs, v)
    their_value, their_slope = torch.func.jvp(
        lambda *x: build(graph, x, TORCH_FUNCTIONS)[-1], tensors(xs), tensors(v)
    )
    assert close(value, float(their_value), abs(value))
    assert close(slope, float(their_slope), max(map(abs, evaluate(graph, xs))))


@given(graphs_with_points())
def test_jacfwd_on_random_graphs_matches_torch_func_jacfwd(graph_and_point):
    graph, xs = graph_and_point
    ours = jacfwd(every_node_of(graph))(*xs)
    theirs = torch.func.jacfwd(
        lambda *x: torch.stack(build(graph, x, TORCH_FUNCTIONS)), argnums=tuple(range(len(xs)))
    )(*tensors(xs))
    scale = max([1.0, *(abs(d) for row in ours for d in row)])
    for i, row in enumerate(ours):
        assert all(close(d, float(theirs[j][i]), scale) for j, d in enumerate(row)), i


@given(graphs_with_points(max_steps=8), st.data())
def test_jvp_of_grad_on_random_graphs_matches_torch(graph_and_point, data):
    graph, xs = graph_and_point
    v = data.draw(st.lists(reals(-1, 1), min_size=len(xs), max_size=len(xs)))
    every = tuple(range(len(xs)))
    ours = jvp(grad(output_of(graph), argnums=every), xs, v)[1]
    their_grad = torch.func.grad(lambda *x: build(graph, x, TORCH_FUNCTIONS)[-1], argnums=every)
    theirs = torch.func.jvp(their_grad, tensors(xs), tensors(v))[1]
    scale = max([1.0, *map(abs, ours)])
    assert all(close(a, float(b), scale) for a, b in zip(ours, theirs)), (ours, theirs)
