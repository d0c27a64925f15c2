"""Tapes at their edges (issue 23, silent wrong results): cotangents of the wrong shape, tensors
that require grad, Values closed over that are not leaves, tracing on a guard's boundary, one
example as a 1-D array, float32 arrays."""

import math
import threading

import pytest

from autograd import TraceError, Value, trace

np = pytest.importorskip("numpy")


# --- 1. a pullback's cotangents have the outputs' shape -----------------------------------------
def test_a_pullback_refuses_cotangents_of_another_shape_with_as_many_entries():
    tape = trace(lambda x: [x[0] * 1.0, x[0] * 10.0], [1.0])
    _, pullback = tape.vjp(np.array([[1.0], [2.0], [3.0]]))
    C = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert pullback(C).arguments[0][:, 0].tolist() == [1.0, 10.0, 11.0]
    with pytest.raises(ValueError, match=r"must have shape \(3, 2\).*got shape \(2, 3\)"):
        pullback(C.T)
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*got shape \(6,\)"):
        pullback(C.ravel())


def test_a_pullback_of_one_example_takes_the_outputs_form_only():
    _, pullback = trace(lambda x: x * 3.0, 1.0).vjp(2.0)
    assert pullback(1.0).arguments == (3.0,)
    with pytest.raises(ValueError, match=r"a number \(shape \(\)\).*got shape \(1,\)"):
        pullback([1.0])
    _, pullback = trace(lambda x: [x * 3.0, x * 4.0], 1.0).vjp(2.0)
    with pytest.raises(ValueError, match=r"a list of 2 numbers \(shape \(2,\)\).*\(1, 2\)"):
        pullback([[1.0, 0.0]])


# --- 2. a tape on tensors that require grad joins PyTorch's graph --------------------------------
W = 0.75  # a closed-over parameter of f, a plain float in its PyTorch twin


def f_of_values(w):
    def f(x):
        return [x[0] * x[1] + (w * x[2]).tanh(), (x[0] - x[2]).exp() * w, x[1] ** 3]

    return f


def f_in_torch(torch, X):
    x0, x1, x2 = X[:, 0], X[:, 1], X[:, 2]
    return torch.stack([x0 * x1 + torch.tanh(W * x2), torch.exp(x0 - x2) * W, x1**3], dim=1)


def gradient_of(torch, outputs_of, X):
    """X.grad of a loss mixing f's outputs with a term of X's own, as a PyTorch program would."""
    X = X.detach().clone().requires_grad_()
    outputs = outputs_of(X)
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=X.dtype)
    ((outputs * weights).sum() + (X**2).sum()).backward()
    return outputs.detach(), X.grad


def test_a_tape_on_tensors_that_require_grad_joins_pytorchs_graph():
    torch = pytest.importorskip("torch")
    tape = trace(f_of_values(Value(W)), [0.1, 0.2, 0.3])
    X = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    values, found = gradient_of(torch, tape, X)
    expected_values, expected = gradient_of(torch, lambda X: f_in_torch(torch, X), X)
    assert torch.allclose(values, expected_values, rtol=1e-12, atol=1e-12)
    assert torch.allclose(found, expected, rtol=1e-12, atol=1e-12)
    X32 = X.float().requires_grad_()
    tape(X32).sum().backward()
    assert X32.grad.dtype == torch.float32


def test_a_tape_called_again_before_backward_still_gives_each_call_its_gradient():
    torch = pytest.importorskip("torch")
    tape = trace(lambda x: x * x * x, 1.0)
    X = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    Y = torch.tensor([3.0, -1.0], dtype=torch.float64, requires_grad=True)
    (tape(X).sum() + 2 * tape(Y).sum()).backward()  # tape(Y) reused the tables of tape(X)
    assert X.grad.tolist() == [3.0, 12.0] and Y.grad.tolist() == [54.0, 6.0]
    Z = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    loss = tape(Z).sum()
    worker = threading.Thread(target=loss.backward)  # another thread has no tables of its own
    worker.start()
    worker.join()
    assert Z.grad.tolist() == [12.0]


def test_params_given_as_a_tensor_that_requires_grad_get_their_gradient_from_pytorch():
    torch = pytest.importorskip("torch")
    w = Value(2.0)
    tape = trace(lambda x: w * x * x, 1.0)
    X = torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    params = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    tape(X, params=params).sum().backward()
    assert params.grad.tolist() == [10.0] and X.grad.tolist() == [4.0, 12.0]
    assert w.grad == 0.0  # a tape's own parameters are not PyTorch's leaves


def test_a_tape_in_pytorchs_graph_refuses_what_it_cannot_join():
    torch = pytest.importorskip("torch")
    tape = trace(lambda x: x * x * x, 1.0)
    X = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(tape(X).sum(), X)  # first derivatives: fine
    assert gradient.tolist() == [3.0, 12.0]
    with pytest.raises(RuntimeError, match="create_graph=True.*autograd.hessian"):
        torch.autograd.grad(tape(X).sum(), X, create_graph=True)
    for call in (tape.value_and_grad, tape.vjp):
        with pytest.raises(RuntimeError, match=r"not differentiable by PyTorch.*X.detach\(\)"):
            call(X)
    with torch.no_grad():
        assert not tape(X).requires_grad and not tape.value_and_grad(X)[0].requires_grad
    assert tape.vjp(X.detach())[0].tolist() == [1.0, 8.0]


