"""Edges of training and tracing (issue 23): a traced batch norm's running statistics,
regression targets, sequence models compiled, and targets refused alike eagerly and compiled."""

import pytest

np = pytest.importorskip("numpy")

from autograd import trace  # noqa: E402
from nn import GRU, BatchNorm1d, Linear, Module, Sequential  # noqa: E402
from nn.losses import cross_entropy, mse  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.train import evaluate, fit  # noqa: E402

EXAMPLE = [0.5, -0.2]
TRAINING_BATCH = [[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]]


def _outputs(model, x):
    return [v.data for v in model(x)]


def _traced_eval_norm():
    model = Sequential(Linear(2, 2, seed=0), BatchNorm1d(2)).eval()
    return model, trace(lambda x: model(x), EXAMPLE)


def test_a_traced_eval_batch_norm_reads_the_running_statistics_after_training():
    model, tape = _traced_eval_norm()
    before = tape(EXAMPLE)
    model.train()
    model.forward_batch(TRAINING_BATCH)
    model.eval()
    now = _outputs(model, EXAMPLE)
    assert now != pytest.approx(before)
    assert tape(EXAMPLE) == pytest.approx(now, rel=1e-12)
    X = np.array([EXAMPLE, [1.0, 1.0]])
    assert tape(X) == pytest.approx(np.array([now, _outputs(model, [1.0, 1.0])]), rel=1e-12)


def test_a_traced_eval_batch_norm_reads_the_running_statistics_after_load_state_dict():
    model, tape = _traced_eval_norm()
    state = model.state_dict()
    state.update({"1.running_mean.0": 0.7, "1.running_var.1": 4.0})
    model.load_state_dict(state)
    assert tape(EXAMPLE) == pytest.approx(_outputs(model, EXAMPLE), rel=1e-12)


def test_a_traced_eval_batch_norm_reads_the_running_statistics_with_params_given():
    model, tape = _traced_eval_norm()
    params = np.array([p.data for p in tape.parameters])
    model[1].running_mean[0] = -3.0
    assert tape(EXAMPLE, params=params) == pytest.approx(_outputs(model, EXAMPLE), rel=1e-12)


def test_fresh_numbers_are_floats_eagerly_and_parameters_of_a_tape():
    from autograd import fresh_numbers

    state = [2.0, 3.0]
    assert fresh_numbers(lambda: state) == [2.0, 3.0]
    tape = trace(lambda x: x * fresh_numbers(lambda: state)[1], 1.0)
    state[1] = -1.0
    assert tape(4.0) == -4.0
    assert [p.data for p in tape.parameters] == [-1.0]


# --- item 8: regression on vectors has no accuracy --------------------------------------------
VECTOR_DATA = ([[0.1, 0.2], [0.3, -0.1], [0.5, 0.5], [-0.2, 0.4]], [[1.0, 0.0], [0.0, 1.0]] * 2)


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_fit_and_evaluate_measure_no_accuracy_on_list_targets(compile):
    model = Linear(2, 2, seed=0)
    history = fit(
        model, mse, SGD(model.parameters(), lr=0.1), VECTOR_DATA, epochs=2, progress=False,
        validation=VECTOR_DATA, compile=compile,
    )  # fmt: skip
    assert len(history.loss) == len(history.val_loss) == 2
    assert history.accuracy == [] and history.val_accuracy == []
    loss, score = evaluate(model, mse, VECTOR_DATA, compile=compile)
    assert score is None and loss == pytest.approx(history.val_loss[-1], rel=1e-12)


def test_eager_and_compiled_regression_on_vectors_train_alike():
    histories = []
    for compile in (False, True):
        model = Linear(2, 2, seed=0)
        optimizer = SGD(model.parameters(), lr=0.1)
        fit(model, mse, optimizer, VECTOR_DATA, epochs=3, progress=False, compile=compile)
        histories.append([p.data for p in model.parameters()])
    assert histories[0] == pytest.approx(histories[1], rel=1e-12)


# --- item 10: targets refused alike eagerly and compiled ----------------------------------------
@pytest.mark.parametrize(
    ("loss", "targets", "error", "message"),
    [
        (mse, [None, 1.0], TypeError, r"fit: target y\[0\] must be a real number .* None"),
        (cross_entropy, [1, None], TypeError, r"fit: target y\[1\] must be a real number"),
        (cross_entropy, ["a", "b"], TypeError, r"fit: target y\[0\] .* got str 'a'"),
        (mse, ["a", "b"], TypeError, r"fit: target y\[0\] .* got str 'a'"),
        (mse, [True, False], TypeError, r"fit: target y\[0\] .* got bool True"),
        (mse, list(np.array([True, False])), TypeError, r"fit: target y\[0\] .* got bool"),
        (mse, [[1.0, "x"], [0.0, 1.0]], TypeError, r"fit: target y\[0\]\[1\] .* got str 'x'"),
        (mse, [1.0, float("nan")], ValueError, r"fit: target y\[1\] is nan; it must be finite"),
    ],
)
@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_fit_refuses_bad_targets_alike_eagerly_and_compiled(loss, targets, error, message, compile):
    width = 2 if loss is cross_entropy or isinstance(targets[0], list) else 1
    model = Linear(2, width, seed=0)
    X = [[0.1, 0.2], [0.3, -0.1]]
    with pytest.raises(error, match=message):
        fit(model, loss, SGD(model.parameters(), lr=0.1), (X, targets), progress=False,
            compile=compile)  # fmt: skip
    with pytest.raises(error, match=message.replace("fit", "evaluate")):
        evaluate(model, loss, (X, targets), compile=compile)


# --- item 9: a sequence model trains compiled ---------------------------------------------------
class LastStep(Module):
    """A GRU over the steps, then a Linear head on the last step's output."""

    def __init__(self):
        self.gru = GRU(2, 3, seed=0)
        self.head = Linear(3, 1, seed=1)

    def forward(self, steps):
        outputs, _ = self.gru(steps)
        return self.head(outputs[-1])


SEQUENCES = [
    [[0.1, 0.2], [0.3, 0.4], [0.5, -0.1]],
    [[0.0, 0.1], [0.2, 0.2], [-0.3, 0.1]],
    [[-0.4, 0.3], [0.1, -0.2], [0.2, 0.6]],
    [[0.5, 0.5], [-0.1, 0.0], [0.3, -0.3]],
]


def test_a_gru_sequence_model_trains_compiled_as_eagerly():
    found = []
    for compile in (False, True):
        model = LastStep()
        history = fit(
            model, mse, SGD(model.parameters(), lr=0.2), (SEQUENCES, [0.5, -0.5, 1.0, 0.0]),
            epochs=3, batch_size=2, seed=0, progress=False, compile=compile,
            validation=(SEQUENCES, [0.5, -0.5, 1.0, 0.0]),
        )  # fmt: skip
        found.append((history.loss, history.val_loss, [p.data for p in model.parameters()]))
    for eager, compiled in zip(*found):
        assert compiled == pytest.approx(eager, rel=1e-9)


@pytest.mark.parametrize("caller", ["fit", "evaluate"])
def test_sequences_of_varying_lengths_are_refused_compiled_naming_the_way_out(caller):
    model = LastStep()
    data = (SEQUENCES[:2] + [SEQUENCES[2][:2]], [0.5, -0.5, 1.0])
    message = rf"{caller}\(compile=True\): example 2 has shape \(2, 2\).*compile=False"
    with pytest.raises(NotImplementedError, match=message):
        if caller == "fit":
            fit(model, mse, SGD(model.parameters(), lr=0.1), data, progress=False, compile=True)
        else:
            evaluate(model, mse, data, compile=True)
