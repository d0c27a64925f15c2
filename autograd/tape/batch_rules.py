"""Rules over the batch a tape runs on: `batch_mean(x)`, for statistics of a whole batch.

A tape (`autograd.trace`) runs a function of one example on many examples at once, each one
independently of the others. Batch normalisation needs more: the mean of a node over the batch.
`batch_mean(x)` is that node. On one example, as the eager engine and a tape called with floats
see it, the batch has one member and the mean is `x` itself (derivative 1). A tape called on a
batch of B examples computes it once per call, in its static table (`autograd.tape.levels`): forward
the mean of x's row over the batch axis, backward d(mean)/d(x_i) = 1/B for every example i, so
the adjoint that reaches the mean, summed over the examples that used it, is spread back evenly.
The examples of a batch are then no longer independent: a pullback gives the gradient of the sum
of cotangents times outputs over the whole batch, through the mean (as training needs), so a
"per-example" gradient (`Tape.value_and_grad`) is that of the batch's sum of results.

The rule lives outside `autograd.rules`, the table of per-example operations (each of which a
tape applies to every example on its own): `BATCH_RULES` names the rules a tape computes across
the batch instead. Its array forms take the array namespace (NumPy's or PyTorch's) as their first
argument, as the table's do.

>>> from autograd import Value, trace
>>> import numpy as np
>>> tape = trace(lambda x: x - batch_mean(x), 1.0)
>>> tape(np.array([1.0, 2.0, 6.0]))
array([-2., -1.,  3.])
>>> tape(5.0)  # one example: its own mean
0.0
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from autograd.rules import Rule, register
from autograd.value import Value, _apply1


def _mean_over_batch(np: Any, x: Any) -> Any:
    if x.shape[-1] == 0:
        raise ValueError("batch_mean: a tape called on an empty batch has no mean to take")
    return x.mean(axis=-1, keepdims=True)


# mean_i x_i over the batch; d(mean)/d(x_i) = 1/B (on one example: x itself, derivative 1)
BATCH_MEAN = Rule(
    "batch_mean",
    "batch mean",
    lambda x: x,
    lambda out, x: (1.0,),
    constant_locals=True,
    array_forward=_mean_over_batch,
    array_derivatives=lambda np, out, x: (1.0 / x.shape[-1],),
)

register(BATCH_MEAN, home=__name__)  # so a pickled graph finds it by name
BATCH_RULES = {BATCH_MEAN.name: BATCH_MEAN}


def batch_mean(x: Value | float) -> Value:
    """The mean of `x` over the batch a tape runs on; on one example, `x` itself.

    Gradients flow through it: in a tape called on B examples, each example's `x` receives 1/B
    of the adjoint that reaches the mean from all of them. `nn.BatchNorm1d` uses it when
    `nn.train.compiled` traces a model in training mode.

    >>> y = batch_mean(Value(3.0))
    >>> y.backward()
    >>> y.data, y.parents[0].grad
    (3.0, 1.0)
    """
    if not isinstance(x, Value):
        if isinstance(x, bool) or not isinstance(x, Real):
            kind = type(x).__name__
            raise TypeError(f"batch_mean: takes a Value or a number, got {kind} {x!r:.80}")
        x = Value(float(x))
    return _apply1(BATCH_MEAN, x)
