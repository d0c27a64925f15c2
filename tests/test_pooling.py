"""MaxPool1d/2d, AvgPool1d/2d and Flatten: PyTorch's outputs and gradients in float64, sizes,
errors that name the layer and the sizes, files, and the way to PyTorch and ONNX."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, sum_values
from nn import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Flatten,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
    export_onnx,
    from_torch,
    to_torch,
)

TOLERANCE = 1e-10
POOLS = {1: (MaxPool1d, AvgPool1d), 2: (MaxPool2d, AvgPool2d)}


def nested_values(rng: random.Random, shape: tuple[int, ...]) -> list:
    if len(shape) == 1:
        return [Value(rng.uniform(-2.0, 2.0)) for _ in range(shape[0])]
    return [nested_values(rng, shape[1:]) for _ in range(shape[0])]


def flat(nested) -> list:
    if isinstance(nested, (list, tuple)):
        return [v for part in nested for v in flat(part)]
    return [nested]


def shape_of(nested) -> tuple[int, ...]:
    return (len(nested), *shape_of(nested[0])) if isinstance(nested, list) else ()


def against_torch(layer, x: list, seed: int) -> None:
    """Outputs and the gradients of a random weighting of them equal torch.nn's in float64."""
    torch = pytest.importorskip("torch")
    twin = getattr(torch.nn, type(layer).__name__)(layer.kernel_size, layer.stride, layer.padding)
    x_t = torch.tensor([v.data for v in flat(x)], dtype=torch.float64).view(shape_of(x))
    x_t.requires_grad_(True)
    out, out_t = layer(x), twin(x_t)
    assert shape_of(out) == tuple(out_t.shape)
    ours = [v.data for v in flat(out)]
    assert max(abs(a - b) for a, b in zip(ours, out_t.flatten().tolist())) <= TOLERANCE
    weights = [random.Random(seed).uniform(-1.0, 1.0) for _ in ours]
    sum_values([w * v for w, v in zip(weights, flat(out))]).backward()
    (out_t.flatten() @ torch.tensor(weights, dtype=torch.float64)).backward()
    got = [v.grad for v in flat(x)]
    assert max(abs(a - b) for a, b in zip(got, x_t.grad.flatten().tolist())) <= TOLERANCE


