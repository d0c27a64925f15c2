"""Compiled training of sequence models whose examples differ in length: one tape per length.

`fit(..., compile=True)` with `nn.losses.sequence_cross_entropy` (a GPT on names, or any model
that gives one list of logits per position) trains through `SequenceTraining`:

- The model is traced once per example shape (a sequence's length), when a batch first holds
  one (`ModelTape`, whose `Embedding` lookups of token ids are one-hot arguments of the tape,
  `nn.tape_requests`). A batch mixing lengths runs each length's tape on its own examples.
- The loss is `sequence_cross_entropy`'s formula on arrays (`cross_entropy_rows`): each step
  gathers the positions of the batch whose target is not `ignore_index`, N of them, computes
  log sum exp(z) - z_target for each and seeds each with 1/N, so the batch loss is the mean
  over its counted positions, as `sequence_cross_entropy` computes it eagerly, and the logits'
  gradient is (softmax(z) - onehot(target)) / N. Padded positions make no loss and get no
  gradient, as eagerly. (A tape of the loss traced on one position, returning the loss for
  every class, computes the same and took 40% of a microgpt step at batch 32: its 27 outputs
  all read one log-sum-exp node, whose adjoint the backward sweep then adds up by scatter.)

Why one tape per length rather than one padded tape with masks as arguments: a tape replays one
graph, so a mask would have to enter the graph as numbers that multiply the scores, which changes
the arithmetic (eager training's softmax over t + 1 positions is not a softmax over the block
with masked entries, not to the last bit), and every name, 6 tokens on average, would pay for the
16 positions of the block. Per length, each tape is exactly eager's graph for that length, the
weights come out as eager training's, and a block of 16 means at most 16 tapes, each traced in
about 0.2 s. Padded mini-batches (`language_model_pairs(..., pad=)`) are one length, one tape.

>>> from nn import GPT
>>> from nn.data import language_model_pairs
>>> from nn.losses import sequence_cross_entropy
>>> from nn.optim import Adam
>>> model = GPT(vocab_size=5, block_size=6, n_embd=4, n_head=2, n_layer=1, seed=0)
>>> X, y = language_model_pairs([[0, 1, 2, 0], [0, 3, 0], [0, 4, 4, 1, 0]], 6)
>>> training = SequenceTraining(model, sequence_cross_entropy, Adam(model.parameters()))
>>> with training.epoch():
...     loss, outputs = training.batch(X, y)
>>> sorted(training.tapes), len(outputs[2]), len(outputs[2][0])
([((2,), True), ((3,), True), ((4,), True)], 4, 5)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from autograd import trace
from nn.losses import sequence_cross_entropy
from nn.optim.optimizers import Optimizer
from nn.train.compiled import (
    CompiledTraining,
    Parameters,
    _form,
    _vectorisable,
    evaluate_compiled,
    refuse_untraceable,
)
from nn.train.model_tape import ModelTape


def sequence_ignore_index(loss: Any) -> int | None:
    """`ignore_index` when `loss` is `nn.losses.sequence_cross_entropy` (or a
    `functools.partial` of it that sets ignore_index only), else None."""
    if loss is sequence_cross_entropy:
        return -100
    if (
        isinstance(loss, functools.partial)
        and loss.func is sequence_cross_entropy
        and not loss.args
        and set(loss.keywords) <= {"ignore_index"}
    ):
        return loss.keywords.get("ignore_index", -100)
    return None


def compiled_training(
    model: Any, loss: Any, optimizer: Any, regularization: Any, data: tuple
) -> CompiledTraining:
    """What `fit(..., compile=True)` trains with: `SequenceTraining` for a sequence loss,
    else `CompiledTraining`."""
    ignore_index = sequence_ignore_index(loss)
    if ignore_index is not None:
        return SequenceTraining(model, loss, optimizer, regularization, ignore_index)
    return CompiledTraining(model, loss, optimizer, regularization, data)


def compiled_evaluation(model: Any, loss: Any, data: tuple) -> tuple[float, float | None]:
    """What `evaluate(..., compile=True)` computes with: one tape per length for a sequence
    loss, else `evaluate_compiled`."""
    ignore_index = sequence_ignore_index(loss)
    if ignore_index is None:
        return evaluate_compiled(model, loss, data)
    refuse_untraceable(model, "evaluate")
    return _Evaluation(model, ignore_index).run(data)


def cross_entropy_rows(logits: Any, targets: Any) -> tuple[Any, Any]:
    """Each row's -log softmax(z)[t] = log sum_j exp(z_j - max z) - (z_t - max z), and a
    pullback from one cotangent per row to the logits: cotangent x (softmax(z) - onehot(t)).

    >>> import numpy as np
    >>> losses, pullback = cross_entropy_rows(np.array([[0.0, 0.0], [9.0, 0.0]]), np.array([1, 0]))
    >>> bool(losses[0] == np.log(2)), pullback(np.array([1.0, 0.0]))[0].tolist()
    (True, [0.5, -0.5])
    """
    import numpy as np

    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1)
    rows = np.arange(len(targets))
    losses = np.log(totals) - shifted[rows, targets]

    def pullback(cotangents: Any) -> Any:
        gradient = exps / totals[:, None]
        gradient[rows, targets] -= 1.0
        return gradient * cotangents[:, None]

    return losses, pullback


class _Evaluation:
    """Eval-mode tapes per example shape and the per-position loss, traced on first use."""

    def __init__(self, model: Any, ignore_index: int) -> None:
        import numpy as np

        self.np, self.model, self.ignore_index = np, model, ignore_index
        self.tapes: dict[tuple, ModelTape] = {}

    def tape(self, example: Any, training: bool, parameters: Any = None) -> ModelTape:
        form = _form(example)
        key = (self.np.shape(form), training)
        if key not in self.tapes:
            self.tapes[key] = ModelTape(self.model, form, training, parameters=parameters)
        tape = self.tapes[key]
        if len(tape.output_shape) != 2:
            raise ValueError(
                "compiled sequence_cross_entropy: the model must give a list of logits per "
                f"position, got outputs of shape {tape.output_shape}"
            )
        return tape

    def positions(self, X: Sequence[Any], targets: Sequence[Any], runs: list) -> tuple:
        """The counted positions of the batch: their logits (N x classes), their targets, and
        for each run of one shape the mask of its positions that are counted."""
        np = self.np
        rows, wanted, masks = [], [], []
        for members, tape, outputs in runs:
            length, classes = tape.output_shape
            given = [targets[i] for i in members]
            if any(not isinstance(t, (list, tuple)) or len(t) != length for t in given):
                raise ValueError(
                    f"compiled sequence_cross_entropy: each example of {length} positions needs "
                    f"a list of {length} targets, got {given[0]!r:.80}"
                )
            flat = np.asarray(given).reshape(-1)
            keep = flat != self.ignore_index
            bad = np.flatnonzero(keep & ((flat < 0) | (flat >= classes)))
            if len(bad):
                raise ValueError(
                    f"sequence_cross_entropy: target {flat[bad[0]]} is not a class index of "
                    f"the {classes} logits (nor ignore_index={self.ignore_index})"
                )
            rows.append(np.reshape(outputs, (-1, classes))[keep])
            wanted.append(flat[keep])
            masks.append(keep)
        counted = sum(map(len, wanted))
        if not counted:
            raise ValueError(
                f"sequence_cross_entropy: every target is ignore_index={self.ignore_index}; "
                "there is no position to score (PyTorch gives NaN)"
            )
        return np.concatenate(rows), np.concatenate(wanted), masks

    def run(self, data: tuple) -> tuple[float, None]:
        X, y = data
        runs = [
            (members, tape, tape(self.np.array([_form(X[i]) for i in members], dtype=float)))
            for members, tape in self.groups(X, training=False)
        ]
        logits, wanted, _ = self.positions(X, y, runs)
        values, _ = cross_entropy_rows(logits, wanted)
        return float(values.sum() / len(values)), None

    def groups(self, X: Sequence[Any], training: bool, parameters: Any = None) -> list:
        """The batch's examples grouped by shape, each group with its tape."""
        by_shape: dict[tuple, list[int]] = {}
        for i, x in enumerate(X):
            by_shape.setdefault(self.np.shape(_form(x)), []).append(i)
        return [
            (members, self.tape(X[members[0]], training, parameters))
            for members in by_shape.values()
        ]


