"""Conv1d and Conv2d: PyTorch's outputs and every gradient in float64, initialisation, errors that
name the layer and the sizes, state dicts, files, and the way to PyTorch and ONNX."""

import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import central_difference, close_to_difference

from autograd import Value, sum_values
from nn import Conv1d, Conv2d, Flatten, Linear, ReLU, Sequential, export_onnx, from_torch, to_torch

TOLERANCE = 1e-10


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
    """Outputs, and the gradients of a random weighting of them with respect to every weight,
    bias and input, equal torch.nn's in float64 to TOLERANCE."""
    torch = pytest.importorskip("torch")
    twin = getattr(torch.nn, type(layer).__name__)(**layer.config()).double()
    weight = torch.tensor([v.data for v in flat(layer.weight)], dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(weight.view_as(twin.weight))
        if layer.bias is not None:
            twin.bias.copy_(torch.tensor([b.data for b in layer.bias], dtype=torch.float64))
    x_t = torch.tensor([v.data for v in flat(x)], dtype=torch.float64).view(shape_of(x))
    x_t.requires_grad_(True)
    out = layer(x)
    out_t = twin(x_t)
    assert shape_of(out) == tuple(out_t.shape)
    ours = [v.data for v in flat(out)]
    assert max(abs(a - b) for a, b in zip(ours, out_t.flatten().tolist())) <= TOLERANCE
    rng = random.Random(seed)
    weights = [rng.uniform(-1.0, 1.0) for _ in ours]
    sum_values([w * v for w, v in zip(weights, flat(out))]).backward()
    (out_t.flatten() @ torch.tensor(weights, dtype=torch.float64)).backward()
    pairs = [(flat(layer.weight), twin.weight.grad), (flat(x), x_t.grad)]
    if layer.bias is not None:
        pairs.append((layer.bias, twin.bias.grad))
    for values, expected in pairs:
        got = [v.grad for v in values]
        assert max(abs(a - b) for a, b in zip(got, expected.flatten().tolist())) <= TOLERANCE


def fits(size: int, kernel: int, padding: int, dilation: int) -> bool:
    return dilation * (kernel - 1) + 1 <= size + 2 * padding


@settings(max_examples=40, deadline=None)
@given(
    channels=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    length=st.integers(1, 9),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 3),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv1d_outputs_and_every_gradient_match_torch(
    channels, length, kernel, stride, padding, dilation, bias, seed
):
    layer = Conv1d(*channels, kernel, stride, padding, dilation, bias, seed=seed)
    x = nested_values(random.Random(seed + 1), (channels[0], length))
    if not fits(length, kernel, padding, dilation):
        with pytest.raises(ValueError, match=r"Conv1d\(.*the kernel spans .* padded input"):
            layer(x)
        return
    against_torch(layer, x, seed)


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=30, deadline=None)
@given(
    channels=pairs,
    size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    kernel=pairs,
    stride=st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.one_of(st.integers(0, 1), st.tuples(st.integers(0, 2), st.integers(0, 2))),
    dilation=st.one_of(st.just(1), st.tuples(st.integers(1, 2), st.integers(1, 2))),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_outputs_and_every_gradient_match_torch(
    channels, size, kernel, stride, padding, dilation, bias, seed
):
    layer = Conv2d(*channels, kernel, stride, padding, dilation, bias, seed=seed)
    x = nested_values(random.Random(seed + 1), (channels[0], *size))
    pads = padding if isinstance(padding, tuple) else (padding, padding)
    dilations = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    if not all(map(fits, size, kernel, pads, dilations)):
        with pytest.raises(ValueError, match=r"Conv2d\(.*the kernel spans .* padded input"):
            layer(x)
        return
    against_torch(layer, x, seed)


def test_conv1d_gradients_match_central_differences():
    layer = Conv1d(2, 2, 3, stride=2, padding=1, seed=3)
    rng = random.Random(4)
    x = [[rng.uniform(-1, 1) for _ in range(6)] for _ in range(2)]
    parameters = layer.parameters()

    def loss() -> Value:
        return sum_values([(v * v).tanh() for v in flat(layer(x))])

    def at(point: list[float]) -> float:
        for parameter, value in zip(parameters, point):
            parameter.data = value
        return loss().data

    start = [p.data for p in parameters]
    loss().backward()
    exact = [p.grad for p in parameters]
    for i, derivative in enumerate(exact):
        assert close_to_difference(derivative, central_difference(at, start, i))


def test_an_output_whose_window_lies_in_the_padding_is_the_bias():
    layer = Conv1d(1, 2, 1, padding=1, seed=0)
    out = layer([[5.0, 7.0]])
    assert [row[0].data for row in out] == [b.data for b in layer.bias]
    assert [row[-1].data for row in out] == [b.data for b in layer.bias]
    without = Conv1d(1, 1, 1, padding=2, bias=False, seed=0)([[1.0]])
    assert [v.data for v in without[0]] == [0.0, 0.0, 1.0 * without[0][2].data, 0.0, 0.0]


def test_plain_numbers_go_in_and_only_the_weights_are_parents():
    layer = Conv1d(1, 1, 3, bias=False, seed=0)
    (out,) = layer([[1.0, 2, 3.0, 4.0]])
    weights = {id(w) for w in flat(layer.weight)}
    assert all({id(p) for p in y.parents} <= weights for y in out)


# --- initialisation, names, reprs -----------------------------------------------------------
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(0, 1000))
def test_weights_and_biases_start_within_one_over_root_fan_in(inputs, outputs, kernel, seed):
    layer = Conv2d(inputs, outputs, (kernel, 2), seed=seed)
    bound = 1.0 / math.sqrt(inputs * kernel * 2)
    assert len(layer.parameters()) == outputs * (inputs * kernel * 2 + 1)
    assert all(abs(p.data) <= bound for p in layer.parameters())


