"""Edges of training and tracing (issue 23): a traced batch norm's running statistics,
regression targets, sequence models compiled, and targets refused alike eagerly and compiled."""

import pytest

np = pytest.importorskip("numpy")

from autograd import trace  # noqa: E402
from nn import BatchNorm1d, Linear, Sequential  # noqa: E402

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
