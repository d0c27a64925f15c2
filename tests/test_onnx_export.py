"""nn.export_onnx: files that onnx.checker accepts and onnxruntime runs, agreeing with the eager
engine in eval mode to 1e-12 in float64 and 1e-6 in float32, for any batch size.

In float32 the model's weights and inputs are first rounded to float32, so what is measured is
the export and the float32 arithmetic, not the rounding every float32 copy of a model has.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import feed_forward_models, model_seeds, outputs_of, randomized, small_sizes

from nn import (
    GELU,
    GRU,
    LSTM,
    MLP,
    RNN,
    BatchNorm1d,
    Dropout,
    Embedding,
    GRUCell,
    Linear,
    LSTMCell,
    Module,
    RNNCell,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    export_onnx,
)

onnx = pytest.importorskip("onnx", reason='onnx is an extra: pip install "chainrule[onnx]"')
onnxruntime = pytest.importorskip(
    "onnxruntime", reason='onnxruntime is an extra: pip install "chainrule[onnx]"'
)
numpy = pytest.importorskip("numpy")

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}
dtypes = st.sampled_from(["float64", "float32"])
# hypothesis runs many examples in one test function: they share a directory, one file each
shared_directory = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_onnx(path, **feeds) -> list:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def close(ours, theirs, dtype: str) -> bool:
    """Same shape, and every entry within TOLERANCE[dtype] relative to the largest (above 1)."""
    ours, theirs = numpy.asarray(ours, dtype="float64"), numpy.asarray(theirs, dtype="float64")
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(1.0, float(numpy.abs(ours).max(initial=0.0)))
    return bool(numpy.all(numpy.abs(ours - theirs) <= TOLERANCE[dtype] * scale))


def as_dtype(model: Module, dtype: str) -> Module:
    """`model` with every parameter and buffer rounded to `dtype`."""
    state = model.state_dict()
    rounded = {k: v if type(v) is int else float(numpy.asarray(v, dtype)) for k, v in state.items()}
    model.load_state_dict(rounded)
    return model


def data(rng: random.Random, dtype: str, *shape: int):
    """Numbers in [-2, 2] of `shape` in `dtype`, from `rng`."""
    generator = numpy.random.default_rng(rng.randrange(2**32))
    return numpy.asarray(generator.uniform(-2.0, 2.0, shape), dtype)


def numbers(output) -> list[float]:
    """One example's output as floats (a bare Value, or numbers an identity passed through)."""
    return [float(v) for v in outputs_of(output)]


def dims(value) -> list:
    """The shape of a graph input or output: sizes, and names for the dynamic axes."""
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


