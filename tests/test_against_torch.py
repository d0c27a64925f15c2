"""The same computations in PyTorch (float64): values and gradients agree to rtol 1e-9."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import UNARY_CALLS, UNARY_DOMAINS, Functions, build, graphs_with_points, reals

from autograd import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-9, 1e-12

TORCH_FUNCTIONS = Functions(
    # PyTorch's default threshold=20 switches to x where log(1 + e**x) is still 2e-9 away from it;
    # at 40 the switch is exact in float64, like our formula.
    softplus=lambda x: F.softplus(x, threshold=40.0),
    silu=F.silu,
    gelu=F.gelu,  # the exact form x * Phi(x), PyTorch's default
    leaky_relu=F.leaky_relu,
    sum=lambda nodes, c: torch.stack(nodes).sum() + c,
    dot=lambda nodes, cs: torch.dot(torch.stack(nodes), torch.tensor(cs, dtype=torch.float64)),
)
TORCH_UNARY = {
    "neg": torch.neg,
    "abs": torch.abs,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": TORCH_FUNCTIONS.softplus,
    "silu": F.silu,
    "gelu": F.gelu,
    "erf": torch.erf,
    "sin": torch.sin,
    "cos": torch.cos,
}


def _leaf(x: float):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _close(ours: float, theirs) -> bool:
    return math.isclose(ours, float(theirs), rel_tol=RTOL, abs_tol=ATOL)


def _grad(t) -> float:
    return 0.0 if t.grad is None else t.grad.item()


@given(graphs_with_points())
def test_random_graphs_have_the_values_and_gradients_pytorch_computes(graph_and_point):
    graph, xs = graph_and_point
    ours, theirs = [Value(x) for x in xs], [_leaf(x) for x in xs]
    our_nodes = build(graph, ours)
    their_nodes = build(graph, theirs, TORCH_FUNCTIONS)
    our_nodes[-1].backward()
    their_nodes[-1].backward()
    for k, (node, tensor) in enumerate(zip(our_nodes, their_nodes)):
        assert _close(node.data, tensor.item()), f"node {k}: {node.data} vs {tensor.item()}"
    for i, (leaf, tensor) in enumerate(zip(ours, theirs)):
        assert _close(leaf.grad, _grad(tensor)), f"x{i}: {leaf.grad} vs {_grad(tensor)}"


def _check_unary(op: str, x: float) -> None:
    ours, theirs = Value(x), _leaf(x)
    out = UNARY_CALLS[op](ours)
    expected = TORCH_UNARY[op](theirs)
    out.backward()
    expected.backward()
    assert _close(out.data, expected.item())
    assert _close(ours.grad, _grad(theirs))


@pytest.mark.parametrize("op", sorted(TORCH_UNARY))
@given(data=st.data())
def test_each_function_matches_pytorch_inside_its_domain(op, data):
    _check_unary(op, data.draw(UNARY_DOMAINS[op]))


@pytest.mark.parametrize("op", ["relu", "abs", "sqrt", "softplus", "sigmoid", "gelu", "silu"])
def test_each_function_matches_pytorch_at_zero(op):
    _check_unary(op, 0.0)


@pytest.mark.parametrize("op", ["tanh", "sigmoid", "softplus", "silu", "gelu", "erf"])
@pytest.mark.parametrize("x", [-1e4, -1e3, -40.0, 40.0, 1e3, 1e4])
def test_saturating_functions_match_pytorch_far_out(op, x):
    _check_unary(op, x)


@given(x=reals(-5.0, 5.0), alpha=reals(0.0, 1.0))
def test_leaky_relu_matches_pytorch_including_at_zero(x, alpha):
    for point in (x, 0.0):
        ours, theirs = Value(point), _leaf(point)
        out, expected = ours.leaky_relu(alpha), F.leaky_relu(theirs, alpha)
        out.backward()
        expected.backward()
        assert _close(out.data, expected.item()) and _close(ours.grad, _grad(theirs))


@given(base=reals(0.1, 5.0), exponent=reals(-3.0, 3.0))
def test_power_with_a_value_exponent_matches_pytorch(base, exponent):
    x, y = Value(base), Value(exponent)
    tx, ty = _leaf(base), _leaf(exponent)
    (x**y).backward()
    (tx**ty).backward()
    assert _close(x.grad, _grad(tx)) and _close(y.grad, _grad(ty))