def test_a_seeded_conv_is_repeatable_and_leaves_the_global_stream_alone():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    assert Conv1d(2, 3, 3, seed=7).state_dict() == Conv1d(2, 3, 3, seed=7).state_dict()
    assert random.random() == expected
    random.seed(1)
    unseeded = Conv2d(1, 2, 2).state_dict()
    random.seed(1)
    assert Conv2d(1, 2, 2).state_dict() == unseeded


def test_state_dict_names_are_pytorchs_with_the_index_appended():
    names = list(Conv1d(2, 3, 2, seed=0).state_dict())
    assert names[:3] == ["weight.0.0.0", "weight.0.0.1", "weight.0.1.0"]
    assert names[11] == "weight.2.1.1" and names[12:] == ["bias.0", "bias.1", "bias.2"]
    assert list(Conv2d(1, 1, (2, 3), bias=False, seed=0).state_dict())[-1] == "weight.0.0.1.2"


@pytest.mark.parametrize(
    "arguments, bias", [((1, 4, 3), True), ((2, 3, 5, 2, 1, 2), False), ((3, 1, (1,), (3,)), True)]
)
def test_conv1d_repr_is_torchs(arguments, bias):
    torch = pytest.importorskip("torch")
    assert repr(Conv1d(*arguments, bias=bias)) == repr(torch.nn.Conv1d(*arguments, bias=bias))


@pytest.mark.parametrize(
    "arguments, bias",
    [((1, 4, 3), True), ((2, 3, (3, 2), (1, 2), 1), True), ((1, 1, 2, 1, (0, 1), (2, 1)), False)],
)
def test_conv2d_repr_is_torchs(arguments, bias):
    torch = pytest.importorskip("torch")
    assert repr(Conv2d(*arguments, bias=bias)) == repr(torch.nn.Conv2d(*arguments, bias=bias))


# --- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "example, message",
    [
        ([[1.0, 2.0, 3.0]], r"Conv1d\(2, 1, .*\) takes 2 channels of length, got 1 channels"),
        ([[1.0, 2.0], [1.0]], r"each of the same size; channel 1 is a list of 1 entries"),
        ([[[1.0, 2.0]], [[3.0, 4.0]]], r"channel 0 is a list of 1 lists"),
        ([1.0, 2.0], r"channel 0 is a float"),
        ([[1.0, 2.0], [3.0, 4.0]], r"the kernel spans 3 along the length, more than the padded "
         r"input's 2 \+ 2 \* 0 = 2"),
        ([[], []], r"channel 0 is an empty list"),
    ],
)  # fmt: skip
def test_conv1d_refuses_a_wrong_shaped_example_naming_itself_and_the_sizes(example, message):
    with pytest.raises(ValueError, match=message):
        Conv1d(2, 1, 3, seed=0)(example)


