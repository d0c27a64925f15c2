"""A model traced for `nn.train.compiled`, with what its modules need besides the example.

A tape replays one example's graph on a batch, each example on its own, and reads its
parameters afresh at every call, as it does the numbers of `autograd.fresh_numbers` (batch
normalisation's running statistics in evaluation). Two things a module may do fit neither, and
each has a request the module makes of `nn.tape_requests.tracing()` while it is being traced
(it is None otherwise, and the module then does what it always does):

- Random numbers drawn per call (dropout's masks): `random_inputs(count, draw, source)`. The
  numbers become extra arguments of the tape, and before every call `ModelTape` fills them for
  the whole batch with `draw(np, calls, count)`, which draws what that many eager calls would
  use, from the module's own generator (`source`), in the order eager training calls them (see
  `nn.tape_requests.eager_order`). The weights then come out as eager training's.
- A table read at an index the model is given (an `Embedding` of token ids):
  `lookup(index, rows, who)`. The index must be an entry of the example; the tape takes its
  one-hot vector as extra arguments, which `ModelTape` fills from the batch's indices before
  every call (an index that is not an int of the table is a ValueError), and the row is a
  product of the table with it, which the compiler turns into one matrix product.
- Statistics of the whole batch (batch normalisation's mean and variance):
  `batch_statistics(values, check, track)`. The module computes them with
  `autograd.batch_mean`, which a tape runs across the batch with gradients flowing back; they
  become extra outputs, and after every call `track(numbers, batch_size)` receives them, to
  update running statistics as eager training does. `check(batch_size)` runs first and raises
  for a batch the module cannot take.

To learn the requests, the model runs once on the example before it is traced; the trace's own
runs must then make the same requests (or `TraceError`). A module with a `tape_unsupported`
reason is refused by `nn.train.compiled.refuse_untraceable` before any of this.

>>> import numpy as np
>>> from nn import Dropout, Linear, Sequential
>>> model = Sequential(Linear(2, 3, seed=0), Dropout(0.5, seed=1))
>>> tape = ModelTape(model, [0.5, -1.0], training=True)
>>> len(tape.random_sites), tape(np.array([[0.5, -1.0], [1.0, 2.0]])).shape
(1, (2, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd import TraceError, Value, no_grad, trace
from nn.tape_requests import RandomSite, Tracing, eager_order, running_trace
from nn.train.measures import in_mode


class ModelTape:
    """`model` in training or evaluation mode, traced as `x -> model(x)` for `nn.train.compiled`,
    with its modules' random inputs and batch statistics (see the module docstring).

    `example` is a number, a list of numbers or nested lists of one shape (a sequence of steps),
    which the tape takes flattened. An output of nested lists (a GPT's logits per position) is
    flattened too, its shape in `output_shape`. `tape(X)` gives the outputs for a batch (an
    array, the batch on axis 0, each example of that shape); `tape.vjp(X, params=None)` gives
    them with a pullback from cotangents of the outputs, as `Tape.vjp`. Each call draws the
    batch's random inputs and tracks its statistics, as an eager training step would.
    `parameters` are the traced tape's; `example_output` the model's output on the example, as
    floats.
    """

    def __init__(
        self,
        model: Any,
        example: Any,
        training: bool,
        parameters: Sequence[Value] | None = None,
    ) -> None:
        import numpy as np

        self.np, self.model = np, model
        self.shape = np.shape(example)  # (steps, features) for a sequence: the tape's is flat
        flat = np.ravel(example).tolist() if len(self.shape) > 1 else example
        with in_mode(model, training):
            leaves = [Value(x) for x in flat] if isinstance(flat, list) else Value(flat)
            first = Tracing(None, inputs=leaves if isinstance(leaves, list) else [leaves])
            with running_trace(first), no_grad():
                output = model(_nest(leaves, self.shape))  # Values, as the trace passes
            requests = self.requests = first.found
            self.output_shape = np.shape(_floats(output))
            output = _flat(output)
            self.single = isinstance(output, Value)
            self.width = 1 if self.single else len(output)
            self.example_output = _floats(output)
            randoms = len(requests.random)

            def f(x: Any, *inputs: list[Value]) -> Any:
                entries = x if isinstance(x, list) else [x]
                run = Tracing(requests, inputs[:randoms], entries, inputs[randoms:])
                with running_trace(run):
                    result = _flat(model(_nest(x, self.shape)))
                kinds = ("random", "statistics", "lookups")
                counts = [len(getattr(run.found, kind)) for kind in kinds]
                if counts != [len(getattr(requests, kind)) for kind in kinds]:
                    raise TraceError(
                        "trace: the model made fewer requests (random inputs, batch statistics, "
                        "lookups) "
                        "while traced than in its first run on the example"
                    )
                if not run.statistics:
                    return result
                return [*([result] if isinstance(result, Value) else result), *run.statistics]

            widths = [[1.0] * site.count for site in requests.random]
            example_row = np.reshape(np.asarray(flat, dtype=float), (1, -1))
            one_hots = [row.tolist() for row in self._one_hots(example_row, requests)]
            self.tape = trace(f, flat, *widths, *[r[0] for r in one_hots], parameters=parameters)
        self._orders: dict[int, list[list[tuple[int, int, int]]]] = {}

    @property
    def parameters(self) -> list[Value]:
        return self.tape.parameters

    @property
    def random_sites(self) -> list[RandomSite]:
        return self.requests.random

    def __call__(self, X: Any, params: Any = None) -> Any:
        return self._run(X, params, gradient=False)[0]

    def vjp(self, X: Any, params: Any = None) -> tuple[Any, Any]:
        return self._run(X, params, gradient=True)

    def _run(self, X: Any, params: Any, gradient: bool) -> tuple[Any, Any]:
        np, requests, batch = self.np, self.requests, len(X)
        if len(self.shape) > 1:
            if np.shape(X)[1:] != self.shape:
                raise ValueError(
                    f"ModelTape: traced for examples of shape {self.shape}, got a batch of "
                    f"shape {np.shape(X)}"
                )
            X = np.reshape(X, (batch, -1))
        for statistics in requests.statistics:
            statistics.check(batch)
        inputs = self._draw(batch) + self._one_hots(np.reshape(X, (batch, -1)), requests)
        if gradient:
            found, pullback = self.tape.vjp(X, *inputs, params=params)
        else:
            found, pullback = self.tape(X, *inputs, params=params), None
        if not requests.statistics:
            return found, pullback
        m = self.width
        outputs = found[:, 0].copy() if self.single else found[:, :m].copy()
        start = m
        for statistics in requests.statistics:
            statistics.track(found[0, start : start + statistics.count].tolist(), batch)
            start += statistics.count
        if pullback is None:
            return outputs, None

        def pull(cotangents: Any, arguments: bool = True) -> Any:
            given = np.asarray(cotangents, dtype=float)
            if given.shape != outputs.shape:  # as Tape's pullback: a reshape would mix entries
                raise ValueError(
                    f"ModelTape: cotangents must have shape {outputs.shape}, like the outputs, "
                    f"got shape {given.shape}"
                )
            seeds = np.zeros(found.shape)
            seeds[:, :m] = given.reshape(batch, m)
            result = pullback(seeds, arguments)
            return result._replace(arguments=result.arguments[:1] if arguments else None)

        return outputs, pull

    def _one_hots(self, X: Any, requests: Any) -> list[Any]:
        """Each lookup's one-hot rows for the batch `X` (examples flattened on axis 1)."""
        np, found = self.np, []
        for lookup in requests.lookups:
            indices = X[:, lookup.column]
            whole = indices.astype(np.intp)
            bad = np.flatnonzero((whole != indices) | (whole < 0) | (whole >= lookup.size))
            if len(bad):
                raise ValueError(
                    f"ModelTape: example {bad[0]}'s entry {lookup.column} is "
                    f"{float(indices[bad[0]])!r}, which a table of {lookup.size} rows looks up: "
                    f"it must be an int in 0..{lookup.size - 1}"
                )
            one_hot = np.zeros((len(X), lookup.size))
            one_hot[np.arange(len(X)), whole] = 1.0
            found.append(one_hot)
        return found

    def _draw(self, batch: int) -> list[Any]:
        """Every random input for a batch, drawn as eager training would draw them."""
        sites = self.requests.random
        if not sites:
            return []
        if batch not in self._orders:
            self._orders[batch] = eager_order(self.model, sites, batch)
        inputs = [self.np.empty((batch, site.count)) for site in sites]
        for runs in self._orders[batch]:
            for k, start, stop in runs:
                inputs[k][start:stop] = sites[k].draw(self.np, stop - start, sites[k].count)
        return inputs


def _nest(flat: Any, shape: tuple[int, ...]) -> Any:
    """A flat list as nested lists of `shape` (the last axis innermost); else `flat` itself."""
    for size in reversed(shape[1:]):
        flat = [flat[i : i + size] for i in range(0, len(flat), size)]
    return flat


def _flat(output: Any) -> Any:
    """Nested lists of outputs (a sequence model's, one list per position) as one list."""
    while isinstance(output, (list, tuple)) and output and isinstance(output[0], (list, tuple)):
        output = [v for part in output for v in part]
    return output


def _floats(output: Any) -> Any:
    if isinstance(output, Value):
        return output.data
    if isinstance(output, (list, tuple)):
        return [_floats(v) for v in output]
    return float(output)
