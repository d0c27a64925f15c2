"""Running the rule table on arrays, entry for entry as the eager engine runs it on floats.

`forward(rule, *inputs)` and `derivatives(rule, out, *inputs)` use a rule's array form (see
`autograd.rules`): the rule's own formula when it runs unchanged on arrays, else its
`array_forward` / `array_derivatives`. The last axis of every array is the batch: one column per
example. A rule's number (the `c` of ``x + c``, the `n` of ``x ** n``) comes as its last input, a
number or an array that broadcasts (one per node): bound rules are called as their unbound base.

Domain errors behave as in the eager engine. NumPy never raises: ``log(0)`` is -inf, ``1 / 0`` inf,
``exp(1000)`` inf, each with at most a warning. So for a rule whose float form can raise
(`Rule.raises`), every entry the array form left non-finite is computed again by the float form:
where that raises, the same exception type is raised with the float form's message (which names
the operation and the value) followed by the example's index in the batch; where it returns, its
value is kept, so NaN and infinite inputs give exactly the eager engine's values.

Backends. The arrays are NumPy's (`NUMPY`, the backend below) or PyTorch tensors on any device
(`autograd.tape.torch_backend`, imported only when a tensor is passed in). A backend is the array
namespace the rules' array forms receive (`xp`: `NUMPY_NAMESPACE` here) and the few operations a
tape needs beyond the rules (tables, strided views, scatter-adds, reading entries back), with the
same names on both.

This module imports NumPy, so only tapes (`autograd.trace`) import it, and the rules' helpers
(`rules.exp_of`, ...) when handed a NumPy array: the eager engine never needs NumPy.

>>> import numpy as np
>>> from autograd import rules
>>> forward(rules.LOG, np.array([1.0, 0.0]))
Traceback (most recent call last):
...
ValueError: log: math domain error: log(0.0) needs a positive number (example 1 of the batch)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np

from autograd.array_namespace import NUMPY_NAMESPACE
from autograd.rules import Rule

Describe = Any  # (flat index of an entry in the result) -> text naming where it is, or None


class NumpyBackend:
    """A tape's tables as NumPy arrays of float64, and the operations a tape runs on them
    (`autograd.tape.torch_backend.TorchBackend` has the same for PyTorch tensors on a device)."""

    __slots__ = ()
    xp = NUMPY_NAMESPACE  # the namespace the rules' array forms receive
    dtype = np.dtype(float)

    def quiet(self) -> Any:
        """A context in which floating-point errors pass silently (the rechecks find them)."""
        return np.errstate(all="ignore")

    def asarray(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=float)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape)

    def copy(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def zero(self, x: np.ndarray) -> None:
        x.fill(0.0)

    def stack(self, arrays: list, axis: int) -> np.ndarray:
        return np.stack(arrays, axis=axis)

    def nonfinite(self, x: np.ndarray) -> Iterator[int]:
        """The flat indices of the non-finite entries of x."""
        return iter(np.flatnonzero(~np.isfinite(x)).tolist())

    def write(self, x: np.ndarray, index: tuple[int, ...], value: float) -> None:
        x[index] = value

    def on_host(self, x: np.ndarray) -> np.ndarray:
        """x as a NumPy array in its own dtype (guards are checked on the host)."""
        return x

    def index(self, rows: np.ndarray) -> np.ndarray:
        """Row numbers as an index of this backend's tables."""
        return rows

    def strided(self, table: np.ndarray, start: int, steps: tuple, shape: tuple) -> np.ndarray:
        """The view of `table` whose entry [i, j, :] is row start + i steps[0] + j steps[1]."""
        rows, columns = table.strides
        return np.lib.stride_tricks.as_strided(
            table[start:], (*shape, table.shape[1]), (steps[0] * rows, steps[1] * rows, columns)
        )

    def add_at(self, table: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
        """table[rows] += values, a repeated row receiving every one of its shares."""
        np.add.at(table, rows, values)


NUMPY = NumpyBackend()


def backend_of(*arrays: Any) -> Any:
    """`NUMPY`, or the PyTorch backend of the first tensor among `arrays` (its device, dtype)."""
    torch = sys.modules.get("torch")  # not imported: no tensor can have been made
    if torch is not None:
        for x in arrays:
            if isinstance(x, torch.Tensor):
                from autograd.tape.torch_backend import backend_for  # PyTorch, an extra

                return backend_for(x.device, x.dtype)
    return NUMPY


def example_of_last_axis(shape: tuple[int, ...]) -> Describe:
    """Name an entry by its index on the last axis: 'example j of the batch'."""
    return lambda index: f"example {np.unravel_index(index, shape)[-1]} of the batch"


def forward(rule: Rule, *inputs: Any, describe: Describe | None = None) -> Any:
    """`rule`'s forward pass on arrays (n-ary rules: operands stacked on axis -2): NumPy arrays,
    or PyTorch tensors on one device.

    >>> from autograd import rules
    >>> forward(rules.RELU, np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    backend = backend_of(*inputs)
    with backend.quiet():
        return forward_unchecked_errstate(rule, inputs, describe, backend)


def derivatives(rule: Rule, out: Any, *inputs: Any, describe: Describe | None = None) -> tuple:
    """`rule`'s local derivatives on arrays, one array (or number) per input group.

    >>> from autograd import rules
    >>> derivatives(rules.RELU, None, np.array([-1.0, 2.0]))
    (array([0., 1.]),)
    """
    backend = backend_of(out, *inputs)
    with backend.quiet():
        return derivatives_unchecked_errstate(rule, out, inputs, describe, backend)


def forward_unchecked_errstate(
    rule: Rule, inputs: tuple, describe: Describe | None, backend: Any = NUMPY
) -> Any:
    """`forward` for a caller that has already silenced floating-point warnings (`quiet`)."""
    if rule.array_forward is not None:
        result = rule.array_forward(backend.xp, *inputs)
    else:
        result = rule.forward(*inputs)
    if rule.raises:
        result = backend.asarray(result)
        if not math.isfinite(result.sum()):  # one pass; a sum that overflows is rechecked too
            result = _recheck(rule, result, inputs, describe, _call_forward, backend)
    return result


def derivatives_unchecked_errstate(
    rule: Rule, out: Any, inputs: tuple, describe: Describe | None, backend: Any = NUMPY
) -> tuple:
    """`derivatives` for a caller that has already silenced floating-point warnings (`quiet`)."""
    if rule.array_derivatives is not None:
        found = rule.array_derivatives(backend.xp, out, *inputs)
    else:
        found = rule.derivatives(out, *inputs)
    if rule.raises and not rule.stacked:
        shape = np.broadcast_shapes(*(np.shape(x) for x in (out, *inputs)))
        checked = []
        for position, local in enumerate(found):
            local = backend.xp.broadcast_to(backend.asarray(local), shape)
            if not math.isfinite(local.sum()):
                pick = lambda rule, *entry, p=position: rule.derivatives(*entry)[p]  # noqa: E731
                local = _recheck(rule, backend.copy(local), (out, *inputs), describe, pick, backend)
            checked.append(local)
        found = tuple(checked)
    return found


def _call_forward(rule: Rule, *entry: Any) -> float:
    """The float forward pass on one entry; an n-ary rule's operands are each group's column,
    flattened in order (dot_constant takes its constants as one trailing tuple)."""
    if not rule.stacked:
        return rule.forward(*entry)
    columns = [list(map(float, group)) for group in entry]
    if rule.name == "dot_constant":
        return rule.forward(*columns[0], tuple(columns[1]))
    return rule.forward(*chain(*columns))


def recheck(
    rule: Rule, result: Any, inputs: tuple, describe: Describe | None, backend: Any = NUMPY
) -> Any:
    """`result` of `rule`'s forward pass on `inputs`, its non-finite entries computed again by the
    float form (which raises where the eager engine raises)."""
    return _recheck(rule, result, inputs, describe, _call_forward, backend)


def _recheck(
    rule: Rule, result: Any, inputs: tuple, describe: Describe | None, call: Any, backend: Any
) -> Any:
    """Recompute the non-finite entries of `result` with the float form `call`, raising as it
    raises with the entry's place in the batch added."""
    shape = tuple(result.shape)
    describe = describe or example_of_last_axis(shape)
    broadcast_to = backend.xp.broadcast_to
    if rule.stacked:  # the operands of one entry lie along axis -2
        full = [broadcast_to(x, (*shape[:-1], np.shape(x)[-2], shape[-1])) for x in inputs]
        operands = lambda index: tuple(x[(*index[:-1], slice(None), index[-1])] for x in full)  # noqa: E731
    else:
        full = [broadcast_to(x, shape) for x in inputs]
        operands = lambda index: tuple(float(x[index]) for x in full)  # noqa: E731
    for flat in backend.nonfinite(result):
        index = tuple(int(i) for i in np.unravel_index(flat, shape))
        try:
            backend.write(result, index, call(rule, *operands(index)))
        except (ArithmeticError, ValueError) as error:
            where = describe(flat)
            raise type(error)(f"{error} ({where})" if where else str(error)) from None
    return result
