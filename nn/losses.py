"""Loss functions and regularization penalties on `Value`s: each loss is the mean over its entries.

As the references put it, a loss usable by backpropagation is an average E = (1/n) sum_x E_x of
per-example errors, each a function of the network's outputs: squared error for regression,
cross-entropy for classification, behind a logistic output for two classes and a softmax for more.
Sums of many terms are made with `sum_values` and `dot`: one node with many parents, not a chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

from autograd import Value, dot, max_values, sum_values

Scalar = Value | float
Nested = Value | float | Sequence["Nested"]


def _entry(x: Any, caller: str, where: str) -> Scalar:
    """`x` if it is a Value or a real number, checked to be finite."""
    if isinstance(x, Value):
        data = x.data
    elif isinstance(x, Real) and not isinstance(x, bool):
        data = x = float(x)
    else:
        raise TypeError(f"{caller}: {where} must be a Value or a real number, got {x!r}")
    if not math.isfinite(data):
        raise ValueError(f"{caller}: {where} is {data!r}; it must be finite")
    return x


def _pairs(outputs: Nested, targets: Nested, caller: str) -> list[tuple[Value, Scalar]]:
    """The (output, target) entries of two nested structures that must have the same shape.

    Inside a batch, an example's output may be a list of one (what `Linear(n, 1)` returns)
    against a number.
    """
    pairs: list[tuple[Value, Scalar]] = []
    stack = [(outputs, targets, "")]
    while stack:
        out, target, path = stack.pop()
        if path and isinstance(out, (list, tuple)) and len(out) == 1:
            if not isinstance(target, (list, tuple)):  # one output of Linear(n, 1): a number
                out = out[0]
        out_is_list, target_is_list = (
            isinstance(out, (list, tuple)),
            isinstance(target, (list, tuple)),
        )
        if out_is_list != target_is_list:
            shapes = f"{'a list' if out_is_list else 'a scalar'} of outputs{path} but "
            shapes += f"{'a list' if target_is_list else 'a scalar'} of targets{path}"
            raise ValueError(f"{caller}: the structures differ: {shapes}")
        if not out_is_list:
            y = _entry(out, caller, f"output{path}")
            t = _entry(target, caller, f"target{path}")
            pairs.append((y if isinstance(y, Value) else Value(y), t))
            continue
        if len(out) != len(target):
            raise ValueError(
                f"{caller}: {len(out)} outputs{path} but {len(target)} targets{path}; "
                "they must have the same length"
            )
        if not out:
            raise ValueError(f"{caller}: outputs{path} is empty")
        stack.extend(
            (o, t, f"{path}[{i}]") for i, (o, t) in reversed(list(enumerate(zip(out, target))))
        )
    return pairs


def mse(outputs: Nested, targets: Nested) -> Value:
    """Mean squared error over all entries: (1/n) sum_i (y_i - t_i)**2.

    `outputs` is a Value, a list of them (a batch of scalar outputs or one vector output) or a
    list of lists, and `targets` has the same structure. This is PyTorch's `mse_loss`; the
    references' (1/2n) sum ||y - t||**2 is half of it per output, with the same minimum.

    >>> mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    2.5
    """
    pairs = _pairs(outputs, targets, "mse")
    errors = [y - t for y, t in pairs]
    return dot(errors, errors) / len(pairs)


def _labels_check(pairs: list, caller: str, allowed: str, ok) -> None:
    for i, (_, t) in enumerate(pairs):
        label = t.data if isinstance(t, Value) else t
        if not ok(label):
            raise ValueError(f"{caller}: target {i} is {label!r}; targets must be {allowed}")


def binary_cross_entropy(logits: Nested, targets: Nested) -> Value:
    """Mean binary cross-entropy of sigmoid(z) against t in [0, 1], computed from the logit z.

    -[t log s(z) + (1 - t) log(1 - s(z))] = softplus(z) - t z, which never takes the log of a
    rounded-off 0: finite for any finite logit. This is PyTorch's
    `binary_cross_entropy_with_logits`: pass logits, with no sigmoid on the model's last layer.

    >>> import math  # softplus(0) - 0 = log 2, and softplus(1e4) - 1e4 = 0 exactly
    >>> binary_cross_entropy([Value(0.0), Value(1e4)], [0.0, 1.0]).data == math.log(2) / 2
    True
    """
    pairs = _pairs(logits, targets, "binary_cross_entropy")
    _labels_check(pairs, "binary_cross_entropy", "in [0, 1]", lambda t: 0.0 <= t <= 1.0)
    return sum_values([z.softplus() - t * z for z, t in pairs]) / len(pairs)


def hinge(scores: Nested, targets: Nested) -> Value:
    """Mean max-margin (hinge) loss: (1/n) sum_i max(0, 1 - y_i s_i), labels y_i = +1 or -1.

    The loss is 0 once a score is on the right side of the margin (y s >= 1), as in an SVM.

    >>> hinge([Value(2.0), Value(0.5)], [1, -1]).data
    0.75
    """
    pairs = _pairs(scores, targets, "hinge")
    _labels_check(pairs, "hinge", "+1 or -1", lambda t: t in (1.0, -1.0))
    return sum_values([(1.0 - y * s).relu() for s, y in pairs]) / len(pairs)


def _shifted(logits: Sequence[Value | float], caller: str) -> tuple[list[Value], Value]:
    """z_i - m for each logit, m = max z (a constant), and log sum_j e**(z_j - m)."""
    if not isinstance(logits, (list, tuple)):
        raise TypeError(f"{caller}: logits must be a list of Values, got {logits!r}")
    if not logits:
        raise ValueError(f"{caller}: logits is empty")
    zs = [_entry(z, caller, f"logits[{i}]") for i, z in enumerate(logits)]
    zs = [z if isinstance(z, Value) else Value(z) for z in zs]
    # log sum e**z_j = m + log sum e**(z_j - m) for any m; with m = max z every exponent is <= 0
    # and one is 0, so nothing overflows and the sum is at least 1. m is a node (max_values), not
    # a number read from the data, so a tape (autograd.trace) recomputes it for every input; the
    # gradient that reaches it, 1 - sum of the softmax, is 0 up to rounding.
    m = max_values(zs)
    shifted = [z - m for z in zs]
    return shifted, sum_values([s.exp() for s in shifted]).log()


def log_softmax(logits: Sequence[Value | float]) -> list[Value]:
    """log softmax(z)_i = z_i - log sum_j e**z_j, computed with the largest logit subtracted.

    >>> [round(v.data, 4) for v in log_softmax([Value(1000.0), Value(1000.0)])]
    [-0.6931, -0.6931]
    """
    shifted, log_total = _shifted(logits, "log_softmax")
    return [s - log_total for s in shifted]


def softmax(logits: Sequence[Value | float]) -> list[Value]:
    """softmax(z)_i = e**z_i / sum_j e**z_j: probabilities over the classes of one example.

    >>> [round(p.data, 4) for p in softmax([Value(0.0), Value(0.6931471805599453)])]
    [0.3333, 0.6667]
    """
    return [v.exp() for v in log_softmax(logits)]


def _class_index(target: Any, n_classes: int, where: str, caller: str) -> int:
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"{caller}: {where} must be an int class index, got {target!r}")
    if not 0 <= target < n_classes:
        raise IndexError(
            f"{caller}: {where} is {target}, out of range for {n_classes} classes "
            f"(valid indices are 0 to {n_classes - 1})"
        )
    return int(target)


def _negative_log_likelihood(
    logits: Sequence, target: Any, where: str, caller: str = "cross_entropy"
) -> Value:
    shifted, log_total = _shifted(logits, caller)
    return log_total - shifted[_class_index(target, len(shifted), where, caller)]


def cross_entropy(logits: Sequence, target: int | Sequence[int]) -> Value:
    """Mean of -log softmax(z)[t] = log sum_j e**z_j - z_t over the examples.

    One example: a list of logits and an int class index. A batch: a list of such lists (all
    with the same number of classes) and a list of ints. PyTorch's `cross_entropy`.

    >>> import math  # two equal logits: p = 1/2 for each class
    >>> cross_entropy([Value(0.0), Value(0.0)], 1).data == math.log(2)
    True
    >>> round(cross_entropy([[0.0, 0.0], [5.0, 0.0]], [1, 0]).data, 6)
    0.349931
    """
    if not isinstance(target, (list, tuple)):
        return _negative_log_likelihood(logits, target, "target")
    if not isinstance(logits, (list, tuple)) or not all(
        isinstance(r, (list, tuple)) for r in logits
    ):
        raise TypeError(
            "cross_entropy: a list of targets is a batch, which needs a list of lists of logits "
            f"(one list per example), got {logits!r}"
        )
    if len(logits) != len(target):
        raise ValueError(f"cross_entropy: {len(logits)} rows of logits but {len(target)} targets")
    if not target:
        raise ValueError("cross_entropy: the batch is empty")
    for i, row in enumerate(logits):
        if len(row) != len(logits[0]):
            raise ValueError(
                f"cross_entropy: logits[{i}] has {len(row)} classes but logits[0] has "
                f"{len(logits[0])}"
            )
    losses = [
        _negative_log_likelihood(z, t, f"target[{i}]")
        for i, (z, t) in enumerate(zip(logits, target))
    ]
    return sum_values(losses) / len(losses)


def sequence_cross_entropy(logits: Sequence, targets: Sequence, ignore_index: int = -100) -> Value:
    """Mean of -log softmax(z_t)[y_t] over the positions t whose target y_t is not
    `ignore_index`: a language model's loss, PyTorch's `cross_entropy(..., ignore_index=...)` on
    the positions flattened.

    One sequence: `logits` a list of positions, each a list of logits (what `GPT` returns), and
    `targets` a list of ints, one per position. A batch: a list of such sequences and a list of
    their target lists; the mean is then over every counted position of the batch, so a long
    sequence weighs more than a short one, as in PyTorch. A position whose target is
    `ignore_index` (padding, `nn.data.language_model_pairs`) makes no node at all: it cannot
    change the loss or any gradient.

    >>> import math  # two equal logits: p = 1/2; the padded second position is not counted
    >>> loss = sequence_cross_entropy([[0.0, 0.0], [9.0, 0.0]], [1, -100])
    >>> loss.data == math.log(2)
    True
    """
    caller = "sequence_cross_entropy"
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, Integral):
        raise TypeError(f"{caller}: ignore_index must be an int, got {ignore_index!r}")
    if not isinstance(targets, (list, tuple)) or not isinstance(logits, (list, tuple)):
        raise TypeError(
            f"{caller}: logits and targets must be lists (one sequence, or a batch of them), "
            f"got {type(logits).__name__} and {type(targets).__name__}"
        )
    pairs = [(logits, targets, "")]
    if targets and isinstance(targets[0], (list, tuple)):
        if len(logits) != len(targets):
            raise ValueError(
                f"{caller}: {len(logits)} sequences of logits but {len(targets)} of targets"
            )
        pairs = [(z, y, f"[{i}]") for i, (z, y) in enumerate(zip(logits, targets))]
    losses = []
    for sequence, wanted, where in pairs:
        if not (isinstance(sequence, (list, tuple)) and isinstance(wanted, (list, tuple))):
            raise TypeError(f"{caller}: logits{where} and targets{where} must be lists")
        if len(sequence) != len(wanted):
            raise ValueError(
                f"{caller}: logits{where} has {len(sequence)} positions but targets{where} has "
                f"{len(wanted)}"
            )
        losses += [
            _negative_log_likelihood(z, y, f"targets{where}[{t}]", caller)
            for t, (z, y) in enumerate(zip(sequence, wanted))
            if y != ignore_index
        ]
    if not losses:
        raise ValueError(
            f"{caller}: every target is ignore_index={ignore_index}; there is no position to "
            "score (PyTorch gives NaN)"
        )
    return sum_values(losses) / len(losses)


def _parameters(parameters: Iterable[Value], caller: str) -> list[Value]:
    if isinstance(parameters, Value) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"{caller}: parameters must be an iterable of Values (such as model.parameters()), "
            f"got {type(parameters).__name__}"
        )
    found = list(parameters)
    if not found:
        raise ValueError(f"{caller}: parameters is empty")
    for i, p in enumerate(found):
        if not isinstance(p, Value):
            raise TypeError(f"{caller}: parameters[{i}] must be a Value, got {p!r}")
    return found


def l1(parameters: Iterable[Value]) -> Value:
    """The L1 penalty sum_i |p_i|; add `strength * l1(model.parameters())` to a loss.

    Its gradient, strength * sign(p), pulls every weight toward 0 by the same amount, which
    drives small weights to exactly 0 (sparse models).

    >>> l1([Value(-2.0), Value(3.0)]).data
    5.0
    """
    return sum_values([abs(p) for p in _parameters(parameters, "l1")])


def l2(parameters: Iterable[Value]) -> Value:
    """The L2 penalty sum_i p_i**2; add `strength * l2(model.parameters())` to a loss.

    Its gradient, 2 strength p, shrinks each weight in proportion to its size ("weight decay").

    >>> l2([Value(-2.0), Value(3.0)]).data
    13.0
    """
    found = _parameters(parameters, "l2")
    return dot(found, found)