# --- 4. the gradient goes on behind a closed-over Value that is not a leaf -----------------------
def test_accumulate_reaches_the_leaves_behind_a_closed_over_non_leaf_value():
    w = Value(2.0)
    u = w * 3
    tape = trace(lambda x: x * u, 1.0)
    tape.value_and_grad(np.array([1.0, 2.0]), accumulate="sum")
    assert (w.grad, u.grad) == (9.0, 3.0)  # as (1 * u + 2 * u).backward() gives


def eager_totals(f, xs, values):
    for v in values:
        v.grad = 0.0
    sum(f(Value(x)) for x in xs).backward()
    return [v.grad for v in values]


def test_closed_over_non_leaves_sharing_ancestors_get_the_eager_engines_gradients():
    w, b = Value(0.5), Value(-1.5)
    u = w * b
    v = (u + w).tanh()  # u is both a parameter of the tape and behind v, w behind both

    def f(x):
        return x * u + (x * v).exp() * w + b

    xs = [0.3, -1.2, 2.0]
    expected = eager_totals(f, xs, [w, b, u, v])
    for value in (w, b, u, v):
        value.grad = 0.0
    tape = trace(f, 1.0)
    tape.value_and_grad(np.array(xs), accumulate="sum")
    found = [w.grad, b.grad, u.grad, v.grad]
    assert all(math.isclose(a, e, rel_tol=1e-12) for a, e in zip(found, expected))
    u.data = 5.0  # a closed-over Value's data is read at each call, as any parameter's
    assert tape(1.0) == 1.0 * 5.0 + math.exp(v.data) * w.data + b.data


# --- 12. tracing on a guard's boundary ----------------------------------------------------------
def test_tracing_on_a_decisions_boundary_names_the_decision_and_its_line():
    def f(x):
        if x > 0:
            return x * 2
        return x * 3

    with pytest.raises(TraceError, match=r"decision '>' at .*test_tape_edges.py:\d+ \(if x > 0:\)"):
        trace(f, 0.0)
    with pytest.raises(TraceError, match="boundary.*clearly on one side"):
        trace(f, 0.0)
    assert trace(f, 1.0)(0.5) == 1.0


# --- 13. one example as a 1-D array -------------------------------------------------------------
def test_one_example_as_a_1d_array_is_told_the_batch_shape_and_the_ways_to_pass_one():
    tape = trace(lambda x: x[0] * x[1] + x[2], [1.0, 2.0, 3.0])
    message = r"argument 0 must have shape \(B, 3\).*got \(3,\).*list of 3 numbers.*\(1, 3\)"
    with pytest.raises(ValueError, match=message):
        tape(np.array([1.0, 2.0, 3.0]))
    assert tape([1.0, 2.0, 3.0]) == 5.0 and tape(np.array([[1.0, 2.0, 3.0]])).tolist() == [5.0]


# --- 16. float32 arrays come back in float32 ----------------------------------------------------
def test_numpy_float32_batches_come_back_in_float32_computed_in_float64():
    w = Value(1.5)
    tape = trace(lambda x, y: [(x * y[0]).exp() * w, y[1] / x], 1.0, [1.0, 2.0])
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0.5, 2.0, 5), rng.normal(size=(5, 2))
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    outputs, pullback = tape.vjp(X32, Y32)
    found = pullback(np.ones((5, 2), dtype=np.float32))
    exact, exact_pullback = tape.vjp(X32.astype(float), Y32.astype(float))
    expected = exact_pullback(np.ones((5, 2)))
    assert outputs.dtype == np.float32 and np.array_equal(outputs, exact.astype(np.float32))
    assert [g.dtype for g in found.arguments] == [np.float32, np.float32]
    assert np.array_equal(found.arguments[1], expected.arguments[1].astype(np.float32))
    assert found.parameters.dtype == np.float64  # the parameters are floats: float64
    single = trace(lambda x: x * x, 1.0)
    value, (dx,) = single.value_and_grad(X32)
    assert value.dtype == dx.dtype == single(X32).dtype == np.float32
    assert single(X).dtype == np.float64 and tape(X32, Y).dtype == np.float64  # as promoted
    assert single(np.arange(3)).dtype == np.float64  # integers compute and come back in float64


def test_a_model_tapes_pullback_refuses_cotangents_of_another_shape_with_as_many_entries():
    # the same bug one level up: ModelTape's pullback reshaped whatever it was given
    from nn import BatchNorm1d, Linear, Sequential
    from nn.train.model_tape import ModelTape

    model = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3))
    forward = ModelTape(model, [0.5, -0.5], training=True)
    outputs, pull = forward.vjp(np.array([[1.0, 2.0], [3.0, -1.0]]))
    assert outputs.shape == (2, 3)
    pull(np.ones((2, 3)))
    with pytest.raises(
        ValueError, match=r"must have shape \(2, 3\), like the outputs, got shape \(3, 2\)"
    ):
        pull(np.ones((3, 2)))
