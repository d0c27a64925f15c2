"""fit(): the training loop, with a progress bar and a per-epoch history; evaluate(), accuracy()."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Protocol

from tqdm.auto import tqdm

from autograd import Value, no_grad
from nn.data import _positive_int, batches, check_data, random_source

Loss = Callable[[list[Any], list[Any]], Value]


class Model(Protocol):
    def __call__(self, x: Any) -> Any: ...

    def parameters(self) -> list[Value]: ...


class Optimizer(Protocol):
    def zero_grad(self) -> None: ...

    def step(self) -> None: ...


class Scheduler(Protocol):
    def step(self) -> None: ...


@dataclass(repr=False)
class History:
    """What `fit` measured, one entry per epoch trained; `best_epoch` indexes these lists.

    `loss` is the mean training loss over the epoch's examples (without the regularization
    penalty) and `accuracy` the fraction classified right, both measured during the epoch as the
    parameters changed; `val_loss` and `val_accuracy` are measured after the epoch, and stay
    empty without validation data. `best_epoch` is the epoch of the lowest validation loss.

    >>> History(loss=[0.9, 0.4], accuracy=[0.5, 1.0])
    History(epochs=2, loss=0.4, accuracy=1, best_epoch=None, stopped_early=False)
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def __repr__(self) -> str:
        latest = {"loss": self.loss, "accuracy": self.accuracy}
        latest.update(val_loss=self.val_loss, val_accuracy=self.val_accuracy)
        shown = [f"epochs={len(self.loss)}"]
        shown += [f"{name}={values[-1]:.4g}" for name, values in latest.items() if values]
        shown += [f"best_epoch={self.best_epoch}", f"stopped_early={self.stopped_early}"]
        return f"History({', '.join(shown)})"


def fit(
    model: Model,
    loss: Loss,
    optimizer: Optimizer,
    data: tuple[Sequence[Any], Sequence[Any]],
    epochs: int = 100,
    batch_size: int | None = None,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    regularization: Callable[[list[Value]], Value] | None = None,
    scheduler: Scheduler | None = None,
    validation: tuple[Sequence[Any], Sequence[Any]] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    progress: bool = True,
    compile: bool = False,
) -> History:
    """Train `model` on `data = (X, y)` for `epochs` passes; returns the `History`.

    Each batch (`batch_size` as in `nn.data.batches`: None for the whole set, 1 for stochastic,
    k for mini-batches; shuffled each epoch from `seed` when `shuffle`) takes one step:
    outputs = [model(x) for x in batch], objective = loss(outputs, targets) + regularization(
    parameters), then `optimizer.zero_grad()`, `objective.backward()`, `optimizer.step()`.
    `loss` returns the batch mean, as the functions of `nn.losses` do. A `scheduler`
    (`nn.optim.StepLR`, `CosineAnnealingLR`) steps once after every epoch.

    With `validation = (X, y)`, the validation loss and accuracy are measured after every epoch
    under `no_grad()`. With `patience = k` as well, training stops once the validation loss has
    not improved for k epochs, and (`restore_best`) the parameters of the best epoch come back.
    `progress` shows a tqdm bar (a widget in Jupyter, text in a terminal) with the latest metrics.
    `compile=True` trains through tapes (`autograd.trace`, `nn.compiled`): the same steps on
    NumPy arrays, a batch at a time, many times faster; it needs NumPy.

    >>> from nn import MLP
    >>> from nn.data import xor
    >>> from nn.losses import binary_cross_entropy
    >>> from nn.optim import Adam
    >>> model = MLP(2, [8, 1], activation="tanh", seed=0)
    >>> optimizer = Adam(model.parameters(), lr=0.1)
    >>> history = fit(model, binary_cross_entropy, optimizer, xor(), epochs=100, progress=False)
    >>> len(history.loss), evaluate(model, binary_cross_entropy, xor())[1]
    (100, 1.0)
    """
    X, y = check_data(data, "fit")
    epochs = _positive_int(epochs, "fit", "epochs")
    if batch_size is not None:
        _positive_int(batch_size, "fit", "batch_size")
    if validation is not None:
        validation = check_data(validation, "fit (validation)")
    if patience is not None:
        _positive_int(patience, "fit", "patience")
        if validation is None:
            raise ValueError(
                f"fit: patience={patience} stops on the validation loss, so it needs "
                "validation=(X_val, y_val)"
            )
    needed = [("model", model, "parameters"), ("optimizer", optimizer, "zero_grad")]
    for role, owner, method in needed + [("optimizer", optimizer, "step")]:
        if not callable(getattr(owner, method, None)):
            raise TypeError(f"fit: the {role} {owner!r} has no {method}() method")
    parameters = list(model.parameters())
    train_epoch, evaluate_epoch = _train_epoch, evaluate
    if compile:
        from nn.compiled import CompiledTraining

        trainer = CompiledTraining(model, loss, optimizer, regularization, (X, y))
        train_epoch, evaluate_epoch = trainer.train_epoch, trainer.evaluate

    rng = random_source(seed)
    history = History()
    best_loss, best_parameters, waited = math.inf, None, 0
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    try:
        for epoch in bar:
            epoch_batches = batches((X, y), batch_size, shuffle, rng.randrange(2**32))
            train_loss, train_accuracy = train_epoch(
                model, loss, optimizer, epoch_batches, parameters, regularization
            )
            history.loss.append(train_loss)
            history.accuracy.append(train_accuracy)
            if scheduler is not None:
                scheduler.step()
            metrics = {"loss": train_loss, "acc": train_accuracy}
            if validation is not None:
                val_loss, val_accuracy = evaluate_epoch(model, loss, validation)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
                metrics.update(val_loss=val_loss, val_acc=val_accuracy)
                if val_loss < best_loss:
                    best_loss, history.best_epoch, waited = val_loss, epoch, 0
                    best_parameters = [p.data for p in parameters]
                else:
                    waited += 1
            bar.set_postfix({name: f"{value:.4g}" for name, value in metrics.items()})
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
    finally:
        bar.close()
    if patience is not None and restore_best and best_parameters is not None:
        for p, data in zip(parameters, best_parameters):
            p.data = data
    return history


