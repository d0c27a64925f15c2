"""fit(): the training loop, with a progress bar and a per-epoch history; evaluate(), accuracy();
and, from `nn.train.bptt`, truncated backpropagation through time for long sequences."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tqdm.auto import tqdm

from autograd import Value, no_grad
from nn.data.batching import batches, check_data
from nn.data.sources import positive_int, random_source
from nn.files import writable_target
from nn.train.bptt import BPTTHistory as BPTTHistory  # truncated BPTT, re-exported from here
from nn.train.bptt import detach as detach
from nn.train.bptt import truncated_bptt as truncated_bptt
from nn.train.checkpoint import (
    RunState,
    check_checkpointable,
    load_model_state,
    model_state,
    read_checkpoint,
    write_checkpoint,
)
from nn.train.interrupts import CtrlC
from nn.train.measures import accuracy, check_targets, in_mode, is_correct, measures_accuracy
from nn.train.run_arguments import run_arguments
from nn.train.sequence_tapes import compiled_evaluation, compiled_training

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
    empty without validation data. The accuracies stay empty too when the targets are lists
    (a regression on vectors), which have no class to get right. `best_epoch` is the epoch of
    the lowest validation loss. `interrupted` is True when Ctrl-C stopped the run.

    >>> History(loss=[0.9, 0.4], accuracy=[0.5, 1.0])
    History(epochs=2, loss=0.4, accuracy=1, best_epoch=None, stopped_early=False)
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False

    def __repr__(self) -> str:
        latest = {"loss": self.loss, "accuracy": self.accuracy}
        latest.update(val_loss=self.val_loss, val_accuracy=self.val_accuracy)
        shown = [f"epochs={len(self.loss)}"]
        shown += [f"{name}={values[-1]:.4g}" for name, values in latest.items() if values]
        shown += [f"best_epoch={self.best_epoch}", f"stopped_early={self.stopped_early}"]
        shown += ["interrupted=True"] if self.interrupted else []
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
    scheduler_interval: str = "epoch",
    validation: tuple[Sequence[Any], Sequence[Any]] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    progress: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: str | os.PathLike[str] | None = None,
    compile: bool = False,
) -> History:
    """Train `model` on `data = (X, y)` for `epochs` passes; returns the `History`.

    Each batch (`batch_size` as in `nn.data.batching`: None for the whole set, 1 for stochastic,
    k for mini-batches; shuffled each epoch from `seed` when `shuffle`) takes one step:
    outputs = model.forward_batch(batch) (for a plain callable, [model(x) for x in batch]), in
    training mode, objective = loss(outputs, targets) + regularization(parameters), then
    `optimizer.zero_grad()`, `objective.backward()`, `optimizer.step()`.
    `loss` returns the batch mean, as the functions of `nn.losses` do. A `scheduler`
    (`nn.optim.StepLR`, `CosineAnnealingLR`, `LinearLR`) steps once after every epoch, or after
    every optimizer step with `scheduler_interval="step"` (microgpt's learning rate decays
    linearly step by step: `LinearLR(optimizer, 1.0, 0.0, total_iters=steps)`).

    Every target must be a finite real number (a class index, a 0/1 or -1/+1 label, a value to
    regress on) or a list of them; any other (None, a string, a bool, NumPy's too) is refused
    with a TypeError naming it before training starts, compiled or not. Accuracy is measured
    when every target is a number (see `accuracy`); when they are lists, a regression on
    vectors, it is not, and `History.accuracy` stays empty.

    With `validation = (X, y)`, the validation loss and accuracy are measured after every epoch
    under `no_grad()`. With `patience = k` as well, training stops once the validation loss has
    not improved for k epochs, and (`restore_best`) the parameters of the best epoch come back,
    with its buffers (batch norm's running statistics).
    `progress` shows a tqdm bar (a widget in Jupyter, text in a terminal) with the latest metrics.
    `compile=True` trains through tapes (`autograd.trace`, `nn.train.compiled`): the same steps on
    NumPy arrays, a batch at a time, many times faster, with dropout's coin flips and batch
    norm's statistics those of eager training (`nn.train.model_tape`); it needs NumPy.

    `checkpoint = path` saves the whole run there (`nn.train.checkpoint`: model, optimizer,
    scheduler, random states, history, early-stopping state), atomically, after every
    `checkpoint_every` epochs and after the last (a path that cannot be written, a directory or one
    in a missing directory, is refused before training starts). `resume = path` continues the run
    saved there; call fit with the same arguments (`nn.train.run_arguments`: others are refused with
    a ValueError naming the argument), but for `epochs`, which counts from the start of the run and
    may grow: the result is the one the run would have reached uninterrupted, bit for bit. Ctrl-C
    stops training after the current step (a second Ctrl-C stops at once) and returns the history so
    far, marked `interrupted`, with the parameters of the last step taken and a checkpoint written,
    if one was asked for. Python delivers Ctrl-C to the main thread only: fit running in another
    thread leaves it alone.

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
    check_targets(y, "fit")
    scored = measures_accuracy(y)
    epochs = positive_int(epochs, "fit", "epochs")
    if batch_size is not None:
        positive_int(batch_size, "fit", "batch_size")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"fit: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    per_step = scheduler if scheduler_interval == "step" else None
    if validation is not None:
        validation = check_data(validation, "fit (validation)")
        check_targets(validation[1], "fit (validation)")
    if patience is not None:
        positive_int(patience, "fit", "patience")
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
    if checkpoint is not None or resume is not None:
        check_checkpointable(optimizer, scheduler, "fit")
    if checkpoint is not None:
        positive_int(checkpoint_every, "fit", "checkpoint_every")
        writable_target(checkpoint, "fit: checkpoint")  # now, not after the first epochs
    compiled = None
    if compile:
        compiled = compiled_training(model, loss, optimizer, regularization, (X, y))

    arguments = None  # what decides the run's course, the data hashed once: checkpoints only
    if checkpoint is not None or resume is not None:
        arguments = run_arguments(
            loss, (X, y), batch_size, shuffle, seed, regularization, validation, patience,
            restore_best, compile, scheduler_interval,
        )  # fmt: skip
    rng = random_source(seed)
    history = History()
    run = RunState(history)  # what a checkpoint keeps besides the model, optimizer and scheduler
    if resume is not None:
        steps_per_epoch = math.ceil(len(X) / (batch_size or len(X)))
        read_checkpoint(
            resume, model, optimizer, scheduler, rng, run, arguments, epochs, steps_per_epoch
        )
    last = run.epoch if history.stopped_early else epochs  # a run that stopped early is over
    bar = tqdm(
        range(run.epoch, last),
        initial=run.epoch,
        total=epochs,
        desc="training",
        unit="epoch",
        disable=not progress,
    )
    with bar, CtrlC() as ctrl_c:
        for epoch in bar:
            if run.batch_seed is None:  # else the epoch was under way when the run stopped
                run.batch_seed = rng.randrange(2**32)
            epoch_batches = batches((X, y), batch_size, shuffle, run.batch_seed)
            if not _train_epoch(
                model,
                loss,
                optimizer,
                epoch_batches,
                parameters,
                regularization,
                run,
                ctrl_c,
                compiled,
                scored,
                per_step,
            ):
                history.interrupted = True
                break
            train_loss, train_accuracy = run.finish_epoch()
            history.loss.append(train_loss)
            metrics = {"loss": train_loss}
            if scored:
                history.accuracy.append(train_accuracy)
                metrics["acc"] = train_accuracy
            if scheduler is not None and per_step is None:
                scheduler.step()
            if validation is not None:
                if compiled is None:
                    val_loss, val_accuracy = evaluate(model, loss, validation)
                else:
                    with in_mode(model, training=False):
                        val_loss, val_accuracy = compiled.evaluate(model, loss, validation)
                history.val_loss.append(val_loss)
                metrics["val_loss"] = val_loss
                if val_accuracy is not None:
                    history.val_accuracy.append(val_accuracy)
                    metrics["val_acc"] = val_accuracy
                if val_loss < run.best_loss:
                    run.best_loss, history.best_epoch, run.waited = val_loss, epoch, 0
                    run.best_state = model_state(model)
                else:
                    run.waited += 1
            bar.set_postfix({name: f"{value:.4g}" for name, value in metrics.items()})
            run.epoch = epoch + 1
            history.stopped_early = patience is not None and run.waited >= patience
            if checkpoint is not None and (
                run.epoch % checkpoint_every == 0 or run.epoch == epochs or history.stopped_early
            ):
                write_checkpoint(checkpoint, model, optimizer, scheduler, rng, run, arguments)
            if history.stopped_early:
                break
    if history.interrupted and checkpoint is not None:
        write_checkpoint(checkpoint, model, optimizer, scheduler, rng, run, arguments)
    if patience is not None and restore_best and run.best_state is not None:
        if not history.interrupted:  # an interrupted run keeps its last step, to go on from
            load_model_state(model, run.best_state)  # buffers too: batch norm's statistics
    return history


def _train_epoch(
    model: Model,
    loss: Loss,
    optimizer: Optimizer,
    epoch_batches: Iterable[tuple[list[Any], list[Any]]],
    parameters: list[Value],
    regularization: Callable[[list[Value]], Value] | None,
    run: RunState,
    ctrl_c: CtrlC,
    compiled: Any = None,
    scored: bool = True,
    per_step: Scheduler | None = None,
) -> bool:
    """One step per batch not taken yet, adding loss and accuracy (when `scored`) to `run`;
    False on Ctrl-C. A `per_step` scheduler steps after every optimizer step.

    `compiled` (an `nn.train.compiled.CompiledTraining`) takes the steps through tapes instead.
    """
    with compiled.epoch() if compiled is not None else contextlib.nullcontext():
        for X_batch, y_batch in itertools.islice(epoch_batches, run.steps, None):
            if ctrl_c.pressed:
                return False
            if compiled is not None:
                batch_loss, outputs = compiled.batch(X_batch, y_batch)
            else:
                batch_loss, outputs = _eager_step(
                    model, loss, optimizer, X_batch, y_batch, parameters, regularization
                )
            run.loss_sum += batch_loss * len(X_batch)
            if scored:
                run.correct += sum(map(is_correct, outputs, y_batch))
            run.count += len(X_batch)
            run.steps += 1
            if per_step is not None:
                per_step.step()
    return True


def _eager_step(
    model: Model,
    loss: Loss,
    optimizer: Optimizer,
    X_batch: list[Any],
    y_batch: list[Any],
    parameters: list[Value],
    regularization: Callable[[list[Value]], Value] | None,
) -> tuple[float, list[Any]]:
    """One optimizer step on the batch: its mean loss, and the outputs before the step."""
    outputs = _model_outputs(model, X_batch, training=True)
    batch_loss = _as_value(loss(outputs, y_batch), "fit", "loss")
    objective = batch_loss
    if regularization is not None:
        objective = batch_loss + _as_value(regularization(parameters), "fit", "regularization")
    optimizer.zero_grad()
    objective.backward()
    optimizer.step()
    return batch_loss.data, outputs


def evaluate(
    model: Callable[[Any], Any],
    loss: Loss,
    data: tuple[Sequence[Any], Sequence[Any]],
    compile: bool = False,
) -> tuple[float, float | None]:
    """The mean loss and the accuracy of `model` on `data = (X, y)`, recording no graph.

    The model runs in eval mode (no dropout; batch norm with its running statistics) and goes
    back to its own mode afterwards. Targets are checked as `fit` checks them, and the accuracy
    is None when they are lists (a regression on vectors: no class to get right).

    `compile=True` runs the model and the loss through tapes (`nn.train.compiled`), batched.

    >>> from autograd import Value
    >>> from nn.losses import mse
    >>> evaluate(lambda x: Value(2.0 * x[0]), mse, ([[1.0], [-1.0]], [1.0, 1.0]))
    (5.0, 0.5)
    """
    X, y = check_data(data, "evaluate")
    check_targets(y, "evaluate")
    if compile:
        with in_mode(model, training=False):
            return compiled_evaluation(model, loss, (X, y))
    with no_grad():
        outputs = _model_outputs(model, X, training=False)
        mean_loss = _as_value(loss(outputs, list(y)), "evaluate", "loss")
    return mean_loss.data, accuracy(outputs, y) if measures_accuracy(y) else None


def _model_outputs(model: Callable[[Any], Any], X: Sequence[Any], training: bool) -> list[Any]:
    """The model's outputs for the batch `X`, computed in training mode or in eval mode.

    A model with `forward_batch` (every nn `Module`) is handed the batch whole, so batch
    normalisation inside it sees every example; any other callable gets one example at a time.
    A model with `train()` is put in the mode asked for (dropout drops only in training mode),
    and back in its own mode afterwards. `fit` trains with `training=True`; `evaluate` uses
    `training=False`.

    >>> from nn import BatchNorm1d, Linear, Sequential
    >>> model = Sequential(Linear(1, 2, seed=0), BatchNorm1d(2))
    >>> outputs = _model_outputs(model, [[1.0], [2.0], [4.0]], training=True)
    >>> len(outputs), model.training, model[1].num_batches_tracked
    (3, True, 1)
    """
    with in_mode(model, training):
        forward_batch = getattr(model, "forward_batch", None)
        if callable(forward_batch):
            return list(forward_batch(X))
        return [model(x) for x in X]


def _as_value(result: Any, caller: str, what: str) -> Value:
    if not isinstance(result, Value):
        raise TypeError(
            f"{caller}: {what} must return a Value, got {type(result).__name__} {result!r}"
        )
    return result
