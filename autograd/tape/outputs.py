"""Where a tape's outputs sit in its two tables: read, and seeded with cotangents, in one array
operation per table rather than one per output (a model traced with its batch statistics, or a
loss traced for every class, has hundreds of outputs).

>>> import numpy as np
>>> rows = OutputRows([(True, 0), (False, 1), (True, 0)])
>>> tables = (np.array([[5.0], [7.0]]), np.array([[1.0, 2.0]]))
>>> rows.read(tables, 2)
array([[1., 7., 1.],
       [2., 7., 2.]])
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from autograd.tape.arrays import NUMPY


class OutputRows:
    """The outputs' (batched, row) places, split by table; an output may repeat a row."""

    backend: Any = NUMPY  # where the tables it reads and seeds live (`on`)

    def __init__(self, places: list[tuple[bool, int]]) -> None:
        self.count = len(places)
        self.columns, self.rows, self.repeats = {}, {}, {}
        self.tables = sorted({batched for batched, _ in places}, reverse=True)  # those used
        for batched in (True, False):
            columns = [j for j, (b, _) in enumerate(places) if b == batched]
            rows = [places[j][1] for j in columns]
            self.columns[batched] = _index(columns)
            self.rows[batched] = _index(rows)
            self.repeats[batched] = len(set(rows)) != len(rows)

    def on(self, backend: Any) -> OutputRows:
        """A copy for `backend`'s tables, its index arrays moved to its device."""
        found = copy.copy(self)
        found.backend = backend
        for name in ("columns", "rows"):
            places = getattr(self, name)
            setattr(found, name, {b: _moved(index, backend) for b, index in places.items()})
        return found

    def read(self, tables: tuple, batch: int) -> Any:
        """The outputs as an array (batch, outputs); static rows repeat for every example."""
        found = self.backend.empty((batch, self.count))
        found[:, self.columns[True]] = tables[True][self.rows[True]].T
        found[:, self.columns[False]] = tables[False][self.rows[False], 0]
        return found

    def seed(self, adjoints: tuple, seeds: np.ndarray) -> None:
        """Add cotangents (outputs x batch) into the outputs' adjoint rows; a static row gets
        its cotangents summed over the batch."""
        for batched in self.tables:
            rows, shares = self.rows[batched], seeds[self.columns[batched]]
            if not batched:
                shares = shares.sum(axis=1, keepdims=True)
            if self.repeats[batched]:
                self.backend.add_at(adjoints[batched], rows, shares)
            else:
                adjoints[batched][rows] += shares


def _moved(index: slice | np.ndarray, backend: Any) -> Any:
    return index if isinstance(index, slice) else backend.index(index)


def _index(positions: list[int]) -> slice | np.ndarray:
    """A slice when the positions are consecutive (a view: the common case of one output), else
    an index array."""
    start = positions[0] if positions else 0
    if positions == list(range(start, start + len(positions))):
        return slice(start, start + len(positions))
    return np.array(positions, dtype=np.intp)
