"""fit(..., compile=True) and evaluate(..., compile=True): eager training, through tapes."""

import math

import pytest

from autograd import Value
from nn import MLP, Dropout, Embedding, Module
from nn.data import make_moons, make_spirals
from nn.losses import binary_cross_entropy, cross_entropy, hinge, l1, l2, mse
from nn.optim import SGD, AdaGrad, Adam, Optimizer, RMSProp, StepLR, clip_grad_norm
from nn.train import evaluate, fit

pytest.importorskip("numpy")

X, LABELS = make_moons(100, noise=0.1, seed=0)
SIGNS = [2 * t - 1 for t in LABELS]

CASES = {
    "full-batch SGD, hinge + L2": (SGD, {"lr": 0.1}, hinge, SIGNS, None, lambda ps: 1e-4 * l2(ps)),
    "mini-batch Adam, BCE": (Adam, {"lr": 0.01}, binary_cross_entropy, LABELS, 16, None),
    "Nesterov, weight decay, L1": (
        SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        hinge,
        SIGNS,
        10,
        lambda ps: 1e-4 * l1(ps),
    ),
    "RMSProp with momentum, mse": (RMSProp, {"lr": 0.01, "momentum": 0.5}, mse, SIGNS, 25, None),
    "AdaGrad, stochastic": (AdaGrad, {"lr": 0.1}, binary_cross_entropy, LABELS, 1, None),
}


def gap(a, b) -> float:
    """The largest difference between two models' parameters."""
    return max(abs(p.data - q.data) for p, q in zip(a.parameters(), b.parameters()))


def train(compile, optimizer_class, options, loss, targets, batch_size, regularization, **more):
    model = MLP(2, [16, 16, 1], seed=0)
    optimizer = optimizer_class(model.parameters(), **options)
    history = fit(
        model, loss, optimizer, (X, targets), epochs=20, batch_size=batch_size, seed=0,
        regularization=regularization, progress=False, compile=compile, **more,
    )  # fmt: skip
    return model, optimizer, history


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_seed_gives_the_same_weights_as_eager_training_after_20_epochs(case):
    eager_model, _, eager = train(False, *CASES[case])
    model, _, compiled = train(True, *CASES[case])
    assert gap(eager_model, model) <= 1e-9
    assert compiled.loss == pytest.approx(eager.loss, rel=1e-9, abs=1e-12)
    assert eager.accuracy == compiled.accuracy


def test_cross_entropy_with_class_indices_trains_as_eager():
    X3, y3 = make_spirals(60, classes=3, seed=1)

    def run(compile):
        model = MLP(2, [12, 3], activation="tanh", seed=2)
        optimizer = Adam(model.parameters(), lr=0.05)
        scheduler = StepLR(optimizer, step_size=5, gamma=0.5)
        history = fit(
            model, cross_entropy, optimizer, (X3, y3), epochs=20, batch_size=8, seed=3,
            scheduler=scheduler, progress=False, compile=compile,
        )  # fmt: skip
        return model, history

    (eager_model, eager), (model, compiled) = run(False), run(True)
    assert gap(eager_model, model) <= 1e-9
    assert eager.accuracy == compiled.accuracy
    assert evaluate(model, cross_entropy, (X3, y3), compile=True) == pytest.approx(
        evaluate(model, cross_entropy, (X3, y3)), rel=1e-12
    )


def test_validation_and_early_stopping_pick_the_same_epoch_and_restore_the_same_weights():
    Xv, yv = make_moons(40, noise=0.3, seed=5)
    case = (Adam, {"lr": 0.05}, binary_cross_entropy, LABELS, 10, None)
    extra = {"validation": (Xv, yv), "patience": 3}
    eager_model, _, eager = train(False, *case, **extra)
    model, _, compiled = train(True, *case, **extra)
    assert eager.stopped_early and eager.best_epoch < 19
    assert (eager.best_epoch, eager.stopped_early) == (compiled.best_epoch, compiled.stopped_early)
    assert compiled.val_loss == pytest.approx(eager.val_loss, rel=1e-9)
    assert gap(eager_model, model) <= 1e-9


def test_after_compiled_training_the_optimizer_state_is_floats_and_eager_steps_carry_on():
    case = (Adam, {"lr": 0.01}, binary_cross_entropy, LABELS, 16, None)
    model, optimizer, _ = train(True, *case)
    assert all(type(v) is float for v in optimizer._means)
    assert all(type(p.grad) is float for p in model.parameters())
    eager_model, eager_optimizer, _ = train(False, *case)
    for m, opt in ((model, optimizer), (eager_model, eager_optimizer)):
        fit(
            m,
            binary_cross_entropy,
            opt,
            (X, LABELS),
            epochs=5,
            batch_size=16,
            seed=1,
            progress=False,
        )
    assert gap(model, eager_model) <= 1e-9