def _train_epoch(
    model: Model,
    loss: Loss,
    optimizer: Optimizer,
    epoch_batches: Iterable[tuple[list[Any], list[Any]]],
    parameters: list[Value],
    regularization: Callable[[list[Value]], Value] | None,
) -> tuple[float, float]:
    """One step per batch; the mean loss and the accuracy seen along the way."""
    total, correct, count = 0.0, 0, 0
    for X_batch, y_batch in epoch_batches:
        outputs = [model(x) for x in X_batch]
        batch_loss = _as_value(loss(outputs, y_batch), "fit", "loss")
        objective = batch_loss
        if regularization is not None:
            objective = batch_loss + _as_value(regularization(parameters), "fit", "regularization")
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        total += batch_loss.data * len(X_batch)
        correct += sum(map(_is_correct, outputs, y_batch))
        count += len(X_batch)
    return total / count, correct / count


def evaluate(
    model: Callable[[Any], Any],
    loss: Loss,
    data: tuple[Sequence[Any], Sequence[Any]],
    compile: bool = False,
) -> tuple[float, float]:
    """The mean loss and the accuracy of `model` on `data = (X, y)`, recording no graph.

    `compile=True` runs the model and the loss through tapes (`nn.compiled`), batched.

    >>> from autograd import Value
    >>> from nn.losses import mse
    >>> evaluate(lambda x: Value(2.0 * x[0]), mse, ([[1.0], [-1.0]], [1.0, 1.0]))
    (5.0, 0.5)
    """
    X, y = check_data(data, "evaluate")
    if compile:
        from nn.compiled import evaluate_compiled

        return evaluate_compiled(model, loss, (X, y))
    with no_grad():
        outputs = [model(x) for x in X]
        mean_loss = _as_value(loss(outputs, list(y)), "evaluate", "loss")
    return mean_loss.data, accuracy(outputs, y)


def accuracy(outputs: Sequence[Any], targets: Sequence[Any]) -> float:
    """The fraction of outputs that classify their target right.

    A scalar output (a `Value`, a number, or a list of one) is right when
    (output > 0) == (target > 0): a logit with 0/1 labels, or a score with -1/+1 labels.
    A vector output (class scores) is right when its largest entry is at the target's index.
    An output holding NaN is never right.

    >>> from autograd import Value
    >>> accuracy([Value(2.0), Value(-0.5), [0.1, 3.0, -1.0], [0.0, 1.0]], [1, 1, 1, 0])
    0.5
    """
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no outputs to score")
    return sum(map(_is_correct, outputs, targets)) / len(outputs)


def _is_correct(output: Any, target: Any) -> bool:
    if isinstance(output, Sequence) and len(output) == 1:
        output = output[0]
    if isinstance(output, (Value, Real)):
        score = float(output)  # NaN > 0 is False: without the check, NaN would match a 0 label
        return not math.isnan(score) and (score > 0.0) == (float(target) > 0.0)
    if not isinstance(output, Sequence) or isinstance(output, str) or not output:
        raise TypeError(
            f"accuracy: an output must be a Value, a number or a list of class scores, "
            f"got {type(output).__name__} {output!r}"
        )
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"accuracy: a class index target must be an int, got {target!r}")
    if not 0 <= target < len(output):
        raise IndexError(
            f"accuracy: target {target} is out of range for {len(output)} class scores"
        )
    scores = [float(score) for score in output]
    if any(map(math.isnan, scores)):  # max() compares nothing with NaN: its pick would be arbitrary
        return False
    return max(range(len(scores)), key=scores.__getitem__) == target


def _as_value(result: Any, caller: str, what: str) -> Value:
    if not isinstance(result, Value):
        raise TypeError(
            f"{caller}: {what} must return a Value, got {type(result).__name__} {result!r}"
        )
    return result
