"""Training and evaluating through tapes: `fit(..., compile=True)`, `evaluate(..., compile=True)`.

The model is traced once, `x -> model(x)`, and the loss once, `(output, t) -> loss([output], [t])`:
the losses of `nn.losses` are batch means, so the mean over a batch of these per-example losses
is the batch loss, and its gradient is the pullback of 1/B per example. A target the loss takes
as a number (mse, binary_cross_entropy) is an input of the loss tape. A target it refuses as a
Value (cross_entropy's class index), or refuses once moved by a thousandth as the trace's probe
run moves it (hinge's -1/+1 labels), is a constant instead: the loss tape returns the loss for
every target value in the data (their nodes share the tape's steps), and each example's pullback
is a one-hot of its own target. A regularization penalty is a tape of no arguments.

During a compiled epoch the parameters live in one array, and the optimizer's update runs on it
all at once: `nn.optim`'s own `_update(i, g)` called with `i = slice(None)`, its state lists
turned into arrays for the epoch. The Values get their data and gradients back at the end of
every epoch, so the model, `state_dict`, saving, validation and early stopping see what eager
training would show. Any other optimizer still works, one of your own or a subclass of
`nn.optim.Optimizer` that defines its own `step()` or `_update()` (which may compute on floats
only): then the Values are written and read around every `step()`, which runs as it is.

Modules whose calls need more than one example's graph work through `nn.train.model_tape`: Dropout's
masks are extra inputs of the model's tape, drawn for every batch from the module's generator in
eager training's order; BatchNorm1d's batch statistics are `autograd.batch_mean` nodes, which
the tape computes across the batch (gradients flowing through them), and its running statistics
move after every step; in evaluation the tape reads them afresh at every call. The model is
traced twice: in training mode for the steps, in eval mode for validation and `evaluate`. A
module whose `tape_unsupported` attribute gives a reason is refused with NotImplementedError.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autograd import TraceError, Value, trace
from nn.optim.optimizers import Optimizer, _overflowed
from nn.train.measures import accuracy, measures_accuracy
from nn.train.model_tape import ModelTape


def refuse_untraceable(model: Any, caller: str) -> None:
    """NotImplementedError for a module inside `model` whose `tape_unsupported` attribute says
    why a tape cannot run it."""
    seen, stack = set(), [model]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        reason = getattr(module, "tape_unsupported", None)
        if reason:
            raise NotImplementedError(
                f"{caller}(compile=True): {type(module).__name__} {reason}, which a tape cannot "
                "replay; use compile=False for this model"
            )
        stack.extend(_children(module))


def _children(module: Any) -> list:
    found, items = [], list(vars(module).values()) if hasattr(module, "__dict__") else []
    while items:
        item = items.pop()
        if isinstance(item, (list, tuple)):
            items.extend(item)
        elif isinstance(item, dict):
            items.extend(item.values())
        elif hasattr(item, "forward") and hasattr(item, "parameters"):
            found.append(item)
    return found


def _form(example: Any) -> Any:
    """An example as floats: a float, or a list of them, or nested lists (a sequence of steps),
    from any sequences or arrays."""
    if hasattr(example, "__len__"):
        return [_form(x) for x in example]
    return float(example)


def refuse_varying_shapes(X: Sequence[Any], caller: str) -> None:
    """NotImplementedError unless every example has the first one's shape (a sequence model's
    examples: one length): a tape replays the graph of one shape."""
    import numpy as np

    first = np.shape(_form(X[0]))
    for i, x in enumerate(X):
        form = _form(x)
        try:
            shape = np.shape(form)
        except ValueError:  # NumPy refuses ragged lists
            shape = "a ragged one"
        if shape != first:
            raise NotImplementedError(
                f"{caller}(compile=True): example {i} has shape {shape}, example 0 {first}; a "
                "tape replays one shape (sequences of one length): use compile=False for this data"
            )


class Losses:
    """The loss of one example as one tape: taking the target as an input, or, when the target
    cannot be an input, returning the loss for every target value met in the data."""

    def __init__(self, loss: Any, output: Any, targets: Sequence[Any]) -> None:
        import numpy as np

        try:
            self.tape = trace(lambda o, t: loss([o], [t]), output, _form(targets[0]))
            self.columns = None
        except (TypeError, TraceError):
            # The loss uses the target as an index (cross_entropy's class), or refuses a target
            # moved by a thousandth (hinge's -1/+1 labels): each value is a constant of the tape.
            values = sorted(set(targets))
            self.tape = trace(lambda o: [loss([o], [t]) for t in values], output)
            self.columns = np.array(values)

    def vjp(self, outputs: Any, targets: Sequence[Any], params: Any) -> tuple[Any, Any]:
        """Each example's loss, and a pullback from per-example cotangents, as `Tape.vjp`."""
        import numpy as np

        if self.columns is None:
            return self.tape.vjp(outputs, np.asarray(targets, dtype=float), params=params)
        targets = np.asarray(targets)
        picked = np.minimum(np.searchsorted(self.columns, targets), len(self.columns) - 1)
        unseen = np.flatnonzero(self.columns[picked] != targets)
        if len(unseen):
            raise ValueError(
                f"compiled loss: target {targets[unseen[0]]!r} was not among the targets the "
                f"loss was traced for ({self.columns.tolist()})"
            )
        every, pullback = self.tape.vjp(outputs, params=params)
        rows = np.arange(len(picked))

        def pick(cotangents: Any) -> Any:
            seeds = np.zeros_like(every)
            seeds[rows, picked] = cotangents
            return pullback(seeds)

        return every[rows, picked], pick


