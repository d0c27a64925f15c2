"""Convolutional networks in a tape: each conv layer one shared-weight matrix product (im2col),
pooling as array operations, equal to the eager engine; fit(compile=True) as eager training."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, dot, trace
from nn import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
)
from nn.layers.windows import output_size

np = pytest.importorskip("numpy")


def nest(flat: list, shape: tuple[int, ...]) -> list:
    """A flat list as nested lists of `shape`."""
    if len(shape) == 1:
        return list(flat)
    width = math.prod(shape[1:])
    return [nest(flat[i * width : (i + 1) * width], shape[1:]) for i in range(shape[0])]


def flat(nested) -> list:
    if not isinstance(nested, list):
        return [nested]
    return [v for part in nested for v in flat(part)]


def tape_of(model, shape):
    n = math.prod(shape)
    example = [0.1 * math.sin(i + 1) for i in range(n)]
    return trace(lambda x: flat(model(nest(x, shape))), example, parameters=model.parameters())


def assert_tape_equals_eager(model, shape, batch=3, seed=0, X=None):
    """Outputs, the inputs' gradients and the parameters' gradients for cotangents C: the tape
    against the eager engine example by example, to 1e-12 of the largest number."""
    tape = tape_of(model, shape)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, math.prod(shape))) if X is None else X
    outputs, pullback = tape.vjp(X)
    C = rng.normal(size=outputs.shape)
    found = pullback(C)
    for p in model.parameters():
        p.grad = 0.0
    for b in range(len(X)):
        xs = [Value(float(v)) for v in X[b]]
        out = flat(model(nest(xs, shape)))
        expected = [o.data for o in out]
        scale = max(1.0, *map(abs, expected))
        assert np.allclose(outputs[b], expected, rtol=0, atol=1e-12 * scale)
        sum(o * c for o, c in zip(out, C[b].tolist())).backward()
        dx = [x.grad for x in xs]
        assert np.allclose(found.arguments[0][b], dx, rtol=0, atol=1e-12 * max(1.0, *map(abs, dx)))
    eager = [p.grad for p in tape.parameters]
    scale = max(1.0, *map(abs, eager))
    assert np.allclose(found.parameters, eager, rtol=0, atol=1e-12 * scale)
    return tape


def shared(tape):
    return [level for level in tape.levels if level.kind.startswith("shared")]


# --- one product per layer ---------------------------------------------------------------------
def test_each_conv_layer_of_the_mnist1d_cnn_is_one_shared_matrix_product():
    model = Sequential(
        Conv1d(1, 25, 5, stride=2, padding=1, seed=0),
        ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, seed=1),
        ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, seed=2),
        ReLU(),
        Flatten(),
        Linear(125, 10, seed=3),
    )
    tape = assert_tape_equals_eager(model, (1, 40), batch=4)
    # (filters, weights per filter, positions) for lengths 40 -> 19 -> 10 -> 5
    assert [level.shape for level in shared(tape)] == [(25, 5, 19), (25, 75, 10), (25, 75, 5)]
    assert [level.nodes for level in shared(tape)] == [25 * 19, 25 * 10, 25 * 5]
    assert all(level.kind == "shared affine" and level.rule == "dot+add" for level in shared(tape))
    assert [level.kind for level in tape.levels] == [
        *["shared affine", "elementwise"] * 3,
        "affine",  # the Linear head stays one affine step
    ]


def test_a_conv2d_layer_with_padding_is_one_step_and_no_bias_makes_it_a_matmul():
    model = Sequential(Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, bias=False, seed=4), Tanh())
    tape = assert_tape_equals_eager(model, (2, 5, 4))
    (level,) = shared(tape)
    assert (level.kind, level.rule) == ("shared matmul", "dot")
    positions = output_size(5, 3, 2, 1, 1) * output_size(4, 2, 1, 1, 1)
    assert level.shape == (3, 2 * 3 * 2, positions) and level.nodes == 3 * positions


def test_pooling_is_one_array_operation_per_layer():
    model = Sequential(Conv1d(2, 4, 3, seed=0), MaxPool1d(2), Conv1d(4, 3, 2, seed=1), AvgPool1d(3))
    tape = assert_tape_equals_eager(model, (2, 16))
    kinds = [(level.rule, level.kind, level.nodes) for level in tape.levels]
    assert ("max", "n-ary", 4 * 7) in kinds  # 4 channels x 7 windows of 2: one max over them
    assert ("sum", "n-ary", 3 * 2) in kinds  # the average's sums, then one division
    assert len(shared(tape)) == 2 and len(tape.levels) == 5


def test_a_linear_layer_applied_to_each_token_is_one_shared_step_and_an_mlp_is_unchanged():
    layer = Linear(3, 2, seed=0)
    tape = trace(lambda xs: [y for t in range(4) for y in layer(xs[3 * t : 3 * t + 3])], [0.5] * 12)
    (level,) = shared(tape)
    assert level.shape == (2, 3, 4)
    X = np.random.default_rng(0).normal(size=(5, 12))
    rows = X.tolist()
    expected = [[y.data for t in range(4) for y in layer(row[3 * t : 3 * t + 3])] for row in rows]
    assert np.allclose(tape(X), expected, rtol=1e-12)
    from nn import MLP

    model = MLP(4, [8, 8, 1], seed=0)
    assert not shared(trace(lambda x: model(x), [0.0] * 4))


def test_weights_shared_irregularly_stay_with_the_general_steps():
    a = [Value(0.5), Value(-1.5), Value(2.0)]
    b = [Value(1.0), Value(0.25), Value(-0.75)]

    def f(xs):
        # filter a's weights in another order at the second position, b's not: no one slot
        # per weight serves both filters, so no shared step
        first, second = xs[:3], xs[3:]
        return [dot(a, first), dot(b, first), dot([a[1], a[0], a[2]], second), dot(b, second)]

    def g(xs):  # one filter reordered: each weight its own slot, a shared step
        return [dot(a, xs[:3]), dot([a[1], a[0], a[2]], xs[3:])]

    X = np.random.default_rng(1).normal(size=(4, 6))
    for function, steps in ((f, 0), (g, 1)):
        tape = trace(function, [0.1] * 6)
        assert len(shared(tape)) == steps
        expected = [[v.data for v in function([Value(x) for x in row])] for row in X.tolist()]
        assert np.allclose(tape(X), expected, rtol=1e-12)


# --- the numbers -------------------------------------------------------------------------------
def test_a_non_finite_weight_a_padded_window_leaves_out_gives_the_eager_values():
    conv = Conv1d(1, 2, 3, padding=1, seed=0)
    conv.weight[0][0][0].data = math.inf  # position 0 reads no input with it
    X = np.array([[1.0, 2.0, -1.0, 0.5], [0.0, 1.0, 1.0, 1.0]])
    tape = tape_of(conv, (1, 4))
    found = tape(X)
    for row, got in zip(X.tolist(), found):
        expected = [v.data for v in flat(conv(nest([Value(x) for x in row], (1, 4))))]
        assert np.array_equal(got, expected, equal_nan=True)
    assert math.isfinite(found[0][0]) and found[0][1] == math.inf


def test_inf_minus_inf_in_a_window_raises_as_the_eager_engine_naming_the_example():
    conv = Conv1d(1, 1, 2, seed=0)
    conv.weight[0][0][0].data, conv.weight[0][0][1].data = 1.0, 1.0
    tape = tape_of(conv, (1, 3))
    with pytest.raises(ValueError) as eager:
        conv([[Value(math.inf), Value(-math.inf), Value(0.0)]])
    with pytest.raises(ValueError, match="example 1 of the batch") as compiled:
        tape(np.array([[0.0, 1.0, 2.0], [math.inf, -math.inf, 0.0]]))
    assert str(eager.value).split(":")[0] == str(compiled.value).split(":")[0]


@st.composite
def conv_nets(draw):
    """A conv layer of random size, stride, padding and dilation, then maybe a pooling layer."""
    dims = draw(st.sampled_from([1, 2]))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sizes = tuple(draw(st.integers(3, 7)) for _ in range(dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    for n, k, p, d in zip(sizes, kernel, padding, dilation):
        if d * (k - 1) + 1 > n + 2 * p:
            dilation = (1,) * dims
    out = tuple(map(output_size, sizes, kernel, stride, padding, dilation))
    conv = (Conv1d, Conv2d)[dims - 1](
        c_in,
        c_out,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 1000)),
    )
    layers = [conv, ReLU()]
    pool_kind = draw(st.sampled_from(["none", "max", "avg"]))
    pool_kernel = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    if pool_kind != "none" and all(k <= n for k, n in zip(pool_kernel, out)):
        pool_padding = tuple(draw(st.integers(0, k // 2)) for k in pool_kernel)
        pools = {"max": (MaxPool1d, MaxPool2d), "avg": (AvgPool1d, AvgPool2d)}[pool_kind]
        layers.append(pools[dims - 1](pool_kernel, padding=pool_padding))
    return Sequential(*layers), (c_in, *sizes)


@settings(max_examples=30, deadline=None)
@given(conv_nets(), st.integers(0, 2**16))
def test_random_conv_and_pool_configurations_equal_the_eager_engine(net, seed):
    model, shape = net
    tape = assert_tape_equals_eager(model, shape, batch=2, seed=seed)
    conv = model[0]
    steps = [level for level in tape.levels if level.rule.startswith("dot")]
    if _some_window_is_whole(conv, shape[1:]):
        # whatever its configuration, the conv layer is one step (a plain matrix product when
        # a single window reads the input, the others lying wholly in the padding)
        (level,) = steps
        assert level.nodes % conv.out_channels == 0
        assert level.kind.startswith("shared") or level.kind in ("affine", "matmul")
    # else no node holds a whole filter, which the graph then cannot tell apart from several
    # filters: a step for each part of the kernel the windows use


def _some_window_is_whole(conv, sizes) -> bool:
    """Whether some window of `conv` lies wholly inside the input (along every axis)."""
    args = (conv.kernel_size, conv.stride, conv.padding, conv.dilation)
    return all(
        any(0 <= o * s - p and o * s - p + d * (k - 1) < n for o in range(output_size(n, *a)))
        for n, *a in zip(sizes, *args)
        for k, s, p, d in [a]
    )


def test_a_batch_of_one_and_of_none_and_floats_in_floats_out():
    model = Sequential(Conv1d(1, 2, 3, padding=1, seed=0), MaxPool1d(2))
    tape = tape_of(model, (1, 6))
    x = [0.5, -1.0, 2.0, 0.0, 1.5, -0.5]
    expected = [v.data for v in flat(model(nest([Value(v) for v in x], (1, 6))))]
    assert np.allclose(tape(x), expected, rtol=1e-12)
    assert np.allclose(tape(np.array([x]))[0], expected, rtol=1e-12)
    assert tape(np.zeros((0, 6))).shape == (0, len(expected))
    _, pullback = tape.vjp(np.zeros((0, 6)))
    assert pullback(np.zeros((0, len(expected)))).arguments[0].shape == (0, 6)


def test_on_torch_tensors_a_conv_tape_equals_numpy():
    torch = pytest.importorskip("torch")
    model = Sequential(Conv2d(2, 3, 2, padding=1, seed=0), ReLU(), AvgPool2d(2), Flatten())
    tape = tape_of(model, (2, 4, 3))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 24))
    outputs, pullback = tape.vjp(X)
    C = rng.normal(size=outputs.shape)
    expected = pullback(C)
    found_outputs, pullback = tape.vjp(torch.tensor(X))
    found = pullback(torch.tensor(C))
    assert np.allclose(found_outputs.numpy(), outputs, rtol=1e-12, atol=1e-12)
    assert np.allclose(found.arguments[0].numpy(), expected.arguments[0], atol=1e-12)
    assert np.allclose(found.parameters.numpy(), expected.parameters, atol=1e-12)


# --- training ----------------------------------------------------------------------------------
def test_fit_compiled_trains_a_small_cnn_to_eager_trainings_weights():
    from nn.losses import cross_entropy
    from nn.optim import Adam
    from nn.train import fit

    rng = np.random.default_rng(0)
    X = [[row] for row in rng.normal(size=(24, 12)).tolist()]  # 1 channel x 12
    y = [int(v) for v in rng.integers(0, 3, size=24)]

    def train(compile):
        model = Sequential(
            Conv1d(1, 4, 3, stride=2, padding=1, seed=0),
            ReLU(),
            MaxPool1d(2, padding=1),
            Conv1d(4, 3, 2, seed=1),
            ReLU(),
            Flatten(),
            Linear(3 * 3, 3, seed=2),
        )
        optimizer = Adam(model.parameters(), lr=0.02)
        fit(model, cross_entropy, optimizer, (X, y), epochs=3, batch_size=8, seed=0,
            progress=False, compile=compile)  # fmt: skip
        return model

    eager, compiled = train(False), train(True)
    gap = max(abs(p.data - q.data) for p, q in zip(eager.parameters(), compiled.parameters()))
    assert gap < 1e-9
    moved = max(abs(p.data - q.data) for p, q in zip(eager.parameters(), train_untouched()))
    assert moved > 1e-3  # training changed the weights: the comparison means something


def train_untouched():
    model = Sequential(
        Conv1d(1, 4, 3, stride=2, padding=1, seed=0),
        ReLU(),
        MaxPool1d(2, padding=1),
        Conv1d(4, 3, 2, seed=1),
        ReLU(),
        Flatten(),
        Linear(3 * 3, 3, seed=2),
    )
    return model.parameters()