def arguments(dims: int) -> st.SearchStrategy:
    """kernel, stride (None: the kernel), padding (at most half the kernel), as ints or tuples."""

    def padded(kernel):
        sizes = kernel if isinstance(kernel, tuple) else (kernel,) * dims
        padding = st.tuples(*(st.integers(0, k // 2) for k in sizes))
        if not isinstance(kernel, tuple):
            padding = st.one_of(padding, st.integers(0, kernel // 2))
        stride = st.one_of(st.none(), st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * dims))
        return st.tuples(st.just(kernel), stride, padding)

    kernels = st.one_of(st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * dims))
    return kernels.flatmap(padded)


@settings(max_examples=50, deadline=None)
@given(
    dims=st.sampled_from([1, 2]),
    kind=st.sampled_from([0, 1]),
    data=st.data(),
    channels=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_pooling_outputs_and_gradients_match_torch(dims, kind, data, channels, seed):
    kernel, stride, padding = data.draw(arguments(dims))
    sizes = data.draw(st.tuples(*[st.integers(1, 6)] * dims))
    layer = POOLS[dims][kind](kernel, stride, padding)
    x = nested_values(random.Random(seed), (channels, *sizes))
    kernels = kernel if isinstance(kernel, tuple) else (kernel,) * dims
    pads = padding if isinstance(padding, tuple) else (padding,) * dims
    if any(k > n + 2 * p for k, n, p in zip(kernels, sizes, pads)):
        with pytest.raises(ValueError, match=rf"{type(layer).__name__}\(.*the kernel spans"):
            layer(x)
        return
    against_torch(layer, x, seed)


def test_max_pooling_pads_with_minus_infinity_and_sends_the_gradient_to_the_first_largest():
    x = [[Value(-5.0), Value(-1.0), Value(-1.0), Value(-7.0)]]
    out = MaxPool1d(3, stride=2, padding=1)(x)
    assert [v.data for v in out[0]] == [-1.0, -1.0]  # not the padding's 0
    out[0][1].backward()
    assert [v.grad for v in x[0]] == [0.0, 1.0, 0.0, 0.0]  # as torch: x[1], not the tied x[2]


def test_average_pooling_counts_the_zero_padding():
    (row,) = AvgPool1d(2, padding=1)([[4.0, 6.0, 8.0]])
    assert [v.data for v in row] == [2.0, 7.0]
    ((corner, *_), *_) = AvgPool2d(2, padding=1)([[[4.0, 1.0], [1.0, 1.0]]])[0]
    assert corner.data == 1.0


@pytest.mark.parametrize(
    "make, arguments",
    [
        (MaxPool1d, (2,)),
        (MaxPool1d, (3, 1, 1)),
        (MaxPool2d, (2,)),
        (MaxPool2d, ((2, 3), 1, (1, 0))),
        (AvgPool1d, (2,)),
        (AvgPool1d, (3, 2, 1)),
        (AvgPool2d, (2,)),
        (AvgPool2d, ((2, 1), None, (1, 0))),
    ],
)
def test_repr_is_torchs_and_a_saved_pool_loads_back_the_same(make, arguments, tmp_path):
    torch = pytest.importorskip("torch")
    layer = make(*arguments)
    assert repr(layer) == repr(getattr(torch.nn, make.__name__)(*arguments))
    layer.save(tmp_path / "pool.json")
    assert repr(make.load(tmp_path / "pool.json")) == repr(layer)
    assert layer.parameters() == [] and layer.state_dict() == {}


@pytest.mark.parametrize(
    "make, arguments, error, message",
    [
        (MaxPool1d, (0,), ValueError, "MaxPool1d: kernel_size must be at least 1"),
        (MaxPool1d, (2, 0), ValueError, "MaxPool1d: stride must be at least 1"),
        (AvgPool1d, (3, 1, 2), ValueError, "AvgPool1d: padding must be at most half"),
        (MaxPool2d, ((2, 2), 1, (0, 2)), ValueError, "MaxPool2d: padding must be at most half"),
        (AvgPool2d, ((1, 2, 3),), TypeError, "AvgPool2d: kernel_size must be an int or a pair"),
        (MaxPool1d, (2.0,), TypeError, "MaxPool1d: kernel_size must be an int"),
    ],
)
def test_bad_arguments_are_refused_naming_the_layer(make, arguments, error, message):
    with pytest.raises(error, match=message):
        make(*arguments)


def test_wrong_shaped_examples_are_refused_naming_the_layer_and_the_sizes():
    with pytest.raises(ValueError, match=r"MaxPool1d\(kernel_size=3.*spans 3 along the length, "
                       r"more than the padded input's 2 \+ 2 \* 0 = 2"):  # fmt: skip
        MaxPool1d(3)([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"AvgPool2d\(.*spans 2 along the height"):
        AvgPool2d(2)([[[1.0, 2.0]]])
    with pytest.raises(ValueError, match=r"MaxPool2d\(.*channel 1 is a list of 1 lists"):
        MaxPool2d(1)([[[1.0, 2.0]] * 2, [[1.0, 2.0]]])
    with pytest.raises(ValueError, match=r"AvgPool1d\(.*channel 0 is a list of 1 lists"):
        AvgPool1d(1)([[[1.0]]])
    with pytest.raises(ValueError, match=r"MaxPool1d\(.*takes channels of length, got 0"):
        MaxPool1d(1)([])
    with pytest.raises(TypeError, match=r"MaxPool2d\(.*takes one example"):
        MaxPool2d(1)(1.0)


# --- Flatten --------------------------------------------------------------------------------
def test_flatten_gives_one_row_major_list_as_torchs_flatten_does_to_each_example():
    torch = pytest.importorskip("torch")
    x = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]
    assert Flatten()(x) == torch.nn.Flatten()(torch.tensor([x])).tolist()[0]
    assert Flatten()([1.0, 2.0]) == [1.0, 2.0]
    assert repr(Flatten()) == repr(torch.nn.Flatten())
    with pytest.raises(TypeError, match="Flatten takes one example"):
        Flatten()(3.0)


def test_a_pooling_network_to_torch_and_back_computes_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    model = Sequential(
        Conv1d(1, 2, 3, padding=1, seed=0),
        ReLU(),
        MaxPool1d(2),
        Tanh(),
        AvgPool1d(3, 1, 1),
        Flatten(),
        Linear(8, 3, seed=1),
    )
    x = [[random.Random(i).uniform(-1, 1) for i in range(8)]]
    twin = to_torch(model)
    got = twin(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert max(abs(a - v.data) for a, v in zip(got, model(x))) < 1e-12
    back = from_torch(twin)
    assert repr(back) == repr(model) and back.state_dict() == model.state_dict()
    model.save(tmp_path / "model.json")
    assert repr(Sequential.load(tmp_path / "model.json")) == repr(model)


def test_from_torch_refuses_pooling_settings_nn_does_not_have():
    torch = pytest.importorskip("torch")
    for twin, setting in [
        (torch.nn.MaxPool1d(2, dilation=2), "dilation=2"),
        (torch.nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=True"),
        (torch.nn.MaxPool1d(2, return_indices=True), "return_indices=True"),
        (torch.nn.AvgPool1d(2, count_include_pad=False), "count_include_pad=False"),
        (torch.nn.AvgPool2d(2, divisor_override=3), "divisor_override=3"),
        (torch.nn.Flatten(0), "start_dim=0"),
        (torch.nn.Flatten(1, 2), "end_dim=2"),
    ]:
        with pytest.raises(ValueError, match=f"from_torch: model .*{setting} has no counterpart"):
            from_torch(twin)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_onnx_runs_pooling_on_a_batch_as_nn_does(dtype, tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    numpy = pytest.importorskip("numpy")
    models = [
        (Sequential(MaxPool1d(3, 2, 1), AvgPool1d(2, 1, 1), Flatten()), (3, 2, 7)),
        (Sequential(AvgPool2d((2, 3), 1, (1, 1)), MaxPool2d(2, padding=1)), (2, 3, 5, 4)),
    ]
    for model, shape in models:
        export_onnx(model, tmp_path / "pool.onnx", dtype=dtype)
        path = tmp_path / "pool.onnx"
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        x = numpy.random.default_rng(1).uniform(-2, 2, shape).astype(dtype)
        (y,) = session.run(None, {"input": x})
        expected = [v.data for example in x for v in flat(model(example.tolist()))]
        assert y.reshape(-1).tolist() == pytest.approx(expected, abs=1e-12, rel=1e-6)
        ops = {node.op_type for node in onnx.load(path).graph.node}
        assert ("AveragePool" in ops) == (dtype == "float32") and "MaxPool" in ops


def test_export_onnx_refuses_a_linear_straight_after_a_convolution(tmp_path):
    pytest.importorskip("onnx")
    model = Sequential(Conv1d(1, 2, 3, seed=0), Linear(2, 1, seed=0))
    with pytest.raises(ValueError, match=r"model\.1 \(Linear.*reads 2 features, but the layers "
                       r"before it write 2 channels of length"):  # fmt: skip
        export_onnx(model, tmp_path / "bad.onnx")