class Parameters:
    """Every parameter the tapes read, as one array of data and one of gradients."""

    def __init__(self, first: list[Value]) -> None:
        import numpy as np

        self.values = list(first)
        self.position = {id(p): i for i, p in enumerate(self.values)}
        self.data = np.array([p.data for p in self.values], dtype=float)
        self.grad = np.zeros(len(self.values))
        self.index: dict[int, Any] = {}

    def read(self, tape: Any) -> Any:
        """The data of `tape.parameters`, in its order."""
        rows = self.of(tape)  # first: it may grow `data`, which must be read afterwards
        return self.data[rows]

    def of(self, tape: Any) -> Any:
        """The rows of `tape.parameters` (new parameters join the arrays)."""
        import numpy as np

        if id(tape) not in self.index:
            for p in tape.parameters:
                if id(p) not in self.position:
                    self.position[id(p)] = len(self.values)
                    self.values.append(p)
            new = self.values[len(self.data) :]
            if new:
                self.data = np.concatenate([self.data, [p.data for p in new]])
                self.grad = np.concatenate([self.grad, np.zeros(len(new))])
            rows = [self.position[id(p)] for p in tape.parameters]
            consecutive = rows == list(range(rows[0], rows[0] + len(rows))) if rows else True
            start = rows[0] if rows else 0
            self.index[id(tape)] = (
                slice(start, start + len(rows)) if consecutive else np.array(rows, dtype=np.intp)
            )
        return self.index[id(tape)]

    def pull(self) -> None:
        """Read the Values' data (they may have been changed between epochs)."""
        self.data[:] = [p.data for p in self.values]

    def push(self) -> None:
        """Write the data and the latest gradients back into the Values."""
        for p, data, grad in zip(self.values, self.data.tolist(), self.grad.tolist()):
            p.data, p.grad = data, grad


def _vectorisable(optimizer: Any, base: type) -> bool:
    """Whether `optimizer` steps by nn.optim's own `step` and `_update`, which compiled training
    runs on arrays: a subclass with a `step` of its own (clipping, freezing) must have it called,
    and an `_update` of its own may take floats only."""
    kind = type(optimizer)
    own = getattr(kind, "_update", None)
    return (
        isinstance(optimizer, base)
        and kind.step is base.step
        and getattr(own, "__module__", None) == base.__module__
    )


def _state_lists(optimizer: Any) -> list[str]:
    """The optimizer's per-parameter state: its lists with one float per parameter."""
    n = len(optimizer.params)
    return [
        name
        for name, value in vars(optimizer).items()
        if name != "params" and isinstance(value, list) and len(value) == n
        and all(type(v) is float for v in value)
    ]  # fmt: skip