def test_conv2d_refuses_wrong_shapes_naming_itself_and_the_sizes():
    layer = Conv2d(1, 2, (2, 4), padding=(0, 1), seed=0)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2.*takes 1 channels of height x width"):
        layer([[[1.0] * 5] * 3, [[1.0] * 5] * 3])
    with pytest.raises(ValueError, match=r"kernel spans 4 along the width, more than the padded "
                       r"input's 1 \+ 2 \* 1 = 3"):  # fmt: skip
        layer([[[1.0], [2.0]]])
    with pytest.raises(ValueError, match=r"channel 0 is a list of 2 lists"):
        layer([[[1.0, 2.0, 3.0], [1.0, 2.0]]])
    with pytest.raises(ValueError, match=r"channel 0 is a list of 3 entries"):
        layer([[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match=r"Conv2d\(.*takes one example"):
        layer(3.0)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ((0, 1, 1), ValueError, "in_channels must be a positive int"),
        ((1, 1, 0), ValueError, "Conv1d: kernel_size must be at least 1"),
        ((1, 1, (2, 2)), TypeError, "Conv1d: kernel_size must be an int"),
        ((1, 1, 2, 0), ValueError, "Conv1d: stride must be at least 1"),
        ((1, 1, 2, 1, -1), ValueError, "Conv1d: padding must be at least 0"),
        ((1, 1, 2, 1, 0, True), TypeError, "Conv1d: dilation must be an int"),
        ((1, 1, 2, 1, 0, 1, 1), TypeError, "bias must be True or False"),
    ],
)
def test_bad_arguments_are_refused_naming_them(arguments, error, message):
    with pytest.raises(error, match=message):
        Conv1d(*arguments)
    with pytest.raises(TypeError, match="Conv2d: kernel_size must be an int or a pair"):
        Conv2d(1, 1, (1, 2, 3))


# --- files and interop ----------------------------------------------------------------------
def test_a_saved_convolutional_network_loads_back_the_same(tmp_path):
    model = Sequential(
        Conv2d(1, 2, (2, 3), stride=(1, 2), padding=1, dilation=(2, 1), seed=0),
        ReLU(),
        Conv1d(2, 1, 2, bias=False, seed=1),
    )
    model.save(tmp_path / "model.json")
    loaded = Sequential.load(tmp_path / "model.json")
    assert repr(loaded) == repr(model) and loaded.state_dict() == model.state_dict()


def convolutional_network() -> Sequential:
    return Sequential(
        Conv1d(2, 3, 3, stride=2, padding=1, dilation=2, seed=0),
        ReLU(),
        Conv1d(3, 2, 2, bias=False, seed=1),
        Flatten(),
        Linear(6, 2, seed=2),
    )


