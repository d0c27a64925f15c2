"""Dropout and BatchNorm1d through tapes (nn.train.model_tape): compiled training is eager
training."""

import random

import pytest

from autograd import TraceError, Value
from nn import BatchNorm1d, Dropout, Linear, Module, ReLU, Sequential, Tanh
from nn.data import make_moons
from nn.losses import binary_cross_entropy
from nn.optim import SGD, Adam
from nn.tape_requests import RandomSite, eager_order, tracing
from nn.train import evaluate, fit
from nn.train.model_tape import ModelTape

np = pytest.importorskip("numpy")

X, LABELS = make_moons(100, noise=0.1, seed=0)
VALIDATION = make_moons(30, noise=0.2, seed=3)


@pytest.fixture(autouse=True)
def keep_the_global_random_state():
    state = random.getstate()  # some models here draw from the global stream
    yield
    random.setstate(state)


def gap(a, b) -> float:
    """The largest difference between two models' parameters and buffers."""
    pairs = [(p.data, q.data) for p, q in zip(a.parameters(), b.parameters())]
    pairs += list(zip(a.buffers(), b.buffers()))
    return max(abs(p - q) for p, q in pairs)


def twins(build, optimizer_class, lr, epochs, **options):
    """The same model trained eagerly and through tapes: ((model, history), (model, history))."""
    runs = []
    for compile in (False, True):
        random.seed(4)  # for models that draw from the global stream
        model = build()
        optimizer = optimizer_class(model.parameters(), lr=lr)
        history = fit(
            model, binary_cross_entropy, optimizer, (X, LABELS), epochs=epochs, seed=0,
            progress=False, compile=compile, **options,
        )  # fmt: skip
        runs.append((model, history))
    return runs


def dropout_model():
    return Sequential(Linear(2, 16, seed=0), ReLU(), Dropout(0.3, seed=5), Linear(16, 1, seed=1))


@pytest.mark.parametrize(("optimizer", "lr"), [(SGD, 0.1), (Adam, 0.02)])
def test_compiled_dropout_draws_eager_trainings_masks_and_reaches_its_weights(optimizer, lr):
    (eager, eager_history), (model, history) = twins(dropout_model, optimizer, lr, 8, batch_size=16)
    assert gap(eager, model) <= 1e-9
    assert history.loss == pytest.approx(eager_history.loss, rel=1e-9)
    assert model[2]._rng.getstate() == eager[2]._rng.getstate()  # every coin flipped once
    untrained = dropout_model()
    assert gap(untrained, model) > 0.1  # it trained, with masks: not a run of the identity


def batch_norm_model(bias=True, **options):
    return Sequential(
        Linear(2, 16, bias=bias, seed=0), BatchNorm1d(16, **options), ReLU(), Linear(16, 1, seed=1)
    )


@pytest.mark.parametrize("options", [{}, {"affine": False, "momentum": None}])
def test_compiled_batch_norm_with_sgd_reaches_eager_weights_and_running_statistics(options):
    (eager, eager_history), (model, history) = twins(
        lambda: batch_norm_model(**options), SGD, 0.1, 10, batch_size=16, validation=VALIDATION
    )
    assert gap(eager, model) <= 1e-9
    assert model[1].num_batches_tracked == eager[1].num_batches_tracked == 10 * 7
    assert history.val_loss == pytest.approx(eager_history.val_loss, rel=1e-9)
    assert history.val_accuracy == eager_history.val_accuracy


def test_compiled_batch_norm_with_adam_reaches_eager_weights_and_running_statistics():
    # Linear's bias before batch norm has a gradient of exactly 0 (the mean is taken out again);
    # the float gradient is rounding noise, which Adam divides by its own size into steps of
    # ~lr * noise / eps. Without that bias (as one trains with batch norm) nothing is noise.
    (eager, _), (model, history) = twins(
        lambda: batch_norm_model(bias=False), Adam, 0.02, 10, batch_size=16, validation=VALIDATION
    )
    assert gap(eager, model) <= 1e-9
    assert history.val_accuracy[-1] > 0.8


def dropout_and_batch_norm_model():
    return Sequential(
        Linear(2, 16, bias=False, seed=0), BatchNorm1d(16), ReLU(), Dropout(0.2, seed=3),
        Linear(16, 1, seed=1),
    )  # fmt: skip


def test_dropout_and_batch_norm_together_with_early_stopping_match_eager_training():
    options = {"batch_size": 10, "validation": VALIDATION, "patience": 2}
    (eager, eager_history), (model, history) = twins(
        dropout_and_batch_norm_model, Adam, 0.05, 30, **options
    )
    assert eager_history.stopped_early and history.stopped_early
    assert history.best_epoch == eager_history.best_epoch
    assert gap(eager, model) <= 1e-9  # the best epoch's weights and running statistics
    compiled_eval = evaluate(model, binary_cross_entropy, VALIDATION, compile=True)
    assert compiled_eval == pytest.approx(evaluate(eager, binary_cross_entropy, VALIDATION), 1e-9)


def test_the_evaluation_tape_reads_the_running_statistics_afresh_at_every_call():
    model = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Tanh(), Linear(3, 1, seed=1))
    tape = ModelTape(model, list(X[0]), training=False)
    batch = np.array(X[:5])
    before = tape(batch)
    model[1].running_mean[:] = [0.5, -1.0, 2.0]
    model[1].running_var[:] = [4.0, 0.25, 1.0]
    after = tape(batch)
    with_buffers = [model.eval()(list(x))[0].data for x in X[:5]]
    assert after[:, 0].tolist() == pytest.approx(with_buffers, rel=1e-12)
    assert np.abs(after - before).max() > 0.1
    assert model[1].running_mean == [0.5, -1.0, 2.0]  # evaluation moves nothing


