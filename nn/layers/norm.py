"""BatchNorm1d: batch normalisation (Ioffe and Szegedy, 2015) with PyTorch's formulas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

from autograd import Value, batch_mean, dot, fresh_numbers, sum_values
from nn.layers.arguments import boolean_flag, positive_size
from nn.model_files import saveable
from nn.module import Module
from nn.tape_requests import tracing

Batch = Sequence[Sequence[Value | float]]


@saveable
class BatchNorm1d(Module):
    """Normalise each feature over a batch, then scale and shift it: y = (x - mean) / sqrt(var +
    eps) * weight + bias, per feature, for a batch of examples (each a list of `num_features`).

    While training, mean and var are the batch's own (var biased, dividing by the batch size),
    so the gradient of every output flows through them into every example of the batch; the
    running statistics then move towards them: running = (1 - momentum) * running + momentum *
    statistic, with the unbiased variance (dividing by size - 1), or by a cumulative average
    when `momentum` is None. In eval mode the running statistics normalise instead, and the
    output of an example no longer depends on the rest of the batch. With `affine`, `weight`
    (starting at 1) and `bias` (at 0) are parameters. The buffers `running_mean` (starting at 0),
    `running_var` (at 1) and `num_batches_tracked` are saved with the parameters, as in PyTorch.

    Unlike the other layers it takes a whole batch and returns one; inside a model it is
    reached through `forward_batch`, which `fit` and `evaluate` use. In eval mode it also takes
    one example (a list of numbers) and returns one, as the other layers do.

    Through a tape (`fit(..., compile=True)`), the batch's mean and variance are
    `autograd.batch_mean` nodes, computed across the batch with gradients flowing through them,
    and the running statistics move after every step as here. In eval mode a tape, this one or
    any `autograd.trace` of a model holding the layer, reads the running statistics afresh at
    every call (`autograd.fresh_numbers`): training or loading a state dict after tracing
    changes what the tape computes, as it changes the model.

    >>> norm = BatchNorm1d(1)
    >>> [round(y[0].data, 4) for y in norm([[1.0], [3.0]])]
    [-1.0, 1.0]
    >>> norm.running_mean, norm.running_var
    ([0.2], [1.1])
    """

    config_keys = ("num_features", "eps", "momentum", "affine")
    buffer_keys = ("running_mean", "running_var", "num_batches_tracked")
    nonnegative_buffer_keys = ("running_var",)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
    ) -> None:
        self.num_features = positive_size("num_features", num_features)
        self.eps = _fraction("eps", eps, low_open=True)
        self.momentum = None if momentum is None else _fraction("momentum", momentum)
        self.affine = boolean_flag("affine", affine)
        self.weight: list[Value] | None = None
        self.bias: list[Value] | None = None
        if self.affine:
            self.weight = [Value(1.0) for _ in range(self.num_features)]
            self.bias = [Value(0.0) for _ in range(self.num_features)]
        self.running_mean = [0.0] * self.num_features
        self.running_var = [1.0] * self.num_features
        self.num_batches_tracked = 0

    def forward(self, batch: Batch) -> list[list[Value]]:
        traced = tracing()
        if traced is not None and self.training:  # nn.train.compiled: one example of a batch
            return self._traced_training(batch, traced)
        if not self.training and _is_one_example(batch):  # eval: no batch statistics needed
            return self([batch])[0]
        _check_batch(self, batch)
        n = len(batch)
        columns = list(zip(*batch))  # one tuple per feature
        if self.training:
            self._check_size(n)
            normalised, statistics = [], []
            for column in columns:
                mean = sum_values(column) / n
                centred = [x - mean for x in column]
                variance = dot(centred, centred) / n
                inverse_std = (variance + self.eps) ** -0.5
                normalised.append([c * inverse_std for c in centred])
                statistics.append((mean.data, variance.data))
            self._track([m for m, _ in statistics] + [v for _, v in statistics], n)
        else:
            numbers = fresh_numbers(self._running_normalisers)  # read again by a tape's calls
            means, scales = numbers[: self.num_features], numbers[self.num_features :]
            normalised = [
                [(x - mean) * scale for x in column]
                for column, mean, scale in zip(columns, means, scales)
            ]
        return self._affine(normalised)

    def _affine(self, normalised: list[list[Any]]) -> list[list[Value]]:
        """z * weight + bias per feature, for features given as columns; the batch, by example."""
        if self.weight is not None and self.bias is not None:
            normalised = [
                [z * w + b for z in column]
                for column, w, b in zip(normalised, self.weight, self.bias)
            ]
        return [list(example) for example in zip(*normalised)]

    def _traced_training(self, x: Any, traced: Any) -> list[Value]:
        """One example of the batch a tape runs on: the same formulas as `forward`, with the
        batch's mean and variance as `batch_mean` nodes, which the tape computes across it."""
        if not isinstance(x, (list, tuple)) or len(x) != self.num_features:
            raise TypeError(
                f"{self!r}: traced for compiled training, it takes one example of "
                f"{self.num_features} features at a time, got {x!r:.80}"
            )
        means = [batch_mean(v) for v in x]
        centred = [v - mean for v, mean in zip(x, means)]
        variances = [batch_mean(c * c) for c in centred]
        traced.batch_statistics([*means, *variances], self._check_size, self._track)
        normalised = [[c * (var + self.eps) ** -0.5] for c, var in zip(centred, variances)]
        return self._affine(normalised)[0]

    def _check_size(self, n: int) -> None:
        if n < 2:
            raise ValueError(
                f"{self!r}: training needs a batch of at least 2 examples to measure a "
                f"variance, got a batch of {n}; call .eval() to use the running statistics"
            )

    def _track(self, statistics: list[float], n: int) -> None:
        """Move the running statistics towards a training batch's means and biased variances
        (`statistics`: the means, then the variances, per feature), and count the batch."""
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        means, variances = statistics[: self.num_features], statistics[self.num_features :]
        for j, (mean, variance) in enumerate(zip(means, variances)):
            self.running_mean[j] += factor * (mean - self.running_mean[j])
            unbiased = variance * n / (n - 1)
            self.running_var[j] += factor * (unbiased - self.running_var[j])

    def _running_normalisers(self) -> list[float]:
        """The running means, then 1 / sqrt(running variance + eps), per feature."""
        for j, var in enumerate(self.running_var):
            if not var + self.eps > 0.0:
                raise ValueError(
                    f"{self!r}: running_var[{j}] is {var!r}; eval mode divides by "
                    f"sqrt(running_var + eps), which needs running_var + eps > 0 (eps {self.eps})"
                )
        scales = [1.0 / math.sqrt(var + self.eps) for var in self.running_var]
        return [*self.running_mean, *scales]

    def forward_batch(self, batch: Batch) -> list[list[Value]]:
        return self(batch)

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return (
            2
            * positive_size("num_features", config["num_features"])
            * boolean_flag("affine", config["affine"])
        )

    @classmethod
    def _count_buffers(cls, config: dict[str, Any]) -> int:
        return 2 * positive_size("num_features", config["num_features"]) + 1

    def __repr__(self) -> str:
        return (
            f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine})"
        )


