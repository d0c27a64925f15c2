"""What a module asks of the tape while `nn.train.compiled` traces it, and the order of random
draws.

A module calls `tracing()`: None when it runs eagerly (the usual case), else the `Tracing` of the
run under way, whose two requests are described in `nn.train.model_tape` (which answers them):
`random_inputs` and `batch_statistics`. `eager_order` tells in which order eager
training draws a batch's random inputs, so that a tape's can be drawn in the same one.

>>> tracing() is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from autograd import TraceError, Value, current_scope
from nn.module import Module

_tracing: ContextVar[Tracing | None] = ContextVar("nn_tracing", default=None)


def tracing() -> Tracing | None:
    """The requests of the model `nn.train.compiled` is tracing in this thread, or None (eager)."""
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
class Requests:
    random: list[RandomSite] = field(default_factory=list)
    statistics: list[Statistics] = field(default_factory=list)


class Tracing:
    """One run of the model while it is traced: the first (`known` None) finds the requests;
    the trace's runs answer them with the tape's arguments."""

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

    @staticmethod
    def _check(what: str, k: int, known: list, count: int) -> None:
        if k >= len(known) or known[k].count != count:
            raise TraceError(
                f"trace: the model asked for other {what} while traced than in its first run "
                "on the example: what it needs depends on the data"
            )


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


class running_trace:  # noqa: N801 - a context manager, named as a function
    """Inside the block, `tracing()` in this thread is `run`."""

    def __init__(self, run: Tracing) -> None:
        self.run = run

    def __enter__(self) -> None:
        self.token = _tracing.set(self.run)

    def __exit__(self, *exception: object) -> None:
        _tracing.reset(self.token)
