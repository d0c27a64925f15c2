"""fit(compile=True) on a GPT: token lookups as one-hot tape arguments, one tape per length."""

import functools

import numpy as np
import pytest

from nn import GPT
from nn.data import language_model_pairs
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR
from nn.train import evaluate, fit
from nn.train.model_tape import ModelTape
from nn.train.sequence_tapes import SequenceTraining

# end token 0, letters 1..5: names of 1 to 5 letters, so examples of 2 to 6 positions
NAMES = [[0, 1, 2, 3, 0], [0, 4, 5, 0], [0, 3, 1, 0], [0, 2, 2, 5, 4, 1, 0], [0, 5, 0], [0, 1, 0]]


def tiny(norm="rmsnorm"):
    return GPT(6, 8, 8, 2, 1, norm=norm, mlp="relu", embedding_norm=True, seed=0)


def train(compile, pad=None, batch_size=1, loss=sequence_cross_entropy, norm="rmsnorm"):
    model = tiny(norm)
    optimizer = Adam(model.parameters(), lr=0.02, betas=(0.85, 0.99))
    steps = 2 * -(-len(NAMES) // batch_size)
    schedule = LinearLR(optimizer, 1.0, 0.0, total_iters=steps)  # microgpt's schedule
    data = language_model_pairs(NAMES, 8, pad=pad)
    history = fit(model, loss, optimizer, data, epochs=2, batch_size=batch_size,
                  shuffle=batch_size > 1, seed=0, scheduler=schedule, scheduler_interval="step",
                  validation=data, progress=False, compile=compile)  # fmt: skip
    return model, history


def weights(model):
    return np.array([p.data for p in model.parameters()])


@pytest.mark.parametrize(
    "pad, batch_size, norm",
    [(None, 1, "rmsnorm"), (0, 3, "rmsnorm"), (None, 4, "layernorm")],
    ids=["one name a step", "padded mini-batches", "mixed lengths in a batch"],
)
def test_compiled_training_ends_with_eager_weights(pad, batch_size, norm):
    eager, eager_history = train(False, pad, batch_size, norm=norm)
    compiled, history = train(True, pad, batch_size, norm=norm)
    assert np.abs(weights(compiled) - weights(eager)).max() < 1e-9
    assert history.loss == pytest.approx(eager_history.loss, rel=1e-12)
    assert history.val_loss == pytest.approx(eager_history.val_loss, rel=1e-12)
    assert history.loss[1] < history.loss[0]


def test_one_tape_per_length_traced_on_first_use():
    model = tiny()
    X, y = language_model_pairs(NAMES, 8)
    training = SequenceTraining(model, sequence_cross_entropy, Adam(model.parameters()))
    with training.epoch():
        training.batch(X[:2], y[:2])  # lengths 4 and 3
        assert sorted(shape for shape, _ in training.tapes) == [(3,), (4,)]
        first = dict(training.tapes)
        training.batch(X[2:], y[2:])  # 3 again, 6, 2 and 2
    assert sorted(shape for shape, _ in training.tapes) == [(2,), (3,), (4,), (6,)]
    assert all(training.tapes[key] is tape for key, tape in first.items())  # not traced again


def test_padded_batches_run_one_tape_whose_lookups_are_one_matrix_product():
    model = tiny()
    X, y = language_model_pairs(NAMES, 8, pad=0)
    training = SequenceTraining(model, sequence_cross_entropy, Adam(model.parameters()))
    with training.epoch():
        training.batch(X, y)
    assert list(training.tapes) == [((6,), True)]
    tape = ModelTape(model, [float(t) for t in X[0]], training=True)
    assert len(tape.requests.lookups) == 6  # one token lookup per position
    first = tape.tape.levels[0]
    assert (first.kind, first.shape) == ("shared matmul", (8, 6, 6))  # n_embd, vocab, positions
    out = tape(np.array(X, dtype=float))
    eager = [[v.data for row in model(x) for v in row] for x in X]
    assert np.abs(out - np.array(eager)).max() < 1e-12


def test_evaluate_compiled_and_a_partial_with_ignore_index_match_eager():
    model = tiny()
    X, y = language_model_pairs(NAMES, 8, pad=0, ignore_index=-1)
    loss = functools.partial(sequence_cross_entropy, ignore_index=-1)
    # (loss, None): list targets have no accuracy; compared apart, since approx refuses None
    compiled, eager = evaluate(model, loss, (X, y), compile=True), evaluate(model, loss, (X, y))
    assert compiled[0] == pytest.approx(eager[0], rel=1e-12) and compiled[1] is eager[1] is None
    unpadded = language_model_pairs(NAMES, 8)
    compiled = evaluate(model, sequence_cross_entropy, unpadded, compile=True)
    eager = evaluate(model, sequence_cross_entropy, unpadded)
    assert compiled[0] == pytest.approx(eager[0], rel=1e-12) and compiled[1] is eager[1] is None
    assert compiled[0] == pytest.approx(evaluate(model, loss, (X, y))[0], rel=1e-12)  # padding


def test_bad_tokens_and_all_ignored_targets_are_value_errors():
    model = tiny()
    optimizer = Adam(model.parameters())
    with pytest.raises(ValueError, match=r"6\.0, not an int in 0\.\.5|is 6\.0, .*int in 0\.\.5"):
        fit(model, sequence_cross_entropy, optimizer, ([[0, 6]], [[1, 2]]), 1, progress=False,
            compile=True)  # fmt: skip
    with pytest.raises(ValueError, match=r"example 1's entry 1 is 6\.0, .*int in 0\.\.5"):
        fit(model, sequence_cross_entropy, optimizer, ([[0, 1], [0, 6]], [[1, 2], [1, 2]]), 1,
            shuffle=False, progress=False, compile=True)  # fmt: skip
    with pytest.raises(ValueError, match="every target is ignore_index=-100"):
        fit(model, sequence_cross_entropy, optimizer, ([[0, 1]], [[-100, -100]]), 1,
            progress=False, compile=True)  # fmt: skip
    with pytest.raises(ValueError, match="needs a list of 2 targets"):
        fit(model, sequence_cross_entropy, optimizer, ([[0, 1]], [[1]]), 1, progress=False,
            compile=True)  # fmt: skip