class SequenceTraining(CompiledTraining):
    """`CompiledTraining` for `sequence_cross_entropy`: a model tape per example length, the
    loss traced on one position (see the module docstring). `tapes` maps (shape, training) to
    the tapes traced so far."""

    def __init__(
        self,
        model: Any,
        loss: Any,
        optimizer: Any,
        regularization: Any = None,
        ignore_index: int = -100,
    ) -> None:
        import numpy as np

        self.np = np
        refuse_untraceable(model, "fit")
        self.optimizer = optimizer
        self.vectorised = _vectorisable(optimizer, Optimizer)
        params = list(optimizer.params) if self.vectorised else list(model.parameters())
        self.parameters, self._params = Parameters(params), params
        self.runs = _Evaluation(model, ignore_index)
        self._validation: Any = None
        self.penalty = None
        if regularization is not None:
            parameters = list(model.parameters())
            self.penalty = trace(lambda: regularization(parameters), parameters=params)

    @property
    def tapes(self) -> dict[tuple, ModelTape]:
        return self.runs.tapes

    def batch(self, X_batch: Sequence[Any], y_batch: Sequence[Any]) -> tuple[float, list[Any]]:
        outputs, batch_loss, _ = self.step(X_batch, y_batch)
        return batch_loss, outputs

    def evaluate(self, model: Any, loss: Any, data: tuple) -> tuple[float, float | None]:
        """The mean loss over the counted positions of `data` in eval mode (no accuracy), the
        tapes kept from one validation to the next."""
        if self._validation is None:
            self._validation = _Evaluation(model, self.runs.ignore_index)
        return self._validation.run(data)

    def step(self, X: Sequence[Any], targets: Sequence[Any]) -> tuple[list, float, float]:
        """One optimizer step on a batch: the outputs (per example, logits per position), the
        mean loss over its counted positions and the objective, before the step."""
        np, store, runs = self.np, self.parameters, self.runs
        store.grad[:] = 0.0
        found = []
        for members, tape in runs.groups(X, training=True, parameters=self._params):
            batch = np.array([_form(X[i]) for i in members], dtype=float)
            outputs, pullback = tape.vjp(batch, params=store.read(tape))
            found.append((members, tape, outputs, pullback))
        logits, wanted, masks = runs.positions(X, targets, [f[:3] for f in found])
        losses, pullback = cross_entropy_rows(logits, wanted)
        cotangents, start = pullback(np.full(len(wanted), 1.0 / len(wanted))), 0
        results: list[Any] = [None] * len(X)
        for (members, tape, outputs, model_pullback), keep in zip(found, masks):
            seeds = np.zeros((len(keep), tape.output_shape[1]))
            seeds[keep] = cotangents[start : start + int(keep.sum())]
            start += int(keep.sum())
            pulled = model_pullback(seeds.reshape(outputs.shape), arguments=False).parameters
            store.grad[store.of(tape)] += pulled
            for i, logits_i in zip(members, np.reshape(outputs, (len(members), -1)).tolist()):
                width = tape.output_shape[1]
                results[i] = [logits_i[j : j + width] for j in range(0, len(logits_i), width)]
        mean = float(losses.sum() / len(losses))
        objective = mean + self._penalty_term()
        self._update()
        return results, mean, objective
