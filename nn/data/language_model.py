"""Examples for a language model: each token list becomes the inputs and the targets of next-token
prediction, padded to one length for mini-batches if asked."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any


def language_model_pairs(
    token_lists: Sequence[Sequence[int]],
    block_size: int,
    *,
    pad: int | None = None,
    ignore_index: int = -100,
) -> tuple[list[list[int]], list[list[int]]]:
    """`(X, y)` for next-token prediction: for each list t of tokens, x = t[:n] and y = t[1:n+1],
    n = min(block_size, len(t) - 1), so y[i] is the token that follows x[0..i]; a list longer
    than the block keeps its first block_size + 1 tokens, as microgpt does.

    Without `pad` the examples keep their own lengths: train one per step (`batch_size=1`). With
    `pad` (a token of the vocabulary, such as the end token), every x is padded with it to the
    longest example's length and every y with `ignore_index`, the value
    `nn.losses.sequence_cross_entropy` skips: padding comes after the real tokens, which a
    causal model never lets them see, and its targets are not scored, so it changes neither
    the loss nor any gradient, and examples can share a mini-batch.

    >>> language_model_pairs([[0, 5, 6, 0], [0, 7, 0]], block_size=8)
    ([[0, 5, 6], [0, 7]], [[5, 6, 0], [7, 0]])
    >>> language_model_pairs([[0, 5, 6, 0], [0, 7, 0]], block_size=8, pad=0)
    ([[0, 5, 6], [0, 7, 0]], [[5, 6, 0], [7, 0, -100]])
    """
    where = "language_model_pairs"
    block_size = _int(block_size, f"{where}: block_size", 1)
    if pad is not None:
        _int(pad, f"{where}: pad", 0)
    _int(ignore_index, f"{where}: ignore_index", None)
    if isinstance(token_lists, (str, bytes)) or not isinstance(token_lists, Sequence):
        raise TypeError(
            f"{where}: token_lists must be a list of token lists, got {token_lists!r:.80}"
        )
    if not token_lists:
        raise ValueError(f"{where}: token_lists is empty")
    X, y = [], []
    for i, tokens in enumerate(token_lists):
        if not isinstance(tokens, (list, tuple)):
            raise TypeError(f"{where}: token_lists[{i}] must be a list of ints, got {tokens!r:.80}")
        if len(tokens) < 2:
            raise ValueError(
                f"{where}: token_lists[{i}] has {len(tokens)} token(s); next-token prediction "
                "needs at least 2"
            )
        for j, token in enumerate(tokens):
            _int(token, f"{where}: token_lists[{i}][{j}]", 0)
        n = min(block_size, len(tokens) - 1)
        X.append([int(t) for t in tokens[:n]])
        y.append([int(t) for t in tokens[1 : n + 1]])
    if pad is not None:
        length = max(map(len, X))
        X = [x + [int(pad)] * (length - len(x)) for x in X]
        y = [t + [int(ignore_index)] * (length - len(t)) for t in y]
    return X, y


def _int(value: Any, what: str, low: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{what} must be >= {low}, got {value}")
    return int(value)