class CompiledTraining:
    """What `fit(..., compile=True)` trains with: tapes of the model, loss and penalty, and the
    parameters in one array (`parameters.data`, in the optimizer's order).

    >>> import numpy as np
    >>> from nn import MLP
    >>> from nn.losses import mse
    >>> from nn.optim import SGD
    >>> model = MLP(1, [4, 1], seed=0)
    >>> optimizer = SGD(model.parameters(), lr=0.1)
    >>> training = CompiledTraining(model, mse, optimizer, None, ([[0.5]], [1.0]))
    >>> outputs, loss, objective = training.step(np.array([[0.5], [1.0]]), [1.0, 2.0])
    >>> outputs.shape, loss == objective, optimizer.steps
    ((2,), True, 1)
    """

    def __init__(self, model: Any, loss: Any, optimizer: Any, regularization: Any, data: tuple):
        import numpy as np

        self.np = np
        refuse_untraceable(model, "fit")
        X, y = data
        refuse_varying_shapes(X, "fit")
        self.optimizer = optimizer
        self.vectorised = _vectorisable(optimizer, Optimizer)
        params = list(optimizer.params) if self.vectorised else list(model.parameters())
        self.parameters = Parameters(params)
        self.model = ModelTape(model, _form(X[0]), training=True, parameters=params)
        self.losses = Losses(loss, self.model.example_output, y)
        self._evaluation: ModelTape | None = None  # the model in eval mode, for validation
        self._validation: tuple | None = None
        self.penalty = None
        if regularization is not None:
            parameters = list(model.parameters())
            self.penalty = trace(lambda: regularization(parameters), parameters=params)

    @contextmanager
    def epoch(self) -> Iterator[None]:
        """Inside the block the parameters live in `parameters.data` and the optimizer's state
        lists are arrays; after it, the Values and the optimizer hold them again."""
        np, store, optimizer = self.np, self.parameters, self.optimizer
        store.pull()
        states = _state_lists(optimizer) if self.vectorised else []
        for name in states:
            setattr(optimizer, name, np.array(getattr(optimizer, name)))
        try:
            yield
        finally:
            for name in states:
                setattr(optimizer, name, getattr(optimizer, name).tolist())
            store.push()

    def batch(self, X_batch: Sequence[Any], y_batch: Sequence[Any]) -> tuple[float, list[Any]]:
        """One step on a batch (inside `epoch`): its mean loss, and the outputs before the step."""
        outputs, batch_loss, _ = self.step(self.np.array(X_batch, dtype=float), y_batch)
        return batch_loss, outputs.tolist()

    def evaluate(self, model: Any, loss: Any, data: tuple) -> tuple[float, float | None]:
        """`nn.train.evaluate` with this training's model tape, and a loss tape per data set
        (traced at the first call): fit's validation after every epoch traces nothing again."""
        first = _form(data[0][0])
        if self._evaluation is None:
            self._evaluation = ModelTape(model, first, training=False)
        if self._validation is None or self._validation[0] is not data:
            example = _form(self._evaluation(self.np.array([first], dtype=float))[0])
            self._validation = (data, Losses(loss, example, list(data[1])))
        return evaluate_compiled(model, loss, data, self._evaluation, self._validation[1])

    def step(self, X: Any, targets: Sequence[Any]) -> tuple[Any, float, float]:
        """One optimizer step on a batch: the outputs, the batch's mean loss and the objective
        (the loss plus the penalty), before the step."""
        np, store = self.np, self.parameters
        store.grad[:] = 0.0
        batch = len(X)
        outputs, model_pullback = self.model.vjp(X, params=store.read(self.model))
        tape = self.losses.tape
        losses, pullback = self.losses.vjp(outputs, targets, store.read(tape))
        found = pullback(np.full(batch, 1.0 / batch))
        store.grad[store.of(tape)] += found.parameters
        model_gradient = model_pullback(found.arguments[0], arguments=False).parameters
        store.grad[store.of(self.model)] += model_gradient
        mean = float(losses.mean())
        objective = mean + self._penalty_term()
        self._update()
        return outputs, mean, objective

    def _penalty_term(self) -> float:
        """The penalty's value, its gradient added into the stores' (0.0 without a penalty)."""
        if self.penalty is None:
            return 0.0
        store = self.parameters
        penalty, pullback = self.penalty.vjp(params=store.read(self.penalty))
        store.grad[store.of(self.penalty)] += pullback(1.0).parameters
        return penalty

    def _update(self) -> None:
        np, store, optimizer = self.np, self.parameters, self.optimizer
        n = len(optimizer.params) if self.vectorised else len(store.values)
        if not self.vectorised:
            store.push()
            optimizer.step()
            store.data[:n] = [p.data for p in store.values[:n]]
            return
        g = store.grad[:n]
        bad = np.flatnonzero(~np.isfinite(g))
        if len(bad):
            raise ValueError(
                f"{type(optimizer).__name__}.step: parameter {bad[0]} has gradient "
                f"{float(g[bad[0]])!r}; the loss or its gradient overflowed (try a smaller "
                "learning rate, or clip_grad_norm)"
            )
        saved = {key: getattr(optimizer, name).copy() for key, name in optimizer._buffers.items()}
        optimizer.steps += 1
        if optimizer.weight_decay:
            g = g + optimizer.weight_decay * store.data[:n]
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, as floats overflow
            new = store.data[:n] - optimizer._update(slice(None), g)
        finite = np.isfinite(new)
        for name in optimizer._buffers.values():
            finite &= np.isfinite(getattr(optimizer, name))
        if not finite.all():  # as Optimizer.step: refused, and undone
            i = int(np.flatnonzero(~finite)[0])
            optimizer.steps -= 1
            state = {
                key: float(getattr(optimizer, name)[i]) for key, name in optimizer._buffers.items()
            }
            for key, name in optimizer._buffers.items():
                setattr(optimizer, name, saved[key])
            step = f"{type(optimizer).__name__}.step"
            raise _overflowed(step, i, float(store.data[i]), float(new[i]), state)
        store.data[:n] = new


def evaluate_compiled(
    model: Any, loss: Any, data: tuple, forward: Any = None, losses: Any = None
) -> tuple[float, float | None]:
    """`nn.train.evaluate` through tapes: the mean loss and the accuracy on `data = (X, y)`;
    the model's tape (a `ModelTape` in eval mode) and the loss's are traced here unless given."""
    import numpy as np

    refuse_untraceable(model, "evaluate")
    X, y = data
    refuse_varying_shapes(X, "evaluate")
    if forward is None:
        forward = ModelTape(model, _form(X[0]), training=False)
    outputs = forward(np.array([_form(x) for x in X], dtype=float))
    if losses is None:
        losses = Losses(loss, _form(outputs[0]), list(y))
    values, _ = losses.vjp(outputs, list(y), None)
    scored = measures_accuracy(y)
    return float(values.mean()), accuracy(outputs.tolist(), list(y)) if scored else None
