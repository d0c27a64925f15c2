"""Drawing the next token from a language model's logits: temperature and top-k, on floats.

With temperature T and the logits z, token i is drawn with probability softmax(z / T)_i; top-k
keeps the k largest logits (and any tied with the k-th) and gives every other token probability 0.
Sampling reads the logits' numbers: it is no part of any graph.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from autograd import Value
from nn.init import RandomSource


def sample_token(
    logits: Sequence[Value | float], temperature: float, top_k: int | None, rng: RandomSource
) -> int:
    """One token index drawn from softmax(logits / temperature), restricted to the top k.

    >>> import random
    >>> sample_token([0.0, 5.0, 1.0], 1.0, 1, random.Random(0))
    1
    """
    scaled = [float(z) / temperature for z in logits]
    if top_k is not None and top_k < len(scaled):
        threshold = sorted(scaled, reverse=True)[top_k - 1]
        scaled = [z if z >= threshold else -math.inf for z in scaled]
    largest = max(scaled)
    weights = [math.exp(z - largest) for z in scaled]  # the softmax, before normalising
    return rng.choices(range(len(weights)), weights=weights)[0]


def sample_tokens(
    logits: Any, temperature: float, top_k: int | None, sources: Sequence[RandomSource]
) -> list[int]:
    """`sample_token` for each row of a NumPy array of logits (rows x tokens), row i drawing
    from `sources[i]`: one `random()` per row, in row order, compared as `random.choices` does
    with the running sum of the weights, so the tokens are `sample_token`'s (the weights may
    differ from `math.exp`'s in the last bit).

    >>> import numpy as np
    >>> sample_tokens(np.array([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]]), 1.0, 1, [random.Random(0)] * 2)
    [1, 0]
    """
    import numpy as np  # an extra (tapes): only compiled generation samples arrays

    scaled = logits / temperature
    if top_k is not None and top_k < scaled.shape[1]:
        threshold = -np.partition(-scaled, top_k - 1, axis=1)[:, top_k - 1 : top_k]
        scaled = np.where(scaled >= threshold, scaled, -math.inf)
    weights = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    running = np.cumsum(weights, axis=1)  # left to right, as itertools.accumulate adds
    bad = np.flatnonzero(~np.isfinite(running[:, -1]))
    if len(bad):  # as random.choices refuses them
        raise ValueError(f"sample: the logits of row {bad[0]} are not finite: {logits[bad[0]]}")
    drawn = np.fromiter((source.random() for source in sources), float, len(sources))
    # bisect_right(running, u * total, 0, hi=tokens - 1): the entries <= it, at most tokens - 1
    found = (running[:, :-1] <= (drawn * running[:, -1])[:, None]).sum(axis=1)
    return found.tolist()


def row_sources(seed: Any, count: int) -> list[RandomSource]:
    """What each of `count` rows draws from: `random.Random(seed + r)` for row r, so row r of
    a batch samples what `generate(..., seed=seed + r)` samples alone; with seed None, every
    row draws from the global `random`, in turn.

    >>> [source.random() == random.Random(7 + r).random() for r, source in
    ...  enumerate(row_sources(7, 2))]
    [True, True]
    """
    if seed is None:
        return [random] * count
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(
            f"generate: seed must be an int or None, got {type(seed).__name__} {seed!r}"
        )
    return [random.Random(int(seed) + r) for r in range(count)]


def check_sampling(
    max_new_tokens: Any, temperature: Any, top_k: Any, vocab_size: int
) -> tuple[int, float, int | None]:
    """`generate`'s sampling arguments, checked: a ValueError or TypeError names the bad one."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, Integral):
        raise TypeError(
            f"generate: max_new_tokens must be an int, got {type(max_new_tokens).__name__} "
            f"{max_new_tokens!r}"
        )
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    if isinstance(temperature, bool) or not isinstance(temperature, Real):
        raise TypeError(f"generate: temperature must be a number, got {temperature!r}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"generate: temperature must be a finite number > 0, got {temperature!r} (for the "
            "most likely token every time, use top_k=1)"
        )
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, Integral):
            raise TypeError(f"generate: top_k must be an int or None, got {top_k!r}")
        if not 1 <= top_k <= vocab_size:
            raise ValueError(
                f"generate: top_k must be between 1 and vocab_size={vocab_size}, got {top_k}"
            )
        top_k = int(top_k)
    return int(max_new_tokens), float(temperature), top_k
