"""MultiheadAttention (Vaswani et al., 2017) with PyTorch's layout, and a key/value cache for
decoding one position at a time.

A sequence is a list of steps, each a list of `embed_dim` numbers or Values. For each head h
(`head_dim = embed_dim // num_heads` entries of every projected step), query position l attends
to the key positions s its mask allows:

    q, k, v = W_q x_q + b_q, W_k x_k + b_k, W_v x_v + b_v        (in_proj_weight's three blocks)
    score[l][s] = q_h[l] . k_h[s] / sqrt(head_dim) + mask[l][s]
    p[l] = softmax(score[l]);  head_h[l] = sum_s p[l][s] v_h[s]
    output[l] = out_proj(head_0[l] ++ ... ++ head_{H-1}[l])

Each score is one `dot` node, each softmax one `sum_values` node, and each entry of a head's
output one `dot` node over the allowed positions: masked positions make no nodes at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from autograd import Value, dot, graph_scope, matvec, max_values, sum_values
from nn.layers.arguments import boolean_flag, positive_size, random_source_for
from nn.layers.attention_masks import Offsets, offsets
from nn.layers.linear import Linear
from nn.model_files import saveable
from nn.module import Module

Steps = Sequence[Sequence[Value | float]]


class KVCache:
    """The keys and values a `MultiheadAttention` has projected so far, for `attention.step`:
    `keys[h]` holds head h's key of every position, `columns[h][j]` entry j of head h's values
    across the positions (the columns its outputs are dot products with). `len(cache)` is the
    number of positions held. Made by `attention.new_cache()`, it serves that module only.
    """

    __slots__ = ("owner", "keys", "columns", "length")

    def __init__(self, owner: MultiheadAttention) -> None:
        self.owner = owner
        self.keys: list[list[list[Value]]] = [[] for _ in range(owner.num_heads)]
        self.columns = [[[] for _ in range(owner.head_dim)] for _ in range(owner.num_heads)]
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def append(self, key: Sequence[Value], value: Sequence[Value]) -> None:
        """One more position: its key and its value, each embed_dim entries with the heads side
        by side (as the input projection gives them)."""
        d = self.owner.head_dim
        for h in range(self.owner.num_heads):
            self.keys[h].append(list(key[h * d : (h + 1) * d]))
            for column, entry in zip(self.columns[h], value[h * d : (h + 1) * d]):
                column.append(entry)
        self.length += 1

    def last(self) -> tuple[list[Value], list[Value]]:
        """The key and the value of the last position held, as `append` takes them."""
        key = [entry for head in self.keys for entry in head[-1]]
        return key, [column[-1] for head in self.columns for column in head]

    def __repr__(self) -> str:
        return f"KVCache({self.length} positions)"


@saveable
class MultiheadAttention(Module):
    """Multi-head scaled dot-product attention over sequences, as `torch.nn.MultiheadAttention`
    computes it for unbatched input (see the module docstring for the formulas).

    Parameters as PyTorch holds and draws them: `in_proj_weight`, 3 * embed_dim rows of embed_dim
    (the query, key and value projections stacked), from U(-a, a) with a = sqrt(6 / (embed_dim +
    3 * embed_dim)) (xavier_uniform_); `in_proj_bias`, 3 * embed_dim zeros; `out_proj`, a
    `Linear(embed_dim, embed_dim)` with torch.nn.Linear's weights and a zero bias. `bias=False`
    drops both biases. Weights come from `random.Random(seed)`, or the global `random` when None.
    Everything after `num_heads` is keyword-only, because PyTorch's third argument is `dropout`,
    which nn does not have (attention here never drops weights).

    `attention(query, key, value, is_causal=False, attn_mask=None, need_weights=True,
    average_attn_weights=True)` returns `(outputs, weights)`: `outputs` has a list of embed_dim
    Values per query position (L of them); `weights` is L x S (S key positions), averaged over
    the heads, or num_heads x L x S with `average_attn_weights=False`, or None without
    `need_weights`. `attn_mask` is L x S: booleans (True: may not attend, as in PyTorch) or numbers
    added to the scores (-inf: may not attend). `is_causal=True` forbids every key position after
    the query's own (s > l); PyTorch asks for the causal `attn_mask` as well and treats
    `is_causal` as a hint, nn needs no mask, and applies both when both are given. A query
    position that may attend to nothing is refused (torch's softmax would give NaN). Training
    and eval mode compute the same.

    The softmax subtracts each row's largest score, so no exponential overflows. The largest is
    a node (`max_values`), not a number read from the data: a tape (`autograd.trace`, compiled
    training) then recomputes it for every input, where it would refuse a constant taken from
    the data. Its gradient, 1 - the sum of the probabilities, is 0 up to rounding.

    >>> attention = MultiheadAttention(4, 2, seed=0)
    >>> x = [[1.0, 0.0, -1.0, 0.5], [0.5, 0.5, 0.0, -1.0], [0.0, 1.0, 1.0, 0.0]]
    >>> outputs, weights = attention(x, x, x, is_causal=True)
    >>> len(outputs), len(outputs[0]), [round(w.data, 3) for w in weights[0]]
    (3, 4, [1.0, 0.0, 0.0])
    >>> names = list(attention.state_dict())
    >>> names[47], names[48], names[60], len(names)
    ('in_proj_weight.11.3', 'in_proj_bias.0', 'out_proj.weight.0.0', 80)
    """

    config_keys = ("embed_dim", "num_heads", "bias")

    def __init__(
        self, embed_dim: int, num_heads: int, *, bias: bool = True, seed: int | None = None
    ) -> None:
        self.embed_dim = positive_size("MultiheadAttention: embed_dim", embed_dim)
        self.num_heads = positive_size("MultiheadAttention: num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                f"num_heads={num_heads}; each head takes embed_dim // num_heads entries"
            )
        self.head_dim = self.embed_dim // self.num_heads
        rng, size = random_source_for(seed), self.embed_dim
        bound = math.sqrt(6.0 / (size + 3 * size))
        self.in_proj_weight = [
            [Value(rng.uniform(-bound, bound)) for _ in range(size)] for _ in range(3 * size)
        ]
        self.in_proj_bias: list[Value] | None = None
        if boolean_flag("bias", bias):
            self.in_proj_bias = [Value(0.0) for _ in range(3 * size)]
        self.out_proj = Linear(size, size, bias, seed=rng.getrandbits(64))
        for b in self.out_proj.bias or []:
            b.data = 0.0
        # Each head's scores, softmax and sums, boxed "head h" in graph drawings
        self._heads = [graph_scope(self, f"head {h}") for h in range(self.num_heads)]

    # --- the full forward -------------------------------------------------------------------
    def forward(
        self,
        query: Steps,
        key: Steps,
        value: Steps,
        *,
        is_causal: bool = False,
        attn_mask: Any = None,
        need_weights: bool = True,
        average_attn_weights: bool = True,
    ) -> tuple[list[list[Value]], Any]:
        n_queries = self._check_steps("query", query)
        n_keys = self._check_steps("key", key)
        if self._check_steps("value", value) != n_keys:
            raise ValueError(
                f"{self._name()}: key and value must have as many steps, got {n_keys} keys "
                f"and {len(value)} values"
            )
        boolean_flag("is_causal", is_causal)
        rows = offsets(self._name(), attn_mask, is_causal, n_queries, n_keys)
        queries = self._project(query, 0)
        keys, values = self._project(key, 1), self._project(value, 2)
        d, heads = self.head_dim, range(self.num_heads)
        head_keys = [[k[h * d : (h + 1) * d] for k in keys] for h in heads]
        head_columns = [_columns([v[h * d : (h + 1) * d] for v in values]) for h in heads]
        outputs, weights = [], [[] for _ in heads]
        for i, q in enumerate(queries):
            row = None if rows is None else rows[i]
            allowed = _allowed(row, n_keys)
            constants = None if row is None else [row[s] for s in allowed]
            concatenated = []
            for h in heads:
                ks, columns = head_keys[h], head_columns[h]
                if len(allowed) < n_keys:
                    ks = [ks[s] for s in allowed]
                    columns = [[column[s] for s in allowed] for column in columns]
                with self._heads[h]:
                    p, out = _attend(q[h * d : (h + 1) * d], ks, columns, constants)
                concatenated += out
                if need_weights:
                    weights[h].append(_spread(p, allowed, n_keys))
            outputs.append(self.out_proj(concatenated))
        if not need_weights:
            return outputs, None
        if not average_attn_weights:
            return outputs, weights
        return outputs, _average(weights, rows)

    # --- decoding one position at a time ----------------------------------------------------
    def new_cache(self) -> KVCache:
        """An empty key/value cache for `step`: one per sequence being decoded.

        >>> attention = MultiheadAttention(2, 1, seed=0)
        >>> cache = attention.new_cache()
        >>> y = attention.step([1.0, 0.0], cache)
        >>> len(cache), len(attention.step([0.0, 1.0], cache)), len(cache)
        (1, 2, 2)
        """
        return KVCache(self)

    def step(self, x: Sequence[Value | float], cache: KVCache) -> list[Value]:
        """Self-attention for the next position of a sequence: `x`'s key and value join `cache`,
        and its query attends to every position held (its own included), as a causal forward
        of the whole sequence computes for its last position. Returns that position's output.

        A step costs the projections of one position and one score, one exponential and one
        product per cached position and head: the prefix is not computed again. Outputs equal
        `self(xs, xs, xs, is_causal=True)[0]`'s, position by position.
        """
        if not isinstance(cache, KVCache) or cache.owner is not self:
            raise ValueError(
                f"{self._name()}.step: cache must come from this module's new_cache(), got "
                f"{cache!r:.80}"
            )
        self._check_step("x", x)
        q, k, v = self._project([x], 0)[0], self._project([x], 1)[0], self._project([x], 2)[0]
        cache.append(k, v)
        d, concatenated = self.head_dim, []
        for h in range(self.num_heads):
            with self._heads[h]:
                concatenated += _attend(q[h * d : (h + 1) * d], cache.keys[h], cache.columns[h])[1]
        return self.out_proj(concatenated)

    # --- pieces -----------------------------------------------------------------------------
    def _project(self, steps: Steps, block: int) -> list[list[Value]]:
        """Block 0 (queries, scaled by 1 / sqrt(head_dim) as PyTorch scales them), 1 (keys) or
        2 (values) of the input projection, for every step."""
        size = self.embed_dim
        rows = self.in_proj_weight[block * size : (block + 1) * size]
        if self.in_proj_bias is None:
            projected = [matvec(rows, x) for x in steps]
        else:
            biases = self.in_proj_bias[block * size : (block + 1) * size]
            projected = [[y + b for y, b in zip(matvec(rows, x), biases)] for x in steps]
        if block == 0:
            scale = math.sqrt(1.0 / self.head_dim)
            projected = [[v * scale for v in q] for q in projected]
        return projected

    def _check_steps(self, what: str, steps: Any) -> int:
        if not isinstance(steps, (list, tuple)):
            raise TypeError(
                f"{self._name()}: {what} must be a sequence, a list of steps each a list of "
                f"embed_dim={self.embed_dim} numbers, got {type(steps).__name__} {steps!r:.80}"
            )
        if not steps:
            raise ValueError(f"{self._name()}: {what} is an empty sequence; it needs a step")
        for t, step in enumerate(steps):
            self._check_step(f"{what}[{t}]", step)
        return len(steps)

    def _check_step(self, what: str, step: Any) -> None:
        if not isinstance(step, (list, tuple)):
            raise TypeError(
                f"{self._name()}: {what} must be a list of embed_dim={self.embed_dim} numbers, "
                f"got {type(step).__name__} {step!r:.80}"
            )
        if len(step) != self.embed_dim:
            raise ValueError(
                f"{self._name()}: {what} has {len(step)} entries, expected "
                f"embed_dim={self.embed_dim}"
            )

    def _name(self) -> str:
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    def config(self) -> dict[str, Any]:
        bias = self.in_proj_bias is not None
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "bias": bias}

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        size = positive_size("embed_dim", config["embed_dim"])
        positive_size("num_heads", config["num_heads"])
        return 4 * size * (size + boolean_flag("bias", config["bias"]))

    def __repr__(self) -> str:
        return "MultiheadAttention(\n  (out_proj): " + repr(self.out_proj) + "\n)"


def _attend(
    q: list[Value], keys: Sequence[list[Value]], columns: Sequence[list[Value]], constants=None
) -> tuple[list[Value], list[Value]]:
    """One head at one query position: the softmax `p` of the scores q . k (plus `constants`,
    the mask's numbers, when given) over `keys`, and the output, p . column for each column."""
    scores = [dot(q, k) for k in keys]
    if constants is not None and any(constants):
        scores = [s + c for s, c in zip(scores, constants)]
    m = max_values(scores)
    exps = [(s - m).exp() for s in scores]
    inverse = 1.0 / sum_values(exps)
    p = [e * inverse for e in exps]
    return p, [dot(p, column) for column in columns]


def _columns(rows: list[list[Value]]) -> list[list[Value]]:
    """The columns of a list of rows (entry j of every row, for each j)."""
    return [list(column) for column in zip(*rows)]


def _allowed(row: list[float | None] | None, n_keys: int) -> Sequence[int]:
    """The key positions a query's row of offsets lets it attend to (all when None)."""
    return range(n_keys) if row is None else [s for s, c in enumerate(row) if c is not None]


def _spread(p: list[Value], allowed: Sequence[int], n_keys: int) -> list[Value]:
    """A row of weights over all `n_keys` positions: `p` where allowed, exact zeros elsewhere."""
    if len(p) == n_keys:
        return p
    row = [Value(0.0) for _ in range(n_keys)]
    for s, weight in zip(allowed, p):
        row[s] = weight
    return row


def _average(weights: list[list[list[Value]]], offsets: Offsets | None) -> list[list[Value]]:
    """The heads' weights averaged, entry by entry (masked entries stay exact zeros)."""
    if len(weights) == 1:
        return weights[0]
    share = 1.0 / len(weights)
    return [
        [
            Value(0.0) if offsets is not None and offsets[i][s] is None
            else sum_values(entries) * share
            for s, entries in enumerate(zip(*rows))
        ]
        for i, rows in enumerate(zip(*weights))
    ]  # fmt: skip