def _check_batch(module: BatchNorm1d, batch: Any) -> None:
    if not isinstance(batch, (list, tuple)) or not batch:
        raise TypeError(
            f"{module!r} takes a batch: a non-empty list of examples, got "
            f"{type(batch).__name__} {batch!r}"
        )
    if not isinstance(batch[0], (list, tuple)):
        raise TypeError(
            f"{module!r} takes a batch, a list of examples each a list of "
            f"{module.num_features} numbers, but got one example (taken only in eval mode); "
            "inside a model, pass the batch through model.forward_batch(batch), as fit and "
            "evaluate do"
        )
    for i, example in enumerate(batch):
        if not isinstance(example, (list, tuple)) or len(example) != module.num_features:
            size = len(example) if isinstance(example, (list, tuple)) else type(example).__name__
            raise ValueError(
                f"{module!r}: batch[{i}] must be a list of {module.num_features} features, "
                f"got {size}"
            )


def _is_one_example(batch: Any) -> bool:
    return isinstance(batch, (list, tuple)) and bool(batch) and isinstance(batch[0], (Value, Real))


def _fraction(name: str, value: Any, low_open: bool = False) -> float:
    """A real number in [0, 1] ((0, 1] when `low_open`): eps and momentum."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"BatchNorm1d: {name} must be a real number, got {value!r}")
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"BatchNorm1d: {name} must be in {interval}, got {value!r}")
    return float(value)
