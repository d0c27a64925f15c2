"""fit(): its steps, what it records, early stopping, progress output; evaluate and accuracy."""

import math
import random

import pytest

from autograd import Value, is_grad_enabled
from nn import MLP, BatchNorm1d, Dropout, Linear, ReLU, Sequential
from nn.data import make_moons, make_spirals
from nn.losses import cross_entropy, l2, mse
from nn.optim import SGD, Adam, StepLR
from nn.train import History, accuracy, evaluate, fit


class Line:
    """f(x) = w x + b: the smallest model fit can train, with gradients known by hand."""

    def __init__(self, w=0.0, b=0.0):
        self.w, self.b = Value(w, label="w"), Value(b, label="b")
        self.calls = []  # (input, whether the graph was being recorded)

    def __call__(self, x):
        self.calls.append((x[0], is_grad_enabled()))
        return self.w * x[0] + self.b

    def parameters(self):
        return [self.w, self.b]


class RecordingSGD:
    """Plain gradient descent that logs each call and the (data, grad) pairs each step sees."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr
        self.calls, self.seen = [], []

    def zero_grad(self):
        self.calls.append("zero_grad")
        for p in self.params:
            p.grad = 0.0

    def step(self):
        self.calls.append("step")
        self.seen.append([(p.data, p.grad) for p in self.params])
        for p in self.params:
            p.data -= self.lr * p.grad


def line_data(slope, intercept=0.0, n=5):
    X = [[-1.0 + 2.0 * i / (n - 1)] for i in range(n)]
    return X, [slope * x + intercept for [x] in X]


def quiet_fit(*args, **options):
    return fit(*args, progress=False, **options)


# --- the steps -----------------------------------------------------------------------------
def test_each_step_sees_the_gradient_of_the_mean_loss_plus_the_penalty():
    X, y = line_data(2.0, -1.0)
    model = Line(0.3, 0.1)
    optimizer = RecordingSGD(model.parameters(), lr=0.2)
    penalty = lambda ps: 0.1 * l2(ps)
    quiet_fit(model, mse, optimizer, (X, y), epochs=4, regularization=penalty)
    assert optimizer.calls == ["zero_grad", "step"] * 4
    for (w, dw), (b, db) in optimizer.seen:
        residuals = [w * x + b - t for [x], t in zip(X, y)]
        expected_dw = 2 * sum(r * x for r, [x] in zip(residuals, X)) / len(X) + 0.2 * w
        expected_db = 2 * sum(residuals) / len(X) + 0.2 * b
        assert dw == pytest.approx(expected_dw, abs=1e-12)
        assert db == pytest.approx(expected_db, abs=1e-12)


@pytest.mark.parametrize(("batch_size", "steps_per_epoch"), [(None, 1), (1, 10), (4, 3), (10, 1)])
def test_one_step_per_batch_and_every_example_seen_once_per_epoch(batch_size, steps_per_epoch):
    X, y = line_data(1.0, n=10)
    model = Line()
    optimizer = RecordingSGD(model.parameters(), lr=0.01)
    quiet_fit(model, mse, optimizer, (X, y), epochs=3, batch_size=batch_size, seed=0)
    assert optimizer.calls == ["zero_grad", "step"] * (3 * steps_per_epoch)
    seen = [x for x, recording in model.calls]
    for epoch in range(3):
        assert sorted(seen[epoch * 10 : (epoch + 1) * 10]) == sorted(x for [x] in X)


def test_the_regularization_penalty_is_given_the_model_parameters():
    model = Line()
    given = []
    penalty = lambda ps: given.append(ps) or 0.0 * l2(ps)
    quiet_fit(
        model,
        mse,
        SGD(model.parameters(), lr=0.1),
        line_data(1.0),
        epochs=2,
        regularization=penalty,
    )
    assert given == [model.parameters()] * 2


def test_shuffled_mini_batches_follow_the_seed():
    def train(seed):
        model = Line()
        history = quiet_fit(
            model, mse, SGD(model.parameters(), lr=0.1), line_data(3.0, 1.0, n=9), 5, 2, seed=seed
        )
        return history.loss, model.w.data, [x for x, _ in model.calls]

    assert train(seed=7) == train(seed=7)
    assert train(seed=7) != train(seed=8)


def test_a_scheduler_sets_the_learning_rate_after_every_epoch():
    class RateLoggingSGD(SGD):
        def step(self):
            self.rates.append(self.lr)
            super().step()

    model = Line()
    optimizer = RateLoggingSGD(model.parameters(), lr=1.0)
    optimizer.rates = []
    schedule = StepLR(optimizer, step_size=1, gamma=0.5)
    quiet_fit(model, mse, optimizer, line_data(1.0, n=4), 3, batch_size=2, scheduler=schedule)
    assert optimizer.rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert optimizer.lr == 0.125


def test_fit_follows_the_path_of_the_same_loop_written_in_pytorch_float64():
    torch = pytest.importorskip("torch")
    X, y = make_spirals(30, classes=3, seed=0)
    model = MLP(2, [4, 3], activation="tanh", seed=0)
    twin = [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64),
        )
        for layer in model.layers
    ]
    seen_inputs, batch_sizes = [], []

    def recorded_model(x):
        seen_inputs.append(x)
        return model(x)

    recorded_model.parameters = model.parameters

    def recorded_loss(outputs, targets):
        batch_sizes.append(len(targets))
        return cross_entropy(outputs, targets)

    history = quiet_fit(
        recorded_model,
        recorded_loss,
        Adam(model.parameters(), lr=0.05),
        (X, y),
        epochs=3,
        batch_size=8,
        seed=0,
        regularization=lambda ps: 1e-3 * l2(ps),
    )

    # The same batches, in the same order, through the same network in PyTorch.
    parameters = [p.requires_grad_() for layer in twin for p in layer]
    optimizer = torch.optim.Adam(parameters, lr=0.05)
    label_of = {tuple(x): label for x, label in zip(X, y)}
    start, losses = 0, []
    for size in batch_sizes:
        inputs = seen_inputs[start : start + size]
        start += size
        h = torch.tensor(inputs, dtype=torch.float64)
        for i, (W, b) in enumerate(twin):
            h = h @ W.T + b
            h = h.tanh() if i < len(twin) - 1 else h
        targets = torch.tensor([label_of[tuple(x)] for x in inputs])
        loss = torch.nn.functional.cross_entropy(h, targets)
        penalty = 1e-3 * sum((p**2).sum() for p in parameters)
        optimizer.zero_grad()
        (loss + penalty).backward()
        optimizer.step()
        losses.append(loss.item() * size)
    per_epoch = [sum(losses[i : i + 4]) / 30 for i in range(0, 12, 4)]  # 8 + 8 + 8 + 6 = 30

    assert batch_sizes == [8, 8, 8, 6] * 3
    assert history.loss == pytest.approx(per_epoch, rel=1e-12)
    ours = [p.data for layer in model.layers for n in layer.neurons for p in [*n.w, n.b]]
    theirs = [x for W, b in twin for row in torch.cat([W, b[:, None]], dim=1).tolist() for x in row]
    assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-12)


# --- what it records -----------------------------------------------------------------------
def test_history_has_one_entry_per_epoch_and_validation_only_when_given():
    model = Line()
    data = line_data(1.0)
    history = quiet_fit(model, mse, SGD(model.parameters(), lr=0.1), data, epochs=7)
    assert len(history.loss) == len(history.accuracy) == 7
    assert history.val_loss == history.val_accuracy == []
    assert history.best_epoch is None and not history.stopped_early

    history = quiet_fit(model, mse, SGD(model.parameters(), lr=0.1), data, 7, validation=data)
    assert len(history.loss) == len(history.accuracy) == 7
    assert len(history.val_loss) == len(history.val_accuracy) == 7
    assert history.best_epoch == history.val_loss.index(min(history.val_loss))


def test_full_batch_gradient_descent_lowers_the_loss_every_epoch_on_a_line():
    model = Line()
    history = quiet_fit(model, mse, SGD(model.parameters(), lr=0.3), line_data(2.0, -1.0), 40)
    assert all(later < earlier for earlier, later in zip(history.loss, history.loss[1:]))
    assert history.loss[-1] < 1e-3 * history.loss[0]
    assert (model.w.data, model.b.data) == pytest.approx((2.0, -1.0), abs=1e-2)


def test_the_recorded_loss_is_the_data_loss_before_each_step_without_the_penalty():
    X, y = line_data(2.0)
    model = Line(0.5, 0.0)
    history = quiet_fit(
        model, mse, SGD(model.parameters(), lr=0.1), (X, y), 1, regularization=lambda ps: l2(ps)
    )
    assert history.loss == [pytest.approx(sum((0.5 * x - t) ** 2 for [x], t in zip(X, y)) / 5)]


def test_training_accuracy_counts_outputs_on_the_right_side_of_zero():
    X, y = [[-2.0], [-1.0], [1.0], [2.0]], [0, 0, 1, 0]  # w = 1 gets three of four right
    history = quiet_fit(Line(1.0), mse, RecordingSGD([], lr=0.0), (X, y), epochs=1)
    assert history.accuracy == [0.75]


def test_validation_is_measured_without_recording_a_graph():
    model = Line()
    train, validation = ([[1.0], [2.0]], [2.0, 4.0]), ([[10.0], [20.0]], [20.0, 40.0])
    fit(
        model,
        mse,
        SGD(model.parameters(), lr=0.05),
        train,
        3,
        validation=validation,
        progress=False,
    )
    assert {recording for x, recording in model.calls if x >= 10.0} == {False}
    assert {recording for x, recording in model.calls if x < 10.0} == {True}
    assert is_grad_enabled()


def test_history_repr_shows_the_epochs_and_the_latest_metrics():
    history = History(loss=[1.0, 0.25], accuracy=[0.5, 0.75], val_loss=[2.0, 0.5])
    history.val_accuracy, history.best_epoch = [0.5, 1.0], 1
    assert repr(history) == (
        "History(epochs=2, loss=0.25, accuracy=0.75, val_loss=0.5, val_accuracy=1, "
        "best_epoch=1, stopped_early=False)"
    )


# --- early stopping ------------------------------------------------------------------------
def overfitting_run(restore_best, patience=3):
    """Training pulls w from 0 towards 2; validation wants 0.5, so its loss falls, then rises."""
    model = Line()
    history = quiet_fit(
        model,
        mse,
        SGD([model.w], lr=0.1),
        line_data(2.0),
        epochs=100,
        validation=line_data(0.5),
        patience=patience,
        restore_best=restore_best,
        seed=0,  # the same example order, so the same rounding, in every run
    )
    return model, history


def test_early_stopping_stops_patience_epochs_after_the_best_validation_loss():
    _, history = overfitting_run(restore_best=True, patience=3)
    assert history.stopped_early
    assert history.best_epoch == history.val_loss.index(min(history.val_loss)) == 2
    assert len(history.val_loss) == len(history.loss) == history.best_epoch + 1 + 3
    after_best = history.val_loss[history.best_epoch :]
    assert all(later > earlier for earlier, later in zip(after_best, after_best[1:]))


def test_early_stopping_restores_the_parameters_of_the_best_epoch():
    model, history = overfitting_run(restore_best=True)
    assert evaluate(model, mse, line_data(0.5))[0] == min(history.val_loss)
    kept, kept_history = overfitting_run(restore_best=False)
    assert kept_history.val_loss == history.val_loss
    assert evaluate(kept, mse, line_data(0.5))[0] == kept_history.val_loss[-1]
    assert kept.w.data > model.w.data


def test_early_stopping_restores_batch_norm_statistics_of_the_best_epoch_too():
    X, y = make_moons(40, noise=0.3, seed=1)
    X_val, y_val = make_moons(20, noise=0.3, seed=2)

    def run(epochs, patience):
        model = Sequential(Linear(2, 16, seed=0), BatchNorm1d(16), ReLU(), Linear(16, 1, seed=1))
        history = quiet_fit(
            model,
            mse,
            Adam(model.parameters(), lr=0.1),
            (X, y),
            epochs,
            batch_size=8,
            seed=0,
            validation=(X_val, y_val),
            patience=patience,
        )
        return model, history

    stopped, history = run(60, patience=3)
    assert history.stopped_early and history.best_epoch < len(history.loss) - 1
    best, _ = run(history.best_epoch + 1, patience=None)  # the same run, ended at the best epoch
    assert stopped.state_dict() == best.state_dict()  # running_mean/var and the batch count too


def test_no_early_stop_while_the_validation_loss_keeps_improving():
    model = Line()
    data = line_data(2.0)
    history = quiet_fit(
        model, mse, SGD(model.parameters(), lr=0.1), data, 20, validation=data, patience=2
    )
    assert not history.stopped_early and len(history.loss) == 20 and history.best_epoch == 19


# --- progress output -----------------------------------------------------------------------
def test_progress_false_prints_nothing(capsys):
    model = Line()
    data = line_data(1.0)
    quiet_fit(model, mse, SGD(model.parameters(), lr=0.1), data, 3, validation=data, patience=1)
    assert capsys.readouterr() == ("", "")


def test_the_progress_bar_shows_epochs_loss_and_accuracy(capsys):
    model = Line()
    data = line_data(1.0)
    fit(model, mse, SGD(model.parameters(), lr=0.1), data, epochs=3, validation=data)
    out, err = capsys.readouterr()
    assert out == ""
    assert "3/3" in err and "loss=" in err and "acc=" in err and "val_loss=" in err


# --- evaluate and accuracy -----------------------------------------------------------------
def test_evaluate_gives_the_mean_loss_and_accuracy_recording_no_graph():
    model = Line(1.0, -0.5)
    X, y = [[0.0], [1.0], [2.0]], [1.0, 1.0, 1.0]
    loss, acc = evaluate(model, mse, (X, y))
    assert loss == pytest.approx((0.25 + 0.25 + 2.25) / 3)
    assert acc == pytest.approx(2 / 3)
    assert [recording for _, recording in model.calls] == [False] * 3


def test_accuracy_of_scalar_outputs_compares_signs_for_0_1_and_plus_minus_1_labels():
    logits = [Value(0.3), Value(-2.0), Value(1.0), -0.5]
    assert accuracy(logits, [1, 0, 0, 0]) == 0.75
    assert accuracy(logits, [1, -1, -1, -1]) == 0.75
    assert accuracy([[Value(2.0)], [Value(-1.0)]], [1, 1]) == 0.5  # a list of one is a scalar


def test_accuracy_of_class_scores_compares_the_argmax_with_the_index():
    scores = [[Value(0.1), Value(2.0), Value(-1.0)], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]]
    assert accuracy(scores, [1, 2, 2]) == pytest.approx(2 / 3)


def test_a_nan_output_is_never_counted_right():
    nan = math.nan
    assert accuracy([Value(nan), nan, [Value(nan)]], [0, -1, 0]) == 0.0
    assert accuracy([[nan, 1.0], [0.0, nan], [nan, nan]], [0, 0, 1]) == 0.0


# --- errors --------------------------------------------------------------------------------
def fit_line(**options):
    model = Line()
    optimizer = SGD(model.parameters(), lr=0.1)
    arguments = dict(model=model, loss=mse, optimizer=optimizer, data=line_data(1.0))
    arguments.update(options)
    return fit(progress=False, **arguments)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"epochs": 0}, ValueError, "fit: epochs must be positive, got 0"),
        ({"epochs": 2.0}, TypeError, "fit: epochs must be an int, got float 2.0"),
        ({"epochs": True}, TypeError, "fit: epochs must be an int, got bool True"),
        ({"batch_size": 0}, ValueError, "fit: batch_size must be positive, got 0"),
        ({"data": ([], [])}, ValueError, "fit: the data set is empty"),
        ({"data": ([[1.0], [2.0]], [1.0])}, ValueError, "X has 2 examples but y has 1 labels"),
        ({"validation": ([[1.0]], [])}, ValueError, r"fit \(validation\): X has 1 examples"),
        ({"patience": 3}, ValueError, "patience=3 .* needs validation=\\(X_val, y_val\\)"),
        ({"patience": 0, "validation": line_data(1.0)}, ValueError, "patience must be positive"),
        ({"loss": lambda o, t: 0.5}, TypeError, "fit: loss must return a Value, got float 0.5"),
        (
            {"regularization": lambda ps: [p * p for p in ps]},
            TypeError,
            "fit: regularization must return a Value, got list",
        ),
        ({"optimizer": object()}, TypeError, "optimizer .* has no zero_grad\\(\\) method"),
        ({"model": lambda x: x}, TypeError, "fit: the model .* has no parameters\\(\\) method"),
    ],
)
def test_bad_arguments_raise_naming_the_problem(options, error, message):
    with pytest.raises(error, match=message):
        fit_line(**options)


@pytest.mark.parametrize(
    ("outputs", "targets", "error", "message"),
    [
        ([Value(1.0)], [1, 0], ValueError, "1 outputs but 2 targets"),
        ([], [], ValueError, "no outputs to score"),
        ([[1.0, 2.0]], [1.0], TypeError, "class index target must be an int, got 1.0"),
        ([[1.0, 2.0]], [2], IndexError, "target 2 is out of range for 2 class scores"),
        ([[1.0, 2.0]], [-1], IndexError, "target -1 is out of range for 2 class scores"),
        (["yes"], [1], TypeError, "an output must be a Value, a number or a list"),
    ],
)
def test_accuracy_rejects_what_it_cannot_score(outputs, targets, error, message):
    with pytest.raises(error, match=message):
        accuracy(outputs, targets)


def test_evaluate_rejects_a_loss_that_returns_no_value():
    with pytest.raises(TypeError, match="evaluate: loss must return a Value, got float nan"):
        evaluate(Line(), lambda o, t: math.nan, line_data(1.0))


def test_without_a_seed_the_global_random_seed_makes_training_repeatable():
    from nn.losses import hinge

    def run():
        random.seed(1337)
        X, labels = make_moons(20, noise=0.1)
        model = MLP(2, [4, 1])
        fit(
            model,
            hinge,
            SGD(model.parameters(), lr=0.1),
            (X, [2 * t - 1 for t in labels]),
            epochs=3,
            batch_size=4,
            progress=False,
        )
        return model.state_dict()

    assert run() == run()


# --- handing batches through models with modes ------------------------------------------------
class ModeSpy:
    """A model with train()/eval() and forward_batch that records what it was asked."""

    def __init__(self):
        self.w = Value(0.5)
        self.training = True
        self.batches = []  # (batch size, mode) per forward_batch call

    def train(self, mode=True):
        self.training = mode
        return self

    def forward_batch(self, batch):
        self.batches.append((len(batch), self.training))
        return [self.w * x[0] for x in batch]

    def __call__(self, x):
        raise AssertionError("a model with forward_batch gets whole batches")

    def parameters(self):
        return [self.w]


def test_fit_hands_whole_batches_in_training_mode_and_evaluate_in_eval_mode():
    model = ModeSpy().train(False)
    X, y = line_data(2.0, n=6)
    quiet_fit(
        model,
        mse,
        SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=1,
        batch_size=4,
        validation=(X, y),
    )
    assert model.batches == [(4, True), (2, True), (6, False)]
    assert model.training is False  # back in the mode it came in


def test_evaluate_runs_without_dropout_and_leaves_the_model_in_training_mode():
    model = Sequential(Linear(1, 1, seed=0), Dropout(0.5, seed=0))
    with pytest.raises(TypeError):
        evaluate(model, lambda outputs, targets: 1.0, ([[1.0]], [1.0]))
    assert model.training
    first = evaluate(model, mse, ([[1.0]] * 20, [1.0] * 20))
    assert first == evaluate(model, mse, ([[1.0]] * 20, [1.0] * 20))  # no dropout in eval mode
