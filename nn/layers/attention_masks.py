"""The masks of `MultiheadAttention`: `attn_mask` and `is_causal` read into one number per query
and key position, added to the score, or None where the query may not attend to the key."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

Offsets = list[list[float | None]]  # per query, per key: the number added to the score, or None


def offsets(
    name: str, attn_mask: Any, is_causal: bool, n_queries: int, n_keys: int
) -> Offsets | None:
    """The mask as numbers added to the scores, None where a query may not attend to a key (a
    True of a boolean mask, -inf, or a later position when causal); None when nothing is masked.
    """
    if attn_mask is None and not is_causal:
        return None
    rows: Offsets = [[0.0] * n_keys for _ in range(n_queries)]
    if attn_mask is not None:
        rows = _read_mask(name, attn_mask, n_queries, n_keys)
    if is_causal:
        for i, row in enumerate(rows):
            row[i + 1 :] = [None] * len(row[i + 1 :])
    for i, row in enumerate(rows):
        if all(c is None for c in row):
            raise ValueError(
                f"{name}: query position {i} may attend to no key position (its attn_mask row "
                "masks them all, or is_causal does); PyTorch's softmax would give NaN there"
            )
    return rows


def _read_mask(name: str, attn_mask: Any, n_queries: int, n_keys: int) -> Offsets:
    if hasattr(attn_mask, "tolist"):  # a torch or NumPy array
        attn_mask = attn_mask.tolist()
    shape = f"({n_queries}, {n_keys}), query length by key length"
    if not isinstance(attn_mask, (list, tuple)) or len(attn_mask) != n_queries:
        raise ValueError(f"{name}: attn_mask must have shape {shape}, got {attn_mask!r:.80}")
    entries = []
    for i, row in enumerate(attn_mask):
        if not isinstance(row, (list, tuple)) or len(row) != n_keys:
            got = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
            raise ValueError(f"{name}: attn_mask must have shape {shape}; row {i} has {got}")
        entries += row
    booleans = all(isinstance(c, bool) for c in entries)
    if not booleans and not all(isinstance(c, Real) and not isinstance(c, bool) for c in entries):
        raise TypeError(
            f"{name}: attn_mask must hold booleans (True: may not attend) or numbers added to "
            "the scores, not a mixture or other things"
        )
    if booleans:
        return [[None if c else 0.0 for c in row] for row in attn_mask]
    if any(math.isnan(c) or c == math.inf for c in entries):
        raise ValueError(f"{name}: attn_mask holds NaN or +inf; use -inf to mask a position")
    return [[None if c == -math.inf else float(c) for c in row] for row in attn_mask]