# --- feed-forward models ------------------------------------------------------------------------
@shared_directory
@given(model=feed_forward_models(), dtype=dtypes, size=st.integers(1, 5), seed=model_seeds)
def test_feed_forward_models_run_in_onnxruntime_as_in_eval_mode(model, dtype, size, seed, tmp_path):
    model, nin = model
    model = as_dtype(model, dtype)
    training = model.training
    export_onnx(model, tmp_path / "model.onnx", dtype=dtype)
    assert model.training == training  # the graph is eval mode's; the model keeps its own mode
    x = data(random.Random(seed), dtype, size, nin)
    (y,) = run_onnx(tmp_path / "model.onnx", input=x)
    assert y.dtype == numpy.dtype(dtype)
    model.eval()
    expected = [numbers(model(row.tolist())) for row in x]
    assert close(expected, y, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_file_takes_any_batch_size_and_says_so(dtype, tmp_path):
    model = randomized(MLP(3, [5, 2], activation="gelu", seed=0), random.Random(0))
    written = export_onnx(model, tmp_path / "mlp.onnx", dtype=dtype)
    loaded = onnx.load(tmp_path / "mlp.onnx")
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded == written
    (input,), (output,) = loaded.graph.input, loaded.graph.output
    assert input.name == "input" and output.name == "output"
    dims = [
        [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (input, output)
    ]
    assert dims == [["batch", 3], ["batch", 2]]
    model = as_dtype(model, dtype)
    for size in (1, 7):
        x = data(random.Random(size), dtype, size, 3)
        (y,) = run_onnx(tmp_path / "mlp.onnx", input=x)
        assert close([[v.data for v in model(row.tolist())] for row in x], y, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", [GELU(), Softplus(), SiLU(), Sigmoid(), Tanh()], ids=repr)
def test_activations_stay_finite_and_agree_far_from_zero(activation, dtype, tmp_path):
    export_onnx(activation, tmp_path / "act.onnx", dtype=dtype)
    x = numpy.asarray([[-1e4, -80.0, -40.0, -6.5, 0.0, 6.5, 40.0, 80.0, 1e4]], dtype)
    (y,) = run_onnx(tmp_path / "act.onnx", input=x)
    assert numpy.all(numpy.isfinite(y))
    assert close([[v.data for v in activation(x[0].tolist())]], y, dtype)


def test_batch_norm_is_exported_with_its_running_statistics(tmp_path):
    norm = BatchNorm1d(2, eps=0.01)
    norm([[1.0, 5.0], [3.0, -5.0], [2.0, 0.0]])  # training mode: the statistics move
    norm.weight[0].data, norm.bias[1].data = 2.0, -1.0
    export_onnx(Sequential(norm, Dropout(0.5)), tmp_path / "norm.onnx", dtype="float64")
    x = numpy.asarray([[0.5, 1.5], [-2.0, 4.0]])
    (y,) = run_onnx(tmp_path / "norm.onnx", input=x)
    norm.eval()
    assert close([[v.data for v in norm(row.tolist())] for row in x], y, "float64")


EMBEDDINGS = [
    lambda: Embedding(6, 3, seed=0),
    lambda: Sequential(Embedding(6, 3, seed=0), Tanh(), Linear(3, 2, seed=1)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make", EMBEDDINGS, ids=["Embedding", "Sequential"])
def test_embeddings_read_int64_indices(make, dtype, tmp_path):
    model = make()
    export_onnx(model, tmp_path / "embedding.onnx", dtype=dtype)
    model = as_dtype(model, dtype)
    indices = numpy.asarray([5, 0, 3, 3], dtype="int64")
    (y,) = run_onnx(tmp_path / "embedding.onnx", input=indices)
    assert close([[v.data for v in model(int(i))] for i in indices], y, dtype)


def test_an_embedding_index_out_of_range_is_refused_by_the_runtime_negative_ones_too(tmp_path):
    # Gather takes -1 as the last row: the file gave a row where nn and torch raise IndexError
    export_onnx(Embedding(6, 3, seed=0), tmp_path / "embedding.onnx")
    for index in (6, -1, -6):
        with pytest.raises(Exception, match="out of data bounds"):
            run_onnx(tmp_path / "embedding.onnx", input=numpy.asarray([0, index], dtype="int64"))


# --- recurrent models ---------------------------------------------------------------------------
@shared_directory
@given(
    cell_class=st.sampled_from([RNNCell, LSTMCell, GRUCell]),
    sizes=st.tuples(small_sizes, small_sizes, st.integers(1, 3)),
    bias=st.booleans(),
    dtype=dtypes,
    seed=model_seeds,
)
def test_cells_run_in_onnxruntime_on_a_batch(cell_class, sizes, bias, dtype, seed, tmp_path):
    inputs, hidden, batch = sizes
    cell = as_dtype(cell_class(inputs, hidden, bias, seed=seed), dtype)
    export_onnx(cell, tmp_path / "cell.onnx", dtype=dtype)
    rng = random.Random(seed)
    x, h, c = (
        data(rng, dtype, batch, inputs),
        data(rng, dtype, batch, hidden),
        data(rng, dtype, batch, hidden),
    )
    lstm = cell_class is LSTMCell
    feeds = {"input": x, "hx": h, **({"cx": c} if lstm else {})}
    results = run_onnx(tmp_path / "cell.onnx", **feeds)
    for b in range(batch):
        state = (h[b].tolist(), c[b].tolist()) if lstm else h[b].tolist()
        ours = cell(x[b].tolist(), state)
        for expected, got in zip(ours if lstm else (ours,), results, strict=True):
            assert close([v.data for v in expected], got[b], dtype)


@shared_directory
@given(
    model_class=st.sampled_from([RNN, LSTM, GRU]),
    sizes=st.tuples(small_sizes, small_sizes, st.integers(1, 2)),
    shape=st.tuples(st.integers(1, 5), st.integers(1, 3)),
    options=st.tuples(st.booleans(), st.sampled_from(["tanh", "relu"])),
    dtype=dtypes,
    seed=model_seeds,
)
def test_sequence_models_run_in_onnxruntime_over_any_length(
    model_class, sizes, shape, options, dtype, seed, tmp_path
):
    inputs, hidden, layers = sizes
    (length, batch), (bias, nonlinearity) = shape, options
    extra = {"nonlinearity": nonlinearity} if model_class is RNN else {}
    model = as_dtype(model_class(inputs, hidden, layers, bias=bias, seed=seed, **extra), dtype)
    export_onnx(model, tmp_path / "rnn.onnx", dtype=dtype)
    rng = random.Random(seed)
    x = data(rng, dtype, length, batch, inputs)
    h0, c0 = data(rng, dtype, layers, batch, hidden), data(rng, dtype, layers, batch, hidden)
    lstm = model_class is LSTM
    feeds = {"input": x, "h0": h0, **({"c0": c0} if lstm else {})}
    output, *finals = run_onnx(tmp_path / "rnn.onnx", **feeds)
    for b in range(batch):
        state = (h0[:, b].tolist(), c0[:, b].tolist()) if lstm else h0[:, b].tolist()
        ours, final = model(x[:, b].tolist(), state)
        assert close([[v.data for v in step] for step in ours], output[:, b], dtype)
        for expected, got in zip(final if lstm else (final,), finals, strict=True):
            assert close([[v.data for v in layer] for layer in expected], got[:, b], dtype)


def test_a_sequence_model_file_names_pytorchs_inputs_and_outputs(tmp_path):
    model = export_onnx(LSTM(2, 3, num_layers=2, seed=0), tmp_path / "lstm.onnx")
    shapes = {value.name: dims(value) for value in [*model.graph.input, *model.graph.output]}
    assert shapes == {
        "input": ["sequence", "batch", 2],
        "h0": [2, "batch", 3],
        "c0": [2, "batch", 3],
        "output": ["sequence", "batch", 3],
        "h_n": [2, "batch", 3],
        "c_n": [2, "batch", 3],
    }


# --- refusals -----------------------------------------------------------------------------------
class Scale(Module):
    def forward(self, x):
        return [2.0 * v for v in x]


def test_export_refuses_what_it_cannot_write_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the old file")
    with pytest.raises(TypeError, match=r"model\.1 is a .*Scale, which has no ONNX form"):
        export_onnx(Sequential(Linear(2, 2), Scale()), path)
    with pytest.raises(TypeError, match=r"model\.0 is an LSTM inside another module"):
        export_onnx(Sequential(LSTM(2, 2)), path)
    with pytest.raises(ValueError, match=r"model\.1 is an Embedding after other layers"):
        export_onnx(Sequential(Tanh(), Embedding(3, 2)), path)
    with pytest.raises(
        ValueError, match=r"model\.1 \(Linear\(in_features=4.*reads 4 features, but "
    ):
        export_onnx(Sequential(Linear(2, 3), Linear(4, 1)), path)  # was onnx's InferenceError
    with pytest.raises(ValueError, match=r"model\.2\.1 \(MLP\(5, \[1\].*\) reads 5 .* write 3"):
        export_onnx(Sequential(Embedding(4, 3), Tanh(), Sequential(Tanh(), MLP(5, [1]))), path)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'float16'"):
        export_onnx(Linear(2, 2), path, dtype="float16")
    with pytest.raises(TypeError, match="expected an nn Module, got list"):
        export_onnx([Linear(2, 2)], path)
    assert path.read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
