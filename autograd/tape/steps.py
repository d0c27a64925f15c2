"""The array operations a tape runs, one per level: where operands sit (`Rows`), and the steps.

A `Step` runs one rule's array form (`autograd.tape.arrays`) over (nodes x examples); a `MatmulStep`
is a layer's dot nodes as one matrix product, an `AffineStep` the same with the neurons' biases, a
`SharedMatmulStep` dot nodes that share their weights across positions (a convolution) as one
product of the weights with the gathered inputs (im2col), a `CopyStep` copies static rows across
the batch. Each step has `forward(tables, describe)`, which
writes its rows of the value tables and returns what `backward` needs, and `backward(tables,
adjoints, saved, describe, arguments)`, which adds local * adjoint into its operands' adjoint rows
(operands that lead to no parameter, and to no argument when `arguments` is False, are skipped).
`autograd.tape.levels` builds them; `autograd.tape.tape` runs them.

`levels` builds steps for NumPy tables; `on_backend(step, backend)` copies one for another backend
(PyTorch tensors on a device): its `Rows` and arrays (the nodes' numbers) move there, and it calls
`step.backend` for everything beyond plain arithmetic and indexing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import rules
from autograd.tape.arrays import (
    NUMPY,
    derivatives_unchecked_errstate,
    forward_unchecked_errstate,
    recheck,
)

MAX_ROUNDS = 16
NOWHERE = lambda flat: None  # noqa: E731  (a static row is no example's)


class Rows:
    """Where some nodes' values sit in a table, and the cheapest way to read and add to them: a
    view when the rows are evenly spaced (a slice, or for (nodes x operands) rows with a constant
    stride between nodes, a strided view: a layer's weights, w then b for each neuron), else an
    index array."""

    __slots__ = ("index", "flat", "rounds", "shape", "view", "cached", "backend")

    def __init__(self, rows: Sequence[int] | np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.intp)
        self.shape = rows.shape  # (nodes,) or (nodes, operands)
        self.flat = rows.ravel()
        self.index: Any = rows
        self.view = _even_spacing(rows)  # (start, node stride, operand stride) or None
        if self.view is not None and rows.ndim == 1:
            start, step, _ = self.view
            self.index = slice(start, start + step * len(rows), step)
        self.rounds = None if self.view is not None else _rounds(self.flat)
        # (table, its strided view) for the last two tables read, as tables are reused: a
        # forward pass reads the values' table and a backward pass adds into the adjoints'
        self.cached: tuple = ((None, None), (None, None))
        self.backend: Any = NUMPY

    def on(self, backend: Any) -> Rows:
        """These rows for `backend`'s tables (index arrays moved to its device)."""
        moved = copy.copy(self)
        moved.backend, moved.cached = backend, ((None, None), (None, None))
        if type(self.index) is not slice:
            moved.index = backend.index(self.index)
        moved.flat = backend.index(self.flat)
        if type(self.rounds) is list:
            moved.rounds = [
                (None if p is None else backend.index(p), backend.index(r)) for p, r in self.rounds
            ]
        return moved

    def take(self, table: np.ndarray) -> np.ndarray:
        if self.view is not None and type(self.index) is not slice:
            cached = self.cached  # one read: another thread may replace it for its own tables
            if cached[0][0] is table:
                return cached[0][1]
            if cached[1][0] is table:
                return cached[1][1]
            start, node_step, operand_step = self.view
            view = self.backend.strided(table, start, (node_step, operand_step), self.shape)
            self.cached = ((table, view), cached[0])
            return view
        return table[self.index]

    def add(self, table: np.ndarray, contributions: np.ndarray) -> None:
        """table[rows] += contributions, a repeated row receiving every one of its shares."""
        if self.rounds is None:
            if type(self.index) is slice:
                table[self.index] += contributions.reshape(self.flat.shape[0], -1)
            else:
                self.take(table)[...] += contributions.reshape(*self.shape, -1)
            return
        contributions = contributions.reshape(self.flat.shape[0], contributions.shape[-1])
        if type(self.rounds) is str:
            self.backend.add_at(table, self.flat, contributions)
        elif len(self.rounds) == 1:
            table[self.flat] += contributions
        else:
            for positions, rows in self.rounds:
                table[rows] += contributions[positions]


def _even_spacing(rows: np.ndarray) -> tuple[int, int, int] | None:
    """(start, stride between nodes, stride between operands) if rows[i, j] is start + i stride
    + j operand_stride with no row twice, else None (1-D rows: one node per entry)."""
    if rows.size == 0:
        return (0, 1, 1)
    start = int(rows.flat[0])
    if rows.ndim == 1:
        step = int(rows[1] - rows[0]) if len(rows) > 1 else 1
        expected = start + step * np.arange(len(rows))
        return (start, step, 1) if step > 0 and np.array_equal(rows, expected) else None
    k, n = rows.shape
    node_step = int(rows[1, 0] - rows[0, 0]) if k > 1 else n
    operand_step = int(rows[0, 1] - rows[0, 0]) if n > 1 else 1
    expected = start + node_step * np.arange(k)[:, None] + operand_step * np.arange(n)
    distinct = operand_step > 0 and node_step >= operand_step * n
    return (start, node_step, operand_step) if distinct and np.array_equal(rows, expected) else None


def _rounds(flat: np.ndarray) -> Any:
    """The positions of `flat` split into rounds in which no row repeats ('add.at': too many)."""
    if len(np.unique(flat)) == len(flat):
        return [(None, flat)]
    order = np.argsort(flat, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(flat[order])) + 1]
    occurrence = np.arange(len(flat)) - np.repeat(starts, np.diff(np.r_[starts, len(flat)]))
    if occurrence.max() >= MAX_ROUNDS:
        return "add.at"
    rounds = [order[occurrence == r] for r in range(occurrence.max() + 1)]
    return [(positions, flat[positions]) for positions in rounds]