def test_to_torch_and_back_gives_the_same_outputs_and_weights():
    torch = pytest.importorskip("torch")
    model = convolutional_network()
    twin = to_torch(model)
    x = [[random.Random(i).uniform(-1, 1) for i in range(9)] for _ in range(2)]
    expected = [v.data for v in model(x)]
    got = twin(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert max(abs(a - b) for a, b in zip(expected, got)) < 1e-12
    back = from_torch(twin)
    assert repr(back) == repr(model) and back.state_dict() == model.state_dict()
    conv2d = Conv2d(2, 1, (2, 3), padding=(1, 0), seed=4)
    assert from_torch(to_torch(conv2d)).state_dict() == conv2d.state_dict()


def test_from_torch_takes_valid_padding_and_refuses_what_nn_lacks():
    torch = pytest.importorskip("torch")
    assert from_torch(torch.nn.Conv1d(1, 2, 3, padding="valid")).padding == (0,)
    for twin, setting in [
        (torch.nn.Conv1d(2, 2, 3, groups=2), "groups=2"),
        (torch.nn.Conv1d(1, 1, 3, padding="same"), "padding='same'"),
        (torch.nn.Conv2d(1, 1, 3, padding_mode="reflect"), "padding_mode='reflect'"),
    ]:
        with pytest.raises(ValueError, match=f"from_torch: model .*{setting}"):
            from_torch(twin)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_onnx_runs_a_conv_net_on_a_batch_as_nn_does(dtype, tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    numpy = pytest.importorskip("numpy")
    models = [
        (convolutional_network(), (4, 2, 9)),
        (Sequential(Conv2d(2, 2, (2, 3), (2, 1), (1, 2), (1, 2), seed=0), Flatten()), (3, 2, 5, 6)),
    ]
    for model, shape in models:
        if dtype == "float32":  # the weights rounded first: what is measured is the export
            model.load_state_dict(
                {k: float(numpy.float32(v)) for k, v in model.state_dict().items()}
            )
        export_onnx(model, tmp_path / "conv.onnx", dtype=dtype)
        session = onnxruntime.InferenceSession(
            tmp_path / "conv.onnx", providers=["CPUExecutionProvider"]
        )
        x = numpy.random.default_rng(0).uniform(-2, 2, shape).astype(dtype)
        (y,) = session.run(None, {"input": x})
        expected = [[v.data for v in model(example.tolist())] for example in x]
        assert numpy.allclose(y, expected, rtol=0, atol=1e-12 if dtype == "float64" else 1e-5)
        ops = {node.op_type for node in onnx.load(tmp_path / "conv.onnx").graph.node}
        assert ("Conv" in ops) == (dtype == "float32")


@pytest.mark.parametrize(
    "model, example",
    [
        (Conv1d(2, 3, 3, stride=2, padding=1, dilation=2, seed=0), (2, 9)),
        (Conv1d(3, 2, 2, bias=False, seed=1), (3, 5)),
        (Conv2d(2, 3, (2, 3), (2, 1), (1, 2), (1, 2), seed=2), (2, 5, 6)),
        (Conv2d(1, 2, 2, bias=False, seed=3), (1, 3, 4)),
    ],
    ids=["1d", "1d-no-bias", "2d", "2d-no-bias"],
)
def test_a_float64_conv_export_has_no_transpose_and_takes_any_batch_and_size(
    model, example, tmp_path
):
    """No Transpose in the float64 im2col (onnxruntime 1.23, the newest for Python 3.10, fuses a
    Transpose feeding a MatMul into its FusedMatMul, which has no float64 kernel), and one file
    serves batches of 1 and 3, and a longer input, as nn computes them."""
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    numpy = pytest.importorskip("numpy")
    onnx_model = export_onnx(model, tmp_path / "conv.onnx", dtype="float64")
    assert "Transpose" not in {node.op_type for node in onnx_model.graph.node}
    assert {node.op_type for node in onnx_model.graph.node} & {"Conv", "MatMul"} == {"MatMul"}
    session = onnxruntime.InferenceSession(
        tmp_path / "conv.onnx", providers=["CPUExecutionProvider"]
    )
    rng = numpy.random.default_rng(0)
    longer = (*example[:-1], example[-1] + 3)
    for shape in [(1, *example), (3, *example), (2, *longer)]:
        x = rng.uniform(-2, 2, shape)
        (y,) = session.run(None, {"input": x})
        expected = [[_floats(channel) for channel in model(e.tolist())] for e in x]
        assert y.shape == numpy.shape(expected)
        assert numpy.allclose(y, expected, rtol=0, atol=1e-12)


def _floats(nested):
    return nested.data if hasattr(nested, "data") else [_floats(part) for part in nested]


def test_each_output_is_one_dot_node_over_the_window_inside_the_input_plus_the_bias():
    layer = Conv1d(2, 1, 3, padding=1, seed=0)
    x = [[Value(1.0) for _ in range(4)] for _ in range(2)]
    (row,) = layer(x)
    edge, inner = row[0], row[1]
    assert edge.op == "+" and edge.parents[1] is layer.bias[0]
    assert edge.parents[0].op == "dot" and len(edge.parents[0].parents) == 2 * (2 * 2)
    assert inner.parents[0].op == "dot" and len(inner.parents[0].parents) == 2 * (2 * 3)


def test_activations_apply_to_every_entry_of_nested_feature_maps():
    out = ReLU()([[[-1.0, 2.0]], [[3.0, -4.0]]])
    assert [[[v.data for v in row] for row in channel] for channel in out] == [
        [[0.0, 2.0]],
        [[3.0, 0.0]],
    ]


def test_collapse_channel_draws_one_box_per_output_channel_holding_its_weights():
    pytest.importorskip("graphviz")
    from autograd import draw_graph

    model = Sequential(Conv1d(1, 3, 2, seed=0), Conv2d(1, 2, 1, seed=1))
    first = model[0]
    out = first([[Value(float(t), label=f"x{t}") for t in range(4)]])
    y = sum_values(flat(out))
    y.backward()
    source = draw_graph(y, collapse="channel").source
    boxes = re.findall(r'label="Conv1d 0/channel (\d+)\\n(\d+) nodes"', source)
    # each box: 3 outputs (dot and + bias), the kernel's 2 weights and the bias: 3 * 2 + 3 = 9
    assert boxes == [("0", "9"), ("1", "9"), ("2", "9")]
    assert all(f"{{ x{t} |" in source for t in range(4))  # the inputs, shared, stay outside
    picture = model[1]([[[Value(1.0)]]])
    assert picture[1][0][0].scope.name == "channel 1"
    assert picture[1][0][0].scope.parent.name == "Conv2d 1"