class PlainSGD:
    """An optimizer that is not an nn.optim.Optimizer: only zero_grad() and step()."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad


def test_any_optimizer_with_zero_grad_and_step_trains_through_tapes_too():
    eager_model, _, _ = train(False, PlainSGD, {"lr": 0.1}, hinge, SIGNS, 20, None)
    model, _, _ = train(True, PlainSGD, {"lr": 0.1}, hinge, SIGNS, 20, None)
    assert gap(eager_model, model) <= 1e-9


class ClippedSGD(SGD):
    """A subclass whose step() clips the gradients first: compiled training must call it."""

    def step(self):
        clip_grad_norm(self.params, 0.01)
        super().step()


class FrozenSGD(SGD):
    """A subclass whose step() leaves the parameters alone."""

    def step(self):
        self.steps += 1


class SignSGD(Optimizer):
    """A subclass with an update rule of its own, computed on floats only."""

    def _update(self, i, g):
        return self.lr * math.copysign(1.0, g)


@pytest.mark.parametrize("optimizer_class", [ClippedSGD, FrozenSGD, SignSGD])
def test_a_subclass_of_optimizer_with_its_own_step_or_update_trains_as_eager(optimizer_class):
    # compiled training once ran nn.optim's update on arrays for every Optimizer: it skipped a
    # subclass's own step() (FrozenSGD trained) and fed arrays to a float-only _update
    eager_model, _, _ = train(False, optimizer_class, {"lr": 0.1}, mse, SIGNS, 20, None)
    model, _, _ = train(True, optimizer_class, {"lr": 0.1}, mse, SIGNS, 20, None)
    assert gap(eager_model, model) <= 1e-9
    if optimizer_class is FrozenSGD:
        assert gap(model, MLP(2, [16, 16, 1], seed=0)) == 0.0


def test_the_progress_bar_shows_as_in_eager_training(capsys):
    model = MLP(2, [4, 1], seed=0)
    fit(model, hinge, SGD(model.parameters(), lr=0.1), (X, SIGNS), epochs=3, compile=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "acc=" in err


class Noisy(Module):
    tape_unsupported = "adds fresh noise to every example"

    def forward(self, x):
        return x


class Wrapped(Module):
    def __init__(self, inner):
        self.inner = [inner]
        self.body = MLP(2, [3, 1], seed=0)

    def forward(self, x):
        return self.body(self.inner[0](x))


def test_a_module_with_a_tape_unsupported_reason_is_refused_with_that_reason():
    model = Wrapped(Noisy())
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(NotImplementedError, match="Noisy adds fresh noise.*compile=False"):
        fit(model, hinge, optimizer, (X, SIGNS), epochs=1, progress=False, compile=True)
    with pytest.raises(NotImplementedError, match="Noisy .*fresh noise"):
        evaluate(model, hinge, (X, SIGNS), compile=True)


def test_evaluate_runs_the_model_in_eval_mode_where_dropout_passes_its_input_through():
    model = Wrapped(Dropout(0.5, seed=0))  # training, until evaluate puts the model in eval mode
    state = model.inner[0]._rng.getstate()
    eager = evaluate(model, hinge, (X, SIGNS))
    assert evaluate(model, hinge, (X, SIGNS), compile=True) == pytest.approx(eager, rel=1e-12)
    assert model.inner[0].training
    assert model.inner[0]._rng.getstate() == state  # no coin was flipped


def test_dropout_in_evaluation_mode_is_run():
    model = Wrapped(Dropout(0.5, seed=0).eval())
    eager = evaluate(model, hinge, (X, SIGNS))
    assert evaluate(model, hinge, (X, SIGNS), compile=True) == pytest.approx(eager, rel=1e-12)


def test_a_model_that_reads_its_weights_as_numbers_is_refused_when_compiling():
    class Thresholded(Module):
        def __init__(self):
            self.w = Value(0.5)

        def forward(self, x):
            return self.w * x[0] * (x[1] * x[1]).data  # a number read from the data

    model = Thresholded()
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="computed from the data"):
        fit(model, hinge, optimizer, (X, SIGNS), epochs=1, progress=False, compile=True)


def test_validation_after_every_epoch_reuses_the_tapes_instead_of_tracing_again(monkeypatch):
    import nn.train.compiled

    traced = []
    real_trace = nn.train.compiled.trace

    def counting_trace(f, *args, **options):
        traced.append(f)
        return real_trace(f, *args, **options)

    monkeypatch.setattr(nn.train.compiled, "trace", counting_trace)
    Xv, yv = make_moons(30, noise=0.3, seed=6)

    def traces_in(epochs):
        traced.clear()
        model = MLP(2, [8, 1], seed=0)
        optimizer = Adam(model.parameters(), lr=0.01)
        history = fit(model, binary_cross_entropy, optimizer, (X, LABELS), epochs=epochs,
                      batch_size=20, validation=(Xv, yv), progress=False, compile=True)  # fmt: skip
        assert len(history.val_loss) == epochs
        return len(traced), model, history

    once, _, _ = traces_in(1)
    again, model, history = traces_in(6)
    assert again == once  # no epoch after the first traced anything
    eager = evaluate(model, binary_cross_entropy, (Xv, yv))
    assert (history.val_loss[-1], history.val_accuracy[-1]) == pytest.approx(eager, rel=1e-12)


class BagOfEmbeddings(Module):
    """Looks its input up as indices: the tape takes each index as a one-hot argument."""

    def __init__(self):
        self.table = Embedding(5, 2, seed=0)
        self.head = MLP(2, [1], seed=1)

    def forward(self, indices):
        rows = self.table(indices)
        return self.head([rows[0][j] + rows[1][j] for j in range(2)])


class ComputedIndex(BagOfEmbeddings):
    def forward(self, indices):
        return self.head(self.table(indices[0] + 1))


def test_a_model_that_looks_its_input_up_in_an_embedding_trains_as_eager():
    # it was refused; the lookups are now products of the table with one-hot tape arguments
    data = ([[0, 1], [2, 4], [3, 3], [4, 0]], [1.0, 0.0, 1.0, 0.5])

    def run(compile):
        model = BagOfEmbeddings()
        optimizer = SGD(model.parameters(), lr=0.1)
        history = fit(model, mse, optimizer, data, epochs=3, batch_size=2, seed=0,
                      progress=False, compile=compile)  # fmt: skip
        return [p.data for p in model.parameters()], history.loss, model

    eager, compiled = run(False), run(True)
    assert compiled[0] == pytest.approx(eager[0], abs=1e-12)
    assert compiled[1] == pytest.approx(eager[1], rel=1e-12)
    model = compiled[2]
    assert evaluate(model, mse, data, compile=True) == pytest.approx(evaluate(model, mse, data))


def test_an_embedding_index_the_tape_cannot_look_up_is_refused_naming_it():
    data = ([[0, 1], [2, 4]], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"entry 1 is 4\.5, .*int in 0\.\.4"):
        evaluate(BagOfEmbeddings(), mse, ([[0, 1], [2, 4.5]], [1.0, 0.0]), compile=True)
    message = r"Embedding\(5, 2\) input reads an index computed by the model.*compile=False"
    model = ComputedIndex()
    with pytest.raises(NotImplementedError, match=message):
        fit(model, mse, SGD(model.parameters(), lr=0.1), data, 1, progress=False, compile=True)
    assert fit(model, mse, SGD(model.parameters(), lr=0.1), data, 1, progress=False).loss[0] > 0


def test_dropout_with_p_one_trains_through_tapes_as_eager():
    def run(compile):
        model = Wrapped(Dropout(1.0, seed=0))  # the body sees zeros: only its biases learn
        optimizer = SGD(model.parameters(), lr=0.1)
        fit(model, mse, optimizer, (X, SIGNS), 2, batch_size=25, seed=0, progress=False,
            compile=compile)  # fmt: skip
        return model

    eager, compiled = run(False), run(True)
    assert gap(eager, compiled) <= 1e-12
    first_weights = [p.data for p in MLP(2, [3, 1], seed=0).layers[0].neurons[0].w]
    assert [p.data for p in compiled.body.layers[0].neurons[0].w] == first_weights


def test_an_optimizer_of_part_of_the_model_trains_that_part_as_eager_and_freezes_the_rest():
    # the model's other parameters joined the parameter array after it had been read: a
    # ValueError "params must be an array of 41 values, got shape (25,)"
    def run(compile):
        model = MLP(2, [4, 4, 1], seed=0)
        trained = model.layers[1].parameters() + model.layers[2].parameters()
        optimizer = Adam(trained, lr=0.05)
        fit(model, mse, optimizer, (X, SIGNS), 2, batch_size=25, seed=0, progress=False,
            regularization=lambda ps: 1e-3 * l2(ps), compile=compile)  # fmt: skip
        return model

    eager, compiled = run(False), run(True)
    assert gap(eager, compiled) <= 1e-12
    start = MLP(2, [4, 4, 1], seed=0)
    for layer, moved in [(0, False), (1, True), (2, True)]:
        before = [p.data for p in start.layers[layer].parameters()]
        after = [p.data for p in compiled.layers[layer].parameters()]
        assert (after != before) is moved