def test_a_training_batch_of_one_is_refused_as_eager_training_refuses_it():
    data = (X[:33], LABELS[:33])  # batches of 16, 16 and then 1
    for compile in (False, True):
        model = batch_norm_model()
        optimizer = SGD(model.parameters(), lr=0.1)
        with pytest.raises(ValueError, match="at least 2 examples .* got a batch of 1"):
            fit(model, binary_cross_entropy, optimizer, data, epochs=1, batch_size=16,
                shuffle=False, progress=False, compile=compile)  # fmt: skip
        assert model[1].num_batches_tracked == 2


class TwoDropouts(Module):
    """Default forward_batch: each example goes through both dropouts before the next one."""

    def __init__(self, first, second):
        self.first, self.second = first, second
        self.hidden = Linear(2, 8, seed=0)
        self.out = Linear(8, 1, seed=1)

    def forward(self, x):
        return self.out(self.second([h.relu() for h in self.first(self.hidden(x))]))


def two_dropouts_per_example():  # the global stream, example by example
    return TwoDropouts(Dropout(0.3), Dropout(0.5))


def two_dropouts_in_sequence():  # the global stream, layer by layer
    return Sequential(
        Linear(2, 8, seed=0), Dropout(0.3), ReLU(), Linear(8, 8, seed=1), Dropout(0.5),
        Linear(8, 1, seed=2),
    )  # fmt: skip


def one_dropout_twice():  # its own generator, called at two places
    drop = Dropout(0.4, seed=9)
    return Sequential(
        Linear(2, 8, seed=0), drop, ReLU(), Linear(8, 8, seed=1), drop, Linear(8, 1, seed=2)
    )


@pytest.mark.parametrize(
    "build", [two_dropouts_per_example, two_dropouts_in_sequence, one_dropout_twice]
)
def test_dropouts_sharing_a_generator_draw_in_eager_trainings_order(build):
    (eager, _), (model, _) = twins(build, SGD, 0.1, 3, batch_size=20)
    assert gap(eager, model) <= 1e-9


def test_eager_order_draws_whole_batches_per_module_in_sequential_and_examples_in_turn_else():
    shared = random.Random(0)
    first = RandomSite(2, None, shared, ())
    second = RandomSite(3, None, shared, ())
    model = TwoDropouts(Dropout(0.1), Dropout(0.1))
    first.path, second.path = (model, model.first), (model, model.second)
    assert eager_order(model, [first, second], 2) == [[(0, 0, 1), (1, 0, 1), (0, 1, 2), (1, 1, 2)]]
    sequential = Sequential(Dropout(0.1), Dropout(0.1))
    first.path, second.path = (sequential, sequential[0]), (sequential, sequential[1])
    assert eager_order(sequential, [first, second], 4) == [[(0, 0, 4), (1, 0, 4)]]
    second.source = random.Random(1)  # two generators: each drawn in one go
    assert eager_order(model, [first, second], 3) == [[(0, 0, 3)], [(1, 0, 3)]]


def test_tracing_is_none_outside_a_trace_and_modules_then_run_eagerly():
    assert tracing() is None
    model = dropout_model()
    tape = ModelTape(model, list(X[0]), training=True)
    assert tracing() is None and len(tape.random_sites) == 1
    assert model.training  # the mode the model had


class Fickle(Module):
    """Asks for a different number of random inputs at every call: nothing a tape can hold."""

    calls = 0

    def forward(self, x):
        Fickle.calls += 1
        request = tracing().random_inputs(Fickle.calls, lambda np, c, n: np.ones((c, n)), None)
        return [x[0] * request[0]]


def test_a_model_whose_requests_change_between_runs_is_refused():
    with pytest.raises(TraceError, match="other random inputs while traced than in its first run"):
        ModelTape(Fickle(), [1.0], training=True)


def test_outputs_gradients_and_statistics_of_one_compiled_step_match_an_eager_step():
    model = Sequential(Linear(2, 4, seed=0), BatchNorm1d(4, momentum=None), Tanh())
    tape = ModelTape(model, list(X[0]), training=True, parameters=model.parameters())
    batch = [list(x) for x in X[:6]]
    cotangents = np.arange(24.0).reshape(6, 4) / 10
    outputs, pullback = tape.vjp(np.array(batch))
    found = pullback(cotangents)
    compiled_buffers = model.buffers()
    eager_model = Sequential(Linear(2, 4, seed=0), BatchNorm1d(4, momentum=None), Tanh())
    eager = eager_model.forward_batch(batch)
    objective = sum(c * y for row, out in zip(cotangents.tolist(), eager) for c, y in zip(row, out))
    objective.backward()
    expected_outputs = [y.data for out in eager for y in out]
    assert outputs.ravel().tolist() == pytest.approx(expected_outputs, rel=1e-12)
    expected = [p.grad for p in eager_model.parameters()]
    assert found.parameters.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert compiled_buffers == pytest.approx(eager_model.buffers(), rel=1e-12)
    assert isinstance(objective, Value) and found.arguments[0].shape == (6, 2)
