"""LayerNorm and RMSNorm: PyTorch's formulas, gradients, node counts, files, interop, errors."""

import itertools
import os
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, sum_values, topological_order
from nn import LayerNorm, Module, RMSNorm, Sequential, from_torch, to_torch

TOLERANCE = 1e-10


def entries(prefix, shape):
    return [".".join([prefix, *map(str, i)]) for i in itertools.product(*map(range, shape))]


def torch_twin(ours, theirs):
    """`theirs` in float64 with every parameter copied from ours by name: names and layouts
    must match for this to work."""
    torch = pytest.importorskip("torch")
    theirs = theirs.double()
    state = ours.state_dict()
    with torch.no_grad():
        for name, tensor in theirs.named_parameters():
            values = [state[key] for key in entries(name, tuple(tensor.shape))]
            tensor.copy_(torch.tensor(values, dtype=torch.float64).reshape(tensor.shape))
    return theirs


def weighted(values):
    """A loss giving every output its own gradient."""
    return sum_values([(k + 1.0) * v for k, v in enumerate(values)])


def assert_close(ours, theirs):
    theirs = theirs.detach().tolist() if hasattr(theirs, "detach") else list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert abs(a - b) <= TOLERANCE * max(1.0, abs(b)), (a, b)


def compare_with_torch(ours, theirs, steps, training):
    """Outputs, input gradients and parameter gradients of `ours` on a sequence of `steps`
    against torch's module on the (L, n) tensor."""
    torch = pytest.importorskip("torch")
    ours.train(training)
    theirs.train(training)
    xs = [[Value(v) for v in step] for step in steps]
    ys = ours(xs)
    weighted([y for row in ys for y in row]).backward()
    x = torch.tensor(steps, dtype=torch.float64, requires_grad=True)
    y = theirs(x)
    (torch.arange(1, y.numel() + 1, dtype=torch.float64) * y.flatten()).sum().backward()
    assert_close([v.data for row in ys for v in row], y.flatten())
    assert_close([v.grad for row in xs for v in row], x.grad.flatten())
    named = dict(ours.named_parameters())
    assert len(named) == sum(p.numel() for p in theirs.parameters())
    for name, parameter in theirs.named_parameters():
        grads = [named[key].grad for key in entries(name, tuple(parameter.shape))]
        assert_close(grads, parameter.grad.flatten())


