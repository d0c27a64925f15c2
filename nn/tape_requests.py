"""What a module asks of the tape while `nn.train.compiled` traces it, and the order of random
draws.

A module calls `tracing()`: None when it runs eagerly (the usual case), else the `Tracing` of the
run under way, whose three requests are described in `nn.train.model_tape` (which answers them):
`random_inputs`, `batch_statistics` and `lookup`. `eager_order` tells in which order eager
training draws a batch's random inputs, so that a tape's can be drawn in the same one.

>>> tracing() is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from autograd import TraceError, Value, current_scope, dot
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
class Lookup:
    """A table read at an index the model takes as input: entry `column` of the (flattened)
    example, an index below `size`."""

    column: int
    size: int


@dataclass
class Requests:
    random: list[RandomSite] = field(default_factory=list)
    statistics: list[Statistics] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)


class Tracing:
    """One run of the model while it is traced: the first (`known` None) finds the requests;
    the trace's runs answer them with the tape's arguments."""

    def __init__(
        self,
        known: Requests | None,
        arguments: Sequence[list[Value]] = (),
        inputs: Sequence[Any] = (),
        one_hots: Sequence[list[Value]] = (),
    ) -> None:
        self.known, self.arguments, self.one_hots = known, arguments, one_hots
        self.columns = {id(x): i for i, x in enumerate(inputs)}  # the example's entries
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

    def lookup(self, index: Value, rows: Sequence[Sequence[Value]], who: str) -> list[Value]:
        """Row `index` of `rows` (a table of Values), where `index` is an entry of the model's
        input: the tape takes that entry's one-hot vector as extra arguments, filled from the
        batch's indices before every call, and the row is `dot(column_j, one_hot)` for each j.
        Those dot nodes share their weights (the table's columns) across every lookup of the
        table, so the compiler makes them one matrix product (`SharedMatmulStep`): a gather
        forward, and backward the gradient of each row summed over the places it was read."""
        column = self.columns.get(id(index))
        if column is None:
            raise NotImplementedError(
                f"compile=True: {who} reads an index computed by the model, not one of its "
                "inputs; a tape looks up only indices the model is given: use compile=False"
            )
        k = len(self.found.lookups)
        self.found.lookups.append(Lookup(column, len(rows)))
        if self.known is None:  # the first run, on the example itself
            return list(rows[_index(index.data, len(rows), who)])
        known = self.known.lookups
        if k >= len(known) or known[k] != self.found.lookups[k]:
            raise TraceError(
                "trace: the model looked up other entries of its input while traced than in "
                "its first run on the example: what it reads depends on the data"
            )
        return one_hot_row(rows, self.one_hots[k])

    @staticmethod
    def _check(what: str, k: int, known: list, count: int) -> None:
        if k >= len(known) or known[k].count != count:
            raise TraceError(
                f"trace: the model asked for other {what} while traced than in its first run "
                "on the example: what it needs depends on the data"
            )


def one_hot_row(rows: Sequence[Sequence[Value]], one_hot: Sequence[Value]) -> list[Value]:
    """The row of `rows` that `one_hot` (a tape's argument, 1 at the row's index and 0 elsewhere)
    picks, as a tape can compute it: `dot(column_j, one_hot)` for each column j. The product
    with a one-hot vector is the row exactly, and the dot nodes of one table share its columns
    as weights, which the compiler makes one matrix product.

    >>> from autograd import Value
    >>> rows = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    >>> [v.data for v in one_hot_row(rows, [Value(0.0), Value(1.0)])]
    [3.0, 4.0]
    """
    return [dot([row[j] for row in rows], one_hot) for j in range(len(rows[0]))]


def _index(number: float, size: int, who: str) -> int:
    index = int(number) if float(number).is_integer() else -1
    if not 0 <= index < size:
        raise ValueError(f"compile=True: {who} got index {number!r}, not an int in 0..{size - 1}")
    return index


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
