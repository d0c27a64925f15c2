"""A model traced for `nn.compiled`, with what its modules need besides the example.

A tape replays one example's graph on a batch, each example on its own, and reads its
parameters afresh at every call. Three things a module may do fit neither, and each has a
request the module makes of `tracing()` while it is being traced (it is None otherwise, and
the module then does what it always does):

- Random numbers drawn per call (dropout's masks): `random_inputs(count, draw, source)`. The
  numbers become extra arguments of the tape, and before every call `ModelTape` fills them for
  the whole batch with `draw(np, calls, count)`, which draws what that many eager calls would
  use, from the module's own generator (`source`), in the order eager training calls them (see
  `eager_order`). The weights then come out as eager training's.
- Statistics of the whole batch (batch normalisation's mean and variance):
  `batch_statistics(values, check, track)`. The module computes them with
  `autograd.batch_mean`, which a tape runs across the batch with gradients flowing back; they
  become extra outputs, and after every call `track(numbers, batch_size)` receives them, to
  update running statistics as eager training does. `check(batch_size)` runs first and raises
  for a batch the module cannot take.
- Numbers read from the module's state at every call (running statistics in evaluation):
  `fresh_numbers(read)` returns Values that are parameters of the tape, set from `read()`
  before every call, so the tape never keeps a stale buffer as a constant.

To learn the requests, the model runs once on the example before it is traced; the trace's own
runs must then make the same requests (or `TraceError`). A module with a `tape_unsupported`
reason is refused by `nn.compiled.refuse_untraceable` before any of this.

>>> import numpy as np
>>> from nn import Dropout, Linear, Sequential
>>> model = Sequential(Linear(2, 3, seed=0), Dropout(0.5, seed=1))
>>> tape = ModelTape(model, [0.5, -1.0], training=True)
>>> len(tape.random_sites), tape(np.array([[0.5, -1.0], [1.0, 2.0]])).shape
(1, (2, 3))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from autograd import TraceError, Value, current_scope, no_grad, trace
from nn.module import Module

_tracing: ContextVar[Tracing | None] = ContextVar("nn_tracing", default=None)


def tracing() -> Tracing | None:
    """The requests of the model `nn.compiled` is tracing in this thread, or None (eager)."""
    return _tracing.get()


@dataclass
class RandomSite:
    """Random numbers one call of a module draws: `count` of them, by `draw`, from `source`."""

    count: int
    draw: Callable[[Any, int, int], Any]
    source: Any
    path: tuple  # the modules whose calls lead to the request, outermost first


@dataclass
class Statistics:
    count: int
    check: Callable[[int], None]
    track: Callable[[list[float], int], None]


@dataclass
class Fresh:
    values: list[Value]
    read: Callable[[], list[float]]


@dataclass
class Requests:
    random: list[RandomSite] = field(default_factory=list)
    statistics: list[Statistics] = field(default_factory=list)
    fresh: list[Fresh] = field(default_factory=list)


class Tracing:
    """One run of the model while it is traced: the first (`known` None) finds the requests;
    the trace's runs answer them with the tape's arguments and the same fresh Values."""

    def __init__(self, known: Requests | None, arguments: Sequence[list[Value]] = ()) -> None:
        self.known, self.arguments = known, arguments
        self.found = Requests()
        self.statistics: list[Value] = []

    def random_inputs(self, count: int, draw: Callable, source: Any) -> list[Any]:
        """`count` numbers that one call of the module draws at random: tape arguments, filled
        per example before every call by `draw(np, calls, count)` (the (calls x count) numbers
        that many calls would draw, in order, from `source`). One request per call."""
        scope = current_scope()
        path = tuple(s.owner for s in scope.path) if scope is not None else ()
        k = len(self.found.random)
        self.found.random.append(RandomSite(count, draw, source, path))
        if self.known is None:
            return [1.0] * count
        self._check("random inputs", k, self.known.random, count)
        return list(self.arguments[k])

    def batch_statistics(self, values: list[Value], check: Callable, track: Callable) -> None:
        """Statistics of the whole batch (made with `autograd.batch_mean`): `check(batch_size)`
        before every call, `track(numbers, batch_size)` with their values after it."""
        k = len(self.found.statistics)
        self.found.statistics.append(Statistics(len(values), check, track))
        if self.known is not None:
            self._check("batch statistics", k, self.known.statistics, len(values))
        self.statistics.extend(values)

    def fresh_numbers(self, read: Callable[[], list[float]]) -> list[Value]:
        """Values holding `read()`, read again before every call of the tape (its parameters)."""
        k = len(self.found.fresh)
        if self.known is None:
            entry = Fresh([Value(float(x)) for x in read()], read)
        else:
            self._check("fresh numbers", k, self.known.fresh, None)
            entry = self.known.fresh[k]
        self.found.fresh.append(entry)
        return entry.values

    @staticmethod
    def _check(what: str, k: int, known: list, count: int | None) -> None:
        if k >= len(known) or (count is not None and known[k].count != count):
            raise TraceError(
                f"trace: the model asked for other {what} while traced than in its first run "
                "on the example: what it needs depends on the data"
            )


class ModelTape:
    """`model` in training or evaluation mode, traced as `x -> model(x)` for `nn.compiled`, with
    its modules' random inputs, batch statistics and fresh numbers (see the module docstring).

    `tape(X)` gives the outputs for a batch (an array, the batch on axis 0); `tape.vjp(X,
    params=None)` gives them with a pullback from cotangents of the outputs, as `Tape.vjp`.
    Each call draws the batch's random inputs and tracks its statistics, as an eager training
    step would. `parameters` are the traced tape's; `example_output` the model's output on the
    example, as floats.
    """

    def __init__(
        self,
        model: Any,
        example: Any,
        training: bool,
        parameters: Sequence[Value] | None = None,
    ) -> None:
        import numpy as np

        from nn.train import _mode

        self.np, self.model = np, model
        with _mode(model, training):
            first = Tracing(None)
            leaves = [Value(x) for x in example] if isinstance(example, list) else Value(example)
            with _running(first), no_grad():
                output = model(leaves)  # Values, as the trace passes
            requests = self.requests = first.found
            self.single = isinstance(output, Value)
            self.width = 1 if self.single else len(output)
            self.example_output = _floats(output)

            def f(x: Any, *inputs: list[Value]) -> Any:
                run = Tracing(requests, inputs)
                with _running(run):
                    result = model(x)
                counts = [len(getattr(run.found, kind)) for kind in ("random", "statistics")]
                if counts != [len(requests.random), len(requests.statistics)]:
                    raise TraceError(
                        "trace: the model made fewer requests (random inputs, batch statistics) "
                        "while traced than in its first run on the example"
                    )
                if not run.statistics:
                    return result
                return [*([result] if isinstance(result, Value) else result), *run.statistics]

            widths = [[1.0] * site.count for site in requests.random]
            self.tape = trace(f, example, *widths, parameters=parameters)
        fresh = {id(v) for entry in requests.fresh for v in entry.values}
        self._fresh_rows = [i for i, p in enumerate(self.tape.parameters) if id(p) in fresh]
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
        for entry in requests.fresh:
            for value, number in zip(entry.values, entry.read()):
                value.data = float(number)
        if params is not None and self._fresh_rows:
            params = np.array(params, dtype=float)
            params[self._fresh_rows] = [self.tape.parameters[i].data for i in self._fresh_rows]
        for statistics in requests.statistics:
            statistics.check(batch)
        inputs = self._draw(batch)
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
            seeds = np.zeros(found.shape)
            seeds[:, :m] = np.asarray(cotangents, dtype=float).reshape(batch, m)
            result = pullback(seeds, arguments)
            return result._replace(arguments=result.arguments[:1] if arguments else None)

        return outputs, pull

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


def eager_order(model: Any, sites: list[RandomSite], batch: int) -> list[list[tuple]]:
    """The order in which eager training draws the random inputs of a batch, per generator:
    for each generator, runs (site, first example, end) to draw one after the other.

    `fit` hands the batch to `model.forward_batch`. A module that keeps the default (every
    example through `forward` in turn, as a one-example call would) draws for each example all
    that its parts draw; a module that overrides it (`Sequential`) hands the batch to each part
    in turn, in the order `forward` calls them, and a module drawing at random draws once per
    call. Generators differ, so only the order within each one matters.
    """
    paths = [_below(model, site.path) for site in sites]
    sequence = _order(list(range(len(sites))), paths, 0, model, batch)
    by_source: dict[int, list[tuple[int, int, int]]] = {}
    for k, start, stop in sequence:
        runs = by_source.setdefault(id(sites[k].source), [])
        if runs and runs[-1][0] == k and runs[-1][2] == start:
            runs[-1] = (k, runs[-1][1], stop)
        else:
            runs.append((k, start, stop))
    return list(by_source.values())


def _order(sites: list[int], paths: list[tuple], depth: int, owner: Any, batch: int) -> list:
    hands_on = isinstance(owner, Module) and type(owner).forward_batch is not Module.forward_batch
    if not hands_on:  # each example in turn, everything inside for it
        return [(k, e, e + 1) for e in range(batch) for k in sites]
    found, group = [], []
    for k in [*sites, None]:
        child = paths[k][depth] if k is not None and len(paths[k]) > depth else None
        calls_itself = k is not None and len(paths[k]) == depth + 1  # the drawing module: a call
        if group and (k is None or calls_itself or paths[group[0]][depth] is not child):
            found += _order(group, paths, depth + 1, paths[group[0]][depth], batch)
            group = []
        if calls_itself:
            found.append((k, 0, batch))
        elif k is not None:
            group.append(k)
    return found


def _below(model: Any, path: tuple) -> tuple:
    """The modules of `path` inside `model` (all of them when the model is not among them)."""
    for i, owner in enumerate(path):
        if owner is model:
            return path[i + 1 :]
    return path


class _running:  # noqa: N801 - a context manager
    def __init__(self, run: Tracing) -> None:
        self.run = run

    def __enter__(self) -> None:
        self.token = _tracing.set(self.run)

    def __exit__(self, *exception: object) -> None:
        _tracing.reset(self.token)


def _floats(output: Any) -> Any:
    if isinstance(output, Value):
        return output.data
    return [v.data if isinstance(v, Value) else float(v) for v in output]
