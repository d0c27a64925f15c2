"""autograd.checkpoint: the graph inside f is recomputed in backward(), with the plain gradients."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import (
    TraceError,
    Value,
    adjoints,
    checkpoint,
    explain,
    grad,
    hessian,
    jvp,
    no_grad,
    topological_order,
    trace,
)
from nn import MLP
from tests.strategies import build, graphs_with_points


def grads_of(run, leaves):
    for leaf in leaves:
        leaf.grad = 0.0
    run().backward()
    return [leaf.grad for leaf in leaves]


def close(a, b, tol=1e-12):
    return all(abs(x - y) <= tol * max(1.0, abs(x)) for x, y in zip(a, b))


@settings(max_examples=40, deadline=None)
@given(graphs_with_points())
def test_random_graph_checkpointed_has_the_plain_gradients_bit_for_bit(case):
    graph, xs = case
    inputs = [Value(x) for x in xs]
    plain = grads_of(lambda: build(graph, inputs)[-1] * 1.5, inputs)
    wrapped = checkpoint(lambda *a: build(graph, a)[-1])
    assert grads_of(lambda: wrapped(*inputs) * 1.5, inputs) == plain


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_random_mlp_with_closed_over_weights_gets_the_plain_gradients(seed, blocks):
    rng = random.Random(seed)
    kinds = [rng.choice(["tanh", "relu"]) for _ in range(blocks)]
    layers = [MLP(3, [4, 3], activation=kind, seed=i) for i, kind in enumerate(kinds)]
    weights = [p for layer in layers for p in layer.parameters()]
    x = [Value(rng.uniform(-1, 1)) for _ in range(3)]

    def net(block):
        h = x
        for layer in layers:
            h = block(layer)(h)
        return sum(v * v for v in h)

    plain = grads_of(lambda: net(lambda layer: layer), weights + x)
    checkpointed = grads_of(lambda: net(checkpoint), weights + x)
    assert close(checkpointed, plain)


def test_the_graph_kept_is_a_joint_node_and_its_outputs():
    w = Value(0.5)
    x = Value(2.0)
    y = checkpoint(lambda a: (w * a).tanh() * a + a.exp())(x)
    order = topological_order(y)
    assert len(order) == 4  # output, joint node, and its two parents
    assert {id(p) for p in y.parents[0].parents} == {id(w), id(x)}


def test_several_outputs_in_nested_lists_and_numbers_pass_through():
    w = Value(-0.3)

    def f(a, b):
        u = (a * w).sin()
        return [u * b, ((u + b).sigmoid(), 3.0)], u

    def loss(outs):
        (p, (q, c)), u = outs
        return p * q + u * c + q

    a, b = Value(0.4), Value(1.7)
    plain = grads_of(lambda: loss(f(a, b)), [a, b, w])
    outs = checkpoint(f)(a, b)
    assert outs[0][1][1] == 3.0 and isinstance(outs[0][1], tuple)
    assert close(grads_of(lambda: loss(checkpoint(f)(a, b)), [a, b, w]), plain)


def test_an_output_left_unused_gets_no_adjoint_and_unused_inputs_none():
    a, b = Value(0.4), Value(1.7)
    first, _ = checkpoint(lambda x, y: (x * 2.0, y * 3.0))(a, b)
    first.backward()
    assert (a.grad, b.grad) == (2.0, 0.0)


def test_nested_checkpoints_recompute_and_agree():
    w = Value(0.8)

    def inner(x):
        return (x * x * w).sin()

    def outer(x):
        return checkpoint(inner)(x).exp() + checkpoint(inner)(x * 2.0)

    x = Value(0.3)
    plain = grads_of(lambda: inner(x).exp() + inner(x * 2.0), [x, w])
    assert grads_of(lambda: checkpoint(outer)(x), [x, w]) == plain


def test_second_backward_and_adjoints_recompute_again():
    w = Value(1.3)
    x = Value(0.2)
    y = checkpoint(lambda a: (a * w).tanh() ** 2)(x)
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == 2 * first
    assert adjoints(y)[x] == first


def test_higher_derivatives_recompute_with_value_adjoints():
    def f(a, b):
        return (a * b).sin() * a.exp() + b * b * a

    g = checkpoint(f)
    plain = hessian(f)(0.3, -1.2)
    through = hessian(lambda a, b: g(a, b) * 1.0)(0.3, -1.2)
    assert all(close(r, s) for r, s in zip(through, plain))
    assert grad(g, argnums=(0, 1))(0.3, -1.2) == grad(f, argnums=(0, 1))(0.3, -1.2)


def test_under_no_grad_f_just_runs():
    x = Value(1.0)
    with no_grad():
        y = checkpoint(lambda a: a * 2.0)(x)
    assert y.parents == () and y.data == 2.0


def test_a_function_that_changes_between_call_and_backward_is_refused():
    rng = random.Random(0)
    y = checkpoint(lambda a: a * rng.random())(Value(2.0))
    with pytest.raises(RuntimeError, match="same values each time"):
        y.backward()


def test_a_recomputation_that_reads_a_new_outside_value_is_refused():
    others = iter([Value(1.0), Value(1.0)])
    y = checkpoint(lambda a: a * next(others))(Value(2.0))
    with pytest.raises(RuntimeError, match="not read the first time"):
        y.backward()


def test_forward_mode_tapes_and_explain_refuse_a_checkpoint_clearly():
    def f(a):
        return checkpoint(lambda x: x.tanh())(a) * 2.0

    with pytest.raises(TypeError, match="forward mode"):
        jvp(f, (0.3,), (1.0,))
    pytest.importorskip("numpy")
    with pytest.raises(TraceError, match="checkpoint"):
        trace(f, 0.3)
    with pytest.raises(TypeError, match="explain"):
        explain(f(Value(0.3)))


def test_checkpoint_needs_a_callable():
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3.0)


def test_agrees_with_torch_checkpoint_in_float64():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    def f(a, b):
        return (a * b).tanh() * a + (b - a).exp()

    x, y = Value(0.7), Value(-0.4)
    ours = grads_of(lambda: checkpoint(f)(x, y) ** 2, [x, y])
    tx = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(-0.4, dtype=torch.float64, requires_grad=True)
    (torch_checkpoint(f, tx, ty, use_reentrant=False) ** 2).backward()
    assert close(ours, [tx.grad.item(), ty.grad.item()])
