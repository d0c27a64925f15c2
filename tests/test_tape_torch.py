"""A tape runs on PyTorch tensors as on NumPy arrays: the same traced program, tensors out on the
arguments' device and in their dtype, values and gradients equal to the eager engine's (1e-12 in
float64, float32's precision in float32), the eager engine's exceptions, guards checked."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import KINKS, evaluate, graphs_with_points, reals
from test_trace import agree, eager, traced

from autograd import GuardError, Value, dot, max_values, trace
from nn import MLP
from nn.losses import cross_entropy

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

NO_CUDA = "no CUDA device here (torch.cuda.is_available() is False)"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]

# float32 keeps 24 bits (6e-8 relative): a graph of up to ten rules loses some of them, as the
# float64 comparison loses a few of its 53, and more where it is ill-conditioned (cos(138) moves
# by 138 * 6e-8 when its argument is rounded): the float32 test keeps to graphs whose numbers stay
# below 100 and allows 1e-4 of the largest of them (the scale `eager` reports).
FLOAT32_TOLERANCE = 1e-4


def clear_of_kinks(graph, point) -> bool:
    """No operand of abs, relu or leaky_relu within float32's reach of 0, where a rounding may
    take the other side of the kink (a constant of 1e-156 is 0 in float32)."""
    data = evaluate(graph, point)
    return all(abs(data[i]) > 1e-3 for s in graph.steps if s.op in KINKS for i in s.operands)


def random_batch(data, n_inputs):
    size = data.draw(st.sampled_from([0, 1, data.draw(st.integers(2, 6))]), label="batch size")
    points = [
        data.draw(st.lists(reals(-2.0, 2.0), min_size=n_inputs, max_size=n_inputs))
        for _ in range(size)
    ]
    columns = [np.array([p[i] for p in points], dtype=float) for i in range(n_inputs)]
    return points, columns


@pytest.mark.parametrize("device", DEVICES)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=graphs_with_points(), data=st.data())
def test_a_tape_on_float64_tensors_equals_the_eager_engine_and_the_numpy_tape(device, case, data):
    graph, xs = case
    tape = traced(graph, xs)
    points, columns = random_batch(data, len(xs))
    expected = [eager(graph, point) for point in points]
    assume(all(math.isfinite(s) and s < 1e6 for _, _, s in expected))
    values, gradients = tape.value_and_grad(*(torch.tensor(c, device=device) for c in columns))
    on_numpy, gradients_on_numpy = tape.value_and_grad(*columns)
    assert type(values) is torch.Tensor and values.dtype == torch.float64
    assert values.device.type == device and all(g.device.type == device for g in gradients)
    assert values.shape == (len(points),) and all(g.shape == (len(points),) for g in gradients)
    for j, (value, gradient, scale) in enumerate(expected):
        assert agree(float(values[j]), value, scale)
        assert agree(float(values[j]), float(on_numpy[j]), scale)
        for i in range(len(xs)):
            assert agree(float(gradients[i][j]), gradient[i], scale)
            assert agree(float(gradients[i][j]), float(gradients_on_numpy[i][j]), scale)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=graphs_with_points(), data=st.data())
def test_a_tape_on_float32_tensors_computes_in_float32_to_its_precision(case, data):
    graph, xs = case
    tape = traced(graph, xs)
    points, columns = random_batch(data, len(xs))
    points = [np.float32(point).tolist() for point in points]  # the inputs float32 can hold
    expected = [eager(graph, point) for point in points]
    assume(all(math.isfinite(s) and s < 100.0 for _, _, s in expected))
    assume(all(clear_of_kinks(graph, point) for point in points))
    X = [torch.tensor(column, dtype=torch.float32) for column in columns]
    values, gradients = tape.value_and_grad(*X)
    assert values.dtype == torch.float32 and all(g.dtype == torch.float32 for g in gradients)
    for j, (value, gradient, scale) in enumerate(expected):
        assert abs(float(values[j]) - value) <= FLOAT32_TOLERANCE * scale
        for i in range(len(xs)):
            assert abs(float(gradients[i][j]) - gradient[i]) <= FLOAT32_TOLERANCE * scale


def test_an_mlp_with_cross_entropy_on_tensors_equals_numpy_and_adds_float_gradients():
    # affine steps (strided weight views), max and sum steps, parameters' gradients
    model = MLP(3, [8, 4], seed=0)
    tape = trace(lambda x: cross_entropy([model(x)], [2]), [0.1, 0.2, 0.3])
    X = np.random.default_rng(0).normal(size=(50, 3))
    model.zero_grad()
    losses, (dX,) = tape.value_and_grad(X, accumulate="mean")
    on_numpy = [p.grad for p in model.parameters()]
    model.zero_grad()
    found, (dX_found,) = tape.value_and_grad(torch.tensor(X), accumulate="mean")
    assert all(type(p.grad) is float for p in model.parameters())
    assert np.allclose(found.numpy(), losses, rtol=1e-12, atol=1e-14)
    assert np.allclose(dX_found.numpy(), dX, rtol=1e-12, atol=1e-14)
    assert np.allclose([p.grad for p in model.parameters()], on_numpy, rtol=1e-12, atol=1e-14)


def test_parameters_are_read_afresh_at_every_call_on_tensors_too():
    w = Value(2.0)
    tape = trace(lambda x: w * x, 1.0)
    X = torch.tensor([1.0, 3.0], dtype=torch.float64)
    assert tape(X).tolist() == [2.0, 6.0]
    w.data = -1.0
    assert tape(X).tolist() == [-1.0, -3.0]
    assert tape(X.float()).tolist() == [-1.0, -3.0]
    assert tape(X, params=torch.tensor([4.0])).tolist() == [4.0, 12.0]  # params= as a tensor
    assert tape(X, params=[0.5]).tolist() == [0.5, 1.5]


def test_vjp_on_tensors_takes_tensor_cotangents_and_gives_tensors():
    w = Value(0.5)
    tape = trace(lambda x, ys: [w * x * ys[0], (x + ys[1]).tanh()], 1.0, [2.0, 3.0])
    X, Y = torch.tensor([0.5, -1.0]), torch.tensor([[1.0, 2.0], [3.0, -4.0]])
    outputs, pullback = tape.vjp(X, Y)
    assert outputs.shape == (2, 2) and outputs.dtype == torch.float32
    found = pullback(torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    dx, dy = found.arguments
    assert dx.tolist() == [0.5 * 1.0, 0.5 * 3.0] and dy[:, 0].tolist() == [0.25, -0.5]
    assert type(found.parameters) is torch.Tensor
    assert found.parameters.tolist() == [0.5 * 1.0 + -1.0 * 3.0]  # d/dw: x * ys[0], summed


def test_an_argument_that_requires_grad_is_read_and_nothing_is_recorded_under_no_grad():
    tape = trace(lambda x: x.exp(), 0.0)
    X = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():  # in grad mode it is refused (tests/test_tape_edges.py)
        value, (dx,) = tape.value_and_grad(X)
    assert not value.requires_grad and not dx.requires_grad
    assert torch.equal(value, torch.exp(X.detach()))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "f, X, error, message",
    [
        (lambda x: x.log(), [1.0, 0.0], ValueError, "log(0.0) needs a positive number"),
        (lambda x: x.sqrt(), [4.0, 1.0, -1.0], ValueError, "sqrt(-1.0) needs a non-negative"),
        (lambda x: 1.0 / x, [2.0, 0.0], ZeroDivisionError, "division by zero"),
        (lambda x: x.exp(), [1.0, 1000.0], OverflowError, "exp(1000.0) is too large"),
    ],
    ids=["log(0)", "sqrt(-1)", "division by zero", "overflow"],
)
def test_domain_errors_on_tensors_raise_as_in_eager_mode_naming_the_example(
    dtype, f, X, error, message
):
    tape = trace(f, 2.0)
    bad = len(X) - 1
    with pytest.raises(error) as raised:
        tape(torch.tensor(X, dtype=getattr(torch, dtype)))
    with pytest.raises(error):
        f(Value(X[bad]))
    assert message in str(raised.value)
    assert f"(example {bad} of the batch)" in str(raised.value)


def test_nan_and_infinite_inputs_give_the_eager_values_on_tensors():
    tape = trace(lambda x: max_values([x, x * 0.5]).relu() + x.tanh(), 1.0)
    X = [math.nan, math.inf, -math.inf, 2.0]
    found = tape(torch.tensor(X, dtype=torch.float64)).tolist()
    expected = [(max_values([Value(x), Value(x) * 0.5]).relu() + Value(x).tanh()).data for x in X]
    assert [str(a) for a in found] == [str(b) for b in expected]


def test_in_float32_a_result_beyond_its_range_is_an_infinity_as_in_pytorch():
    tape = trace(lambda x: x.exp(), 0.0)
    assert tape(torch.tensor([100.0])).tolist() == [math.inf]  # float32 ends near 3.4e38
    assert tape(torch.tensor([100.0], dtype=torch.float64)).tolist() == [math.exp(100.0)]
    with pytest.raises(OverflowError, match="example 0"):  # beyond float64's, as eager mode
        tape(torch.tensor([1000.0]))


def branchy(x):
    if x > 0.5:
        return x * 2.0
    return x * 3.0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_guards_are_checked_on_tensors_naming_the_example(dtype):
    tape = trace(branchy, 1.0)
    assert tape(torch.tensor([1.0, 2.0], dtype=dtype)).tolist() == [2.0, 4.0]
    with pytest.raises(GuardError, match="for example 2 of the batch it is False"):
        tape(torch.tensor([1.0, 2.0, 0.5], dtype=dtype))
    read = trace(lambda x, y: y * 2 if float(x) > 0 else y, 0.1, 1.0)  # read 0.1: in float32 too
    assert read(torch.tensor([0.1], dtype=dtype), torch.tensor([3.0], dtype=dtype)).tolist() == [6]


def test_repeated_operands_are_added_in_rounds_or_at_once_as_on_numpy():
    # x * x repeats a row within a step; max_values of 20 copies repeats it past 16 rounds
    tape = trace(lambda x, y: x * x + max_values([x] * 20) * y + dot([x] * 20, [y] * 20), 1.0, 2.0)
    X, Y = np.array([0.5, -2.0, 3.0]), np.array([1.0, 2.0, -1.0])
    _, expected = tape.value_and_grad(X, Y)
    _, found = tape.value_and_grad(torch.tensor(X), torch.tensor(Y))
    assert all(np.allclose(a.numpy(), b, rtol=1e-12) for a, b in zip(found, expected))


def test_dot_products_of_every_mix_of_parameters_and_inputs_on_tensors_equal_numpy():
    # a layer (one matmul), inputs on both sides (n-ary), static rows copied across the batch
    W = [[Value(w) for w in row] for row in ([0.5, -1.0, 2.0], [1.5, 0.25, -0.5])]

    def f(xs, ys):
        both = dot(xs, ys)
        mixed = dot([xs[0], *W[0][1:]], [W[1][0], *ys[1:]])
        return [*(dot(w, xs) for w in W), both, mixed, dot(ys, W[1])]

    tape = trace(f, [0.5] * 3, [0.25] * 3)
    assert {"matmul", "n-ary", "copy"} <= {level.kind for level in tape.levels}
    rng = np.random.default_rng(1)
    X, Y, C = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)), rng.normal(size=(7, 5))
    outputs, pullback = tape.vjp(X, Y)
    expected = pullback(C)
    found_outputs, pullback = tape.vjp(torch.tensor(X), torch.tensor(Y))
    found = pullback(torch.tensor(C))
    assert np.allclose(found_outputs.numpy(), outputs, rtol=1e-12, atol=1e-14)
    for a, b in zip((*found.arguments, found.parameters), (*expected.arguments, expected[1])):
        assert np.allclose(a.numpy(), b, rtol=1e-12, atol=1e-14)


def test_arguments_must_all_be_tensors_of_float64_or_float32_on_one_device():
    tape = trace(lambda x, y: x * y, 1.0, 2.0)
    with pytest.raises(TypeError, match="every one as a PyTorch tensor"):
        tape(torch.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"float64 or float32.*torch.float16.*\.double\(\)"):
        tape(torch.ones(2, dtype=torch.float16), torch.ones(2))
    with pytest.raises(TypeError, match="must hold numbers, got a torch.bool tensor"):
        tape(torch.ones(2), torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"one device, got \['cpu', 'meta'\]"):
        tape(torch.ones(2), torch.ones(2, device="meta"))
    with pytest.raises(ValueError, match=r"argument 1 must have shape \(2,\)"):
        tape(torch.ones(2), torch.ones(3))
    assert tape(torch.ones(2), torch.tensor([1, 2])).dtype == torch.float32
    assert tape(torch.tensor([1, 2]), torch.tensor([3, 4])).dtype == torch.float64
    assert tape(torch.ones(2), torch.ones(2, dtype=torch.float64)).dtype == torch.float64


@needs_cuda
def test_a_model_on_a_cuda_device_equals_the_numpy_tape_and_raises_and_guards_as_on_the_cpu():
    model = MLP(3, [8, 4], seed=0)
    tape = trace(lambda x: cross_entropy([model(x)], [2]), [0.1, 0.2, 0.3])
    X = np.random.default_rng(0).normal(size=(64, 3))
    model.zero_grad()
    losses, (dX,) = tape.value_and_grad(X, accumulate="sum")
    on_numpy = [p.grad for p in model.parameters()]
    model.zero_grad()
    found, (dX_found,) = tape.value_and_grad(torch.tensor(X, device="cuda"), accumulate="sum")
    assert found.device.type == "cuda" and dX_found.device.type == "cuda"
    assert np.allclose(found.cpu().numpy(), losses, rtol=1e-12, atol=1e-14)
    assert np.allclose(dX_found.cpu().numpy(), dX, rtol=1e-12, atol=1e-14)
    assert np.allclose([p.grad for p in model.parameters()], on_numpy, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"log\(0.0\).*\(example 1 of the batch\)"):
        trace(lambda x: x.log(), 1.0)(torch.tensor([1.0, 0.0], device="cuda"))
    with pytest.raises(GuardError, match="for example 1 of the batch"):
        trace(branchy, 1.0)(torch.tensor([1.0, 0.0], device="cuda"))


def test_many_outputs_repeated_and_static_read_and_seed_on_tensors_as_on_arrays():
    from autograd import batch_mean

    w = Value(2.0)
    tape = trace(lambda x: [x * w, w * 3.0, x * w, batch_mean(x)], 1.0)
    X = np.array([1.0, 2.0, 4.0])
    outputs, pullback = tape.vjp(X)
    on_numpy = pullback(np.ones_like(outputs))
    tensors, pullback = tape.vjp(torch.tensor(X))
    on_torch = pullback(torch.ones_like(tensors))
    assert tensors.tolist() == outputs.tolist()
    # d/dx of x w + x w + batch_mean(x) summed over the batch: w + w + 1; d/dw: 2 sum(x) + 3 B
    assert on_torch.arguments[0].tolist() == on_numpy.arguments[0].tolist() == [5.0] * 3
    assert on_torch.parameters.tolist() == on_numpy.parameters.tolist() == [23.0]
