"""Forward mode against PyTorch's torch.func in float64: jvp, jacfwd, and jvp of grad."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import UNARY_CALLS, UNARY_DOMAINS, build, evaluate, graphs_with_points, reals
from test_forward import close, every_node_of, output_of

from autograd import grad, jacfwd, jvp

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch")
from test_against_torch import TORCH_FUNCTIONS, TORCH_UNARY  # noqa: E402 (needs torch)

# torch.func scripts an operation's forward-mode rule the first time it meets it: about 2 s for
# relu here, alone, which took one example past the dev profile's 2 s deadline on a busy machine.
# The deadline is there to catch a hang in our code, not torch's first use of an operation.
no_deadline = settings(deadline=None)


def tensors(xs: list[float]) -> tuple:
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


@pytest.mark.parametrize("op", sorted(TORCH_UNARY))
@no_deadline
@given(data=st.data())
def test_jvp_of_each_function_matches_torch_func_jvp(op, data):
    x, t = data.draw(UNARY_DOMAINS[op]), data.draw(reals(-2, 2))
    ours = jvp(UNARY_CALLS[op], (x,), (t,))
    theirs = torch.func.jvp(TORCH_UNARY[op], tensors([x]), tensors([t]))
    assert all(close(a, float(b), abs(a)) for a, b in zip(ours, theirs))


@no_deadline
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


@no_deadline
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


@no_deadline
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


def test_jvp_and_jacfwd_with_has_aux_match_torch_func():
    def ours(x, y):
        return [x * y.sin(), (x + y).exp()], x * y

    def theirs(x, y):
        return torch.stack([x * torch.sin(y), torch.exp(x + y)]), x * y

    point, direction = (0.7, -0.4), (0.3, 1.1)
    values, slopes, aux = jvp(ours, point, direction, has_aux=True)
    their_values, their_slopes, their_aux = torch.func.jvp(
        theirs, tensors(list(point)), tensors(list(direction)), has_aux=True
    )
    assert values == pytest.approx(their_values.tolist(), rel=1e-12)
    assert slopes == pytest.approx(their_slopes.tolist(), rel=1e-12)
    assert aux == pytest.approx(float(their_aux), rel=1e-12)
    jac, aux = jacfwd(ours, has_aux=True)(*point)
    (their_dx, their_dy), their_aux = torch.func.jacfwd(theirs, argnums=(0, 1), has_aux=True)(
        *tensors(list(point))
    )
    for i, row in enumerate(jac):
        assert row == pytest.approx([float(their_dx[i]), float(their_dy[i])], rel=1e-12)
    assert aux == pytest.approx(float(their_aux), rel=1e-12)