def randomise(module, rng):
    for parameter in module.parameters():
        parameter.data = rng.uniform(-2.0, 2.0)
    return module


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
    st.sampled_from([1e-5, 0.1, 0.0]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_layer_norm_matches_torch_outputs_and_every_gradient(
    n, length, affine, bias, eps, training, seed
):
    torch = pytest.importorskip("torch")
    rng = random.Random(seed)
    steps = [[rng.uniform(-3.0, 3.0) for _ in range(n)] for _ in range(length)]
    if n == 1 and eps == 0.0:
        eps = 1e-5  # one feature has variance 0: 0 ** -0.5 is infinite in both
    ours = randomise(LayerNorm(n, eps=eps, elementwise_affine=affine, bias=bias), rng)
    theirs = torch_twin(ours, torch.nn.LayerNorm(n, eps, affine, bias))
    compare_with_torch(ours, theirs, steps, training)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 3),
    st.booleans(),
    st.sampled_from([None, 1e-6, 0.5]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_rms_norm_matches_torch_outputs_and_every_gradient(n, length, affine, eps, training, seed):
    torch = pytest.importorskip("torch")
    rng = random.Random(seed)
    steps = [[rng.uniform(-3.0, 3.0) for _ in range(n)] for _ in range(length)]
    ours = randomise(RMSNorm(n, eps=eps, elementwise_affine=affine), rng)
    theirs = torch_twin(ours, torch.nn.RMSNorm(n, eps, affine))
    compare_with_torch(ours, theirs, steps, training)


def test_layer_norm_output_has_mean_zero_and_biased_variance_one():
    y = [v.data for v in LayerNorm(4, eps=1e-12)([1.0, 2.0, 4.0, 9.0])]
    mean = sum(y) / 4
    assert abs(mean) < 1e-12
    assert abs(sum((v - mean) ** 2 for v in y) / 4 - 1.0) < 1e-9


def test_rms_norm_output_has_root_mean_square_one_and_eps_none_is_float64_epsilon():
    x = [3.0, -4.0, 12.0]
    y = [v.data for v in RMSNorm(3)(x)]
    assert abs(sum(v * v for v in y) / 3 - 1.0) < 1e-12
    ms = sum(v * v for v in x) / 3
    assert y[0] == pytest.approx(3.0 / (ms + sys.float_info.epsilon) ** 0.5, rel=1e-15)


def test_a_sequence_gives_each_step_normalised_as_on_its_own():
    norm = randomise(LayerNorm(3), random.Random(0))
    steps = [[1.0, 2.0, 0.5], [0.0, -1.0, 4.0]]
    assert [[v.data for v in y] for y in norm(steps)] == [
        [v.data for v in norm(step)] for step in steps
    ]


@pytest.mark.parametrize("norm, expected", [(LayerNorm(16), 4 * 16 + 6), (RMSNorm(16), 2 * 16 + 4)])
def test_a_norm_is_few_nodes_thanks_to_the_n_ary_sum_and_dot(norm, expected):
    x = [Value(float(i)) for i in range(16)]
    made = {id(node) for node in topological_order(sum_values(norm(x)))}
    made -= {id(v) for v in x} | {id(p) for p in norm.parameters()}
    assert len(made) - 1 == expected  # the sum_values root aside


def test_without_affine_there_are_no_parameters_and_bias_false_keeps_the_weight():
    assert LayerNorm(3, elementwise_affine=False).parameters() == []
    assert list(LayerNorm(3, bias=False).state_dict()) == ["weight.0", "weight.1", "weight.2"]
    assert list(RMSNorm(2).state_dict()) == ["weight.0", "weight.1"]
    assert RMSNorm(2, elementwise_affine=False).parameters() == []


@pytest.mark.parametrize(
    "make",
    [
        lambda torch: (LayerNorm(5), torch.nn.LayerNorm(5)),
        lambda torch: (LayerNorm((5,), 0.1, bias=False), torch.nn.LayerNorm((5,), 0.1, bias=False)),
        lambda torch: (LayerNorm(5, elementwise_affine=False), torch.nn.LayerNorm(5, 1e-5, False)),
        lambda torch: (RMSNorm(5), torch.nn.RMSNorm(5)),
        lambda torch: (RMSNorm([5], 1e-3, False), torch.nn.RMSNorm([5], 1e-3, False)),
    ],
)
def test_the_repr_is_torchs(make):
    torch = pytest.importorskip("torch")
    ours, theirs = make(torch)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "norm",
    [LayerNorm(4, eps=0.01), LayerNorm(4, bias=False), LayerNorm(4, elementwise_affine=False),
     RMSNorm(4), RMSNorm(4, eps=1e-4, elementwise_affine=False)],
    ids=repr,
)  # fmt: skip
def test_save_and_load_give_the_same_norm(norm, tmp_path):
    randomise(norm, random.Random(1))
    path = tmp_path / "norm.json"
    norm.save(path)
    same = Module.load(path)
    assert type(same) is type(norm) and repr(same) == repr(norm)
    assert same.config() == norm.config() and same.state_dict() == norm.state_dict()
    x = [0.5, -1.0, 2.0, 0.0]
    assert [v.data for v in same(x)] == [v.data for v in norm(x)]


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: LayerNorm((2, 3)), ValueError, "normalized_shape must be an int or a 1-tuple"),
        (lambda: LayerNorm(0), ValueError, "normalized_shape must be a positive int"),
        (lambda: RMSNorm(2.5), TypeError, "normalized_shape must be a positive int"),
        (lambda: LayerNorm(2, eps=-1.0), ValueError, "eps must be >= 0"),
        (lambda: RMSNorm(2, eps="small"), TypeError, "eps must be a real number"),
        (lambda: LayerNorm(2, bias=1), TypeError, "bias must be True or False"),
        (lambda: LayerNorm(3)([1.0, 2.0]), ValueError, "examples of 3 features, got 2"),
        (lambda: RMSNorm(3)([[1.0, 2.0, 3.0], [1.0]]), ValueError, "3 features, got 1"),
        (lambda: RMSNorm(3)(1.0), TypeError, "takes one example"),
    ],
)
def test_bad_arguments_and_inputs_are_refused_naming_the_problem(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("kind", [LayerNorm, RMSNorm])
def test_to_torch_and_back_keeps_every_number_and_the_twin_agrees_to_1e_12(kind):
    torch = pytest.importorskip("torch")
    ours = randomise(kind(6), random.Random(2))
    twin = to_torch(Sequential(ours))
    steps = [[random.Random(3 + t).uniform(-2, 2) for _ in range(6)] for t in range(3)]
    y = twin(torch.tensor(steps, dtype=torch.float64))
    for row, expected in zip(y.tolist(), ours(steps)):
        assert all(abs(a - b.data) <= 1e-12 for a, b in zip(row, expected))
    back = from_torch(twin)[0]
    assert type(back) is kind and back.state_dict() == ours.state_dict()
    assert repr(back) == repr(ours)


def test_from_torch_refuses_a_layer_norm_over_two_axes():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="normalized_shape must be an int or a 1-tuple"):
        from_torch(torch.nn.LayerNorm((2, 3)))


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("kind", [LayerNorm, RMSNorm])
def test_export_onnx_runs_in_onnxruntime_as_nn_computes(kind, dtype, tolerance, tmp_path):
    numpy = pytest.importorskip("numpy")
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from nn import Linear, export_onnx

    model = Sequential(Linear(3, 5, seed=0), randomise(kind(5), random.Random(4)))
    path = os.path.join(tmp_path, "norm.onnx")
    export_onnx(model, path, dtype=dtype)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    batch = [[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]]
    (y,) = session.run(None, {"input": numpy.array(batch, dtype=dtype)})
    for row, x in zip(y.tolist(), batch):
        assert all(abs(a - b.data) <= tolerance for a, b in zip(row, model(x)))
