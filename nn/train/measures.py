"""What training measures and checks besides the loss: the targets it accepts, accuracy, and the
mode (training or eval) a model is run in. `fit`, `evaluate` and their compiled forms share them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from typing import Any

from autograd import Value


@contextlib.contextmanager
def in_mode(model: Any, training: bool) -> Iterator[None]:
    """Inside the block, a model with `train()` is in training or eval mode; then as it was."""
    was_training = getattr(model, "training", training)
    switch = was_training != training and callable(getattr(model, "train", None))
    if switch:
        model.train(training)
    try:
        yield
    finally:
        if switch:
            model.train(was_training)


def accuracy(outputs: Sequence[Any], targets: Sequence[Any]) -> float:
    """The fraction of outputs that classify their target right.

    A scalar output (a `Value`, a number, or a list of one) is right when
    (output > 0) == (target > 0): a logit with 0/1 labels, or a score with -1/+1 labels.
    A vector output (class scores) is right when its largest entry is at the target's index.
    An output holding NaN is never right.

    >>> from autograd import Value
    >>> accuracy([Value(2.0), Value(-0.5), [0.1, 3.0, -1.0], [0.0, 1.0]], [1, 1, 1, 0])
    0.5
    """
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no outputs to score")
    return sum(map(is_correct, outputs, targets)) / len(outputs)


def check_targets(y: Sequence[Any], caller: str) -> None:
    """A TypeError (ValueError when not finite) naming the first target that is not a finite
    real number or a list of them: what eager and compiled training both refuse, up front.

    >>> check_targets([1, 0.5, [2.0, -1.0]], "fit")
    >>> check_targets([1, None], "fit")
    Traceback (most recent call last):
    ...
    TypeError: fit: target y[1] must be a real number or a list of them, got NoneType None
    """
    stack = [(t, f"y[{i}]") for i, t in reversed(list(enumerate(y)))]
    while stack:
        target, where = stack.pop()
        if isinstance(target, (list, tuple)) and target:
            stack.extend((t, f"{where}[{j}]") for j, t in reversed(list(enumerate(target))))
        elif isinstance(target, bool) or not isinstance(target, Real):  # NumPy's bool is no Real
            raise TypeError(
                f"{caller}: target {where} must be a real number or a list of them, got "
                f"{type(target).__name__} {target!r:.80}"
            )
        elif not math.isfinite(target):
            raise ValueError(f"{caller}: target {where} is {target!r}; it must be finite")


def measures_accuracy(y: Sequence[Any]) -> bool:
    """Whether accuracy means something for these targets: every one a number (a class index or
    a label), not a list (a regression on vectors)."""
    return not any(isinstance(t, (list, tuple)) for t in y)


def is_correct(output: Any, target: Any) -> bool:
    if isinstance(output, Sequence) and len(output) == 1:
        output = output[0]
    if isinstance(output, (Value, Real)):
        score = float(output)  # NaN > 0 is False: without the check, NaN would match a 0 label
        return not math.isnan(score) and (score > 0.0) == (float(target) > 0.0)
    if not isinstance(output, Sequence) or isinstance(output, str) or not output:
        raise TypeError(
            f"accuracy: an output must be a Value, a number or a list of class scores, "
            f"got {type(output).__name__} {output!r}"
        )
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"accuracy: a class index target must be an int, got {target!r}")
    if not 0 <= target < len(output):
        raise IndexError(
            f"accuracy: target {target} is out of range for {len(output)} class scores"
        )
    scores = [float(score) for score in output]
    if any(map(math.isnan, scores)):  # max() compares nothing with NaN: its pick would be arbitrary
        return False
    return max(range(len(scores)), key=scores.__getitem__) == target