def on_backend(step: Any, backend: Any) -> Any:
    """A copy of `step` for `backend`'s tables: every `Rows` and NumPy array among its attributes
    (in lists and tuples too) moved there; the rest shared."""

    def moved(value: Any) -> Any:
        if isinstance(value, Rows):
            return value.on(backend)
        if isinstance(value, np.ndarray):  # an index (integers, a mask) or numbers
            return backend.index(value) if value.dtype.kind in "biu" else backend.asarray(value)
        if isinstance(value, (list, tuple)):
            return type(value)(map(moved, value))
        return value

    found = copy.copy(step)
    for name, value in vars(step).items():
        setattr(found, name, moved(value))
    found.backend = backend
    return found


class Step:
    """Nodes of one rule at one level: each operand position gathered, one array-form call."""

    backend: Any = NUMPY  # where its tables live (`on_backend`)

    def __init__(self, rule, batched: bool, out: slice, operands: list, number: Any) -> None:
        self.rule, self.batched, self.out = rule, batched, out
        self.operands = operands  # [(batched, Rows)] in the rule's input order
        self.number = number  # (k, 1) or (k, n, 1): the nodes' numbers (x + c), or None
        self.leads_to = [(True, True)] * len(operands)  # (a parameter, an argument) per operand

    def forward(self, tables: tuple, describe: Any) -> tuple:
        inputs = [rows.take(tables[batched]) for batched, rows in self.operands]
        if self.number is not None:
            inputs.append(self.number)
        inputs = tuple(inputs)
        tables[self.batched][self.out] = forward_unchecked_errstate(
            self.rule, inputs, describe if self.batched else NOWHERE, self.backend
        )
        return inputs

    def backward(self, tables, adjoints, inputs, describe, arguments: bool) -> None:
        g = adjoints[self.batched][self.out]
        out = tables[self.batched][self.out]
        locals_ = derivatives_unchecked_errstate(
            self.rule, out, inputs, describe if self.batched else NOWHERE, self.backend
        )
        if self.rule.stacked:
            g = g[:, None, :]
        for (batched, rows), local, (parameter, argument) in zip(
            self.operands, locals_, self.leads_to
        ):
            if not (parameter or (arguments and argument)):
                continue  # no adjoint anyone asked for lies that way
            if type(local) is float:  # a constant local (1 for +): no array to multiply
                contribution = g if local == 1.0 else (-g if local == -1.0 else local * g)
            else:
                contribution = local * g
            if contribution.shape[:-1] != rows.shape:
                contribution = self.backend.xp.broadcast_to(
                    contribution, (*rows.shape, g.shape[-1])
                )
            if self.batched and not batched:
                contribution = contribution.sum(axis=-1, keepdims=True)
            rows.add(adjoints[batched], contribution)


class MatmulStep:
    """A layer's dot nodes: parameter weights W (k x n) and the same n batch inputs X."""

    rule = rules.DOT
    batched = True
    backend: Any = NUMPY

    def __init__(self, out: slice, weights: Rows, inputs: Rows) -> None:
        self.out, self.weights, self.inputs = out, weights, inputs
        self.leads_to = [(True, False), (True, True)]  # weights, inputs

    def forward(self, tables: tuple, describe: Any) -> tuple:
        W = self.weights.take(tables[False])[..., 0]
        X = self.inputs.take(tables[True])
        out = W @ X
        if not math.isfinite(out.sum()):  # fsum raises on inf - inf and on overflow: recheck
            out = recheck(rules.DOT, out, (W[:, :, None], X[None, :, :]), describe, self.backend)
        tables[True][self.out] = out
        return W, X

    def backward(self, tables, adjoints, inputs, describe, arguments: bool) -> None:
        W, X = inputs
        g = adjoints[True][self.out]
        parameter, argument = self.leads_to[1]
        if parameter or (arguments and argument):
            self.inputs.add(adjoints[True], W.T @ g)
        self.weights.add(adjoints[False], (g @ X.T)[..., None])


class AffineStep(MatmulStep):
    """A layer: dot nodes (W @ X) each feeding only its neuron's `+ b`, as one step W @ X + b; the
    dot nodes get no rows. Backward adds G summed over the batch into the biases."""

    def __init__(self, out: slice, weights: Rows, inputs: Rows, biases: Rows) -> None:
        super().__init__(out, weights, inputs)
        self.biases = biases
        self.leads_to = [(True, False), (True, True), (True, False)]  # weights, inputs, biases

    def forward(self, tables: tuple, describe: Any) -> tuple:
        W, X = super().forward(tables, describe)
        tables[True][self.out] += self.biases.take(tables[False])
        return W, X

    def backward(self, tables, adjoints, inputs, describe, arguments: bool) -> None:
        super().backward(tables, adjoints, inputs, describe, arguments)
        g = adjoints[True][self.out]
        self.biases.add(adjoints[False], g.sum(axis=1, keepdims=True))


class SharedMatmulStep:
    """Dot nodes that apply F filters of C shared weights at P positions (a convolution's output
    entries, or a layer applied to each token), and optionally each filter's `+ b`, as one step.

    The inputs of every position are gathered into `cols`, C x (P x B) (im2col: row c holds, for
    each position, the input that weight slot c multiplies there, or 0 where the position leaves
    the slot out, a window reaching into the padding); then out = W @ cols (+ b), F x (P x B),
    which is the F x P nodes' rows, filter by filter. Backward: the weights' gradient is
    G @ cols^T, one product; the inputs' is W^T @ G, scattered back to the rows it was gathered
    from (an input read by several positions receives every share: `Rows.add`); the biases' is G
    summed over positions and examples.

    `columns` (C x P entries, flattened slot by slot) are batch rows, `missing` the flat places
    of the slots a position leaves out (their gathered entry is set to 0), `present` the others,
    whose rows `inputs` are; `scatter` splits them into rounds of distinct rows. Every index is
    computed once, when the tape is compiled."""

    rule = rules.DOT
    batched = True
    backend: Any = NUMPY

    def __init__(
        self,
        out: slice,
        weights: Rows,
        columns: np.ndarray,
        missing: np.ndarray | None,
        biases: Rows | None,
    ) -> None:
        self.out, self.weights, self.biases = out, weights, biases
        self.filters, self.classes = weights.shape
        self.positions = len(columns) // self.classes
        self.columns, self.missing = columns, missing
        present = np.ones(len(columns), dtype=bool)
        if missing is not None:
            present[missing] = False
        where = np.flatnonzero(present)
        self.inputs = Rows(columns[present])
        # the scatter-add of the inputs' gradient: rounds of distinct rows, each taking its
        # shares straight from the (C x P) products (None: all of them, in order)
        self.present, self.scatter = where, None
        if type(self.inputs.rounds) is list:
            self.scatter = [
                (None if p is None and missing is None else where if p is None else where[p], r)
                for p, r in self.inputs.rounds
            ]
        # where each (position, slot) is present, for a recheck (a non-finite result)
        self.slot_mask = present.reshape(self.classes, self.positions).T[None, :, :, None]
        self.leads_to = [(True, False), (True, True), (True, False)]  # weights, inputs, biases

    def forward(self, tables: tuple, describe: Any) -> tuple:
        W = self.weights.take(tables[False])[..., 0]
        table = tables[True]
        batch = table.shape[1]
        cols = table[self.columns]  # a gather: a fresh array
        if self.missing is not None:
            cols[self.missing] = 0.0
        cols = cols.reshape(self.classes, self.positions * batch)
        out = W @ cols
        if not math.isfinite(out.sum()):  # fsum raises on inf - inf and on overflow: recheck
            out = self._recheck(out, W, cols, batch, describe)
        view = table[self.out].reshape(self.filters, self.positions * batch)
        view[...] = out
        if self.biases is not None:
            view += self.biases.take(tables[False])
        return W, cols

    def _recheck(self, out: Any, W: Any, cols: Any, batch: int, describe: Any) -> Any:
        """The non-finite entries again by the float form, on the operands each node has."""
        F, C, P = self.filters, self.classes, self.positions
        xp = self.backend.xp
        w = xp.broadcast_to(W[:, None, :, None], (F, P, C, 1))
        w = xp.where(xp.broadcast_to(self.slot_mask, (F, P, C, 1)), w, 0.0)
        x = cols.reshape(C, P, batch).transpose(1, 0, 2)[None]  # (1, P, C, B)
        found = out.reshape(F, P, batch)
        found = recheck(rules.DOT, found, (w, x), describe, self.backend)
        return found.reshape(F, P * batch)

    def backward(self, tables, adjoints, inputs, describe, arguments: bool) -> None:
        W, cols = inputs
        table = adjoints[True]
        batch = table.shape[1]
        g = table[self.out].reshape(self.filters, self.positions * batch)
        parameter, argument = self.leads_to[1]
        if parameter or (arguments and argument):
            shares = (W.T @ g).reshape(self.classes * self.positions, batch)
            if self.scatter is None:  # many repeats: one scatter-add
                self.backend.add_at(table, self.inputs.flat, shares[self.present])
            else:
                for positions, rows in self.scatter:
                    table[rows] += shares if positions is None else shares[positions]
        self.weights.add(adjoints[False], (g @ cols.T)[..., None])
        if self.biases is not None:
            self.biases.add(adjoints[False], g.sum(axis=1, keepdims=True))


class CopyStep:
    """Static rows copied across the batch, for n-ary nodes that mix them with batch operands."""

    rule = None
    batched = True
    backend: Any = NUMPY

    def __init__(self, out: slice, sources: Rows) -> None:
        self.out, self.sources = out, sources
        self.leads_to = [(True, False)]

    def forward(self, tables: tuple, describe: Any) -> tuple:
        tables[True][self.out] = self.sources.take(tables[False])
        return ()

    def backward(self, tables, adjoints, inputs, describe, arguments: bool) -> None:
        parameter, argument = self.leads_to[0]  # a static row leads to an argument through
        if not (parameter or (arguments and argument)):  # a mean over the batch (batch_rules)
            return
        self.sources.add(adjoints[False], adjoints[True][self.out].sum(axis=-1, keepdims=True))
