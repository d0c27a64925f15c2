"""Sampling from a GPT many sequences at a time, eagerly or through tapes: one tape per position.

`GPT.generate` hands its rows (a prompt each) to `sample_rows`, which feeds every row one token
at a time and draws the next from its logits, with one of two decoders:

- `EagerRows`: a `GPTCache` per row, and `GPT.step` on it, one row after the other.
- `CompiledRows` (`compile=True`): the rows' keys and values in arrays, and for each position
  one tape call that advances every row standing there by one token. Position t's tape
  (`DecodeTapes`) is `GPT.step` at t traced with `autograd.trace`. It takes
    - the token's one-hot vector (vocab_size numbers): the embedding is the product of the table
      with it, exactly the row, as compiled training looks tokens up (`nn.tape_requests`);
    - for each block, the keys and the values of positions 0 to t - 1 (t x n_embd numbers each,
      position by position, the heads side by side; none at t = 0);
  and returns the logits (vocab_size numbers), then for each block position t's key and value
  (n_embd each), which join the arrays. So a new token costs one position, as eagerly, and the
  graph of each tape is the eager step's, so its logits equal `GPT.step`'s to about 1e-12.

The tapes are traced on first use and kept on the model (at most block_size of them). As in
compiled training (`nn.train.compiled.Parameters`), they hold no weights: every generation reads
the data of the model's parameters into one array and passes each tape its entries, so after
training (eager or compiled), an optimizer step or `load_state_dict`, all of which set the
parameters' `.data`, generation uses the new weights. Like an optimizer, the tapes hold the
parameter Values themselves: a parameter replaced by another Value object is not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from autograd import Value, no_grad, trace
from nn.init import RandomSource
from nn.models.sampling import sample_token, sample_tokens


class Sampling(NamedTuple):
    """How each row draws its next token: `sample_token`'s settings, and row r's generator."""

    temperature: float
    top_k: int | None
    sources: Sequence[RandomSource]


def sample_rows(
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    stop_token: int | None,
    block_size: int,
    decoder: EagerRows | CompiledRows,
) -> list[list[int]]:
    """Each prompt followed by its sampled tokens, as `GPT.generate` gives one.

    Rounds: every row still going feeds its next token (`decoder.feed(rows, tokens)` gives
    their logits); the rows whose prompt is all fed then draw a token each, in row order
    (`decoder.draw`), and stop after `stop_token`, `max_new_tokens` tokens or a full block.
    """
    rows = [list(prompt) for prompt in prompts]
    fed, drawn = [0] * len(rows), [0] * len(rows)
    going = list(range(len(rows))) if max_new_tokens else []
    while going:
        logits = decoder.feed(going, [rows[r][fed[r]] for r in going])
        for r in going:
            fed[r] += 1
        picks = [i for i, r in enumerate(going) if fed[r] == len(rows[r])]  # prompts all read
        still = [r for r in going if fed[r] < len(rows[r])]
        drawing = [going[i] for i in picks]
        for r, token in zip(drawing, decoder.draw(logits, picks, drawing)):
            rows[r].append(token)
            drawn[r] += 1
            if token != stop_token and drawn[r] < max_new_tokens and fed[r] < block_size:
                still.append(r)
        going = sorted(still)
    return rows


class EagerRows:
    """A decoder for `sample_rows` by `GPT.step`: a cache per row, no graph recorded."""

    def __init__(self, model: Any, count: int, sampling: Sampling) -> None:
        self.model, self.sampling = model, sampling
        self.caches = [model.new_cache() for _ in range(count)]

    def feed(self, rows: list[int], tokens: list[int]) -> list[list[Value]]:
        with no_grad():
            return [self.model._step(t, self.caches[r]) for r, t in zip(rows, tokens)]

    def draw(self, logits: list[list[Value]], picks: list[int], rows: list[int]) -> list[int]:
        t, k, sources = self.sampling
        return [sample_token(logits[i], t, k, sources[r]) for i, r in zip(picks, rows)]


class DecodeTapes:
    """A GPT's decode step traced once per position (see the module docstring): `tapes` maps
    each position traced so far to its tape. `refresh()` reads the weights before a generation;
    `run(position, one_hot, keys, values)` advances a batch of rows standing at `position`."""

    def __init__(self, model: Any) -> None:
        import numpy as np  # an extra (tapes): only compiled generation needs it

        self.np, self.model = np, model
        self.tapes: dict[int, Any] = {}
        self._entries: dict[int, Any] = {}  # position -> its tape's parameters in `weights`
        self._parameters: list[Value] = model.parameters()
        self.weights = np.zeros(0)

    def refresh(self) -> None:
        """Read the parameters' data, as they are now, for the calls of one generation."""
        parameters = self._parameters
        self.weights = self.np.fromiter((p.data for p in parameters), float, len(parameters))

    def tape(self, position: int) -> Any:
        """Position `position`'s tape, traced on first use."""
        if position not in self.tapes:
            self.tapes[position] = tape = self._trace(position)
            rank = {id(p): i for i, p in enumerate(self._parameters)}
            entries = [rank.get(id(p)) for p in tape.parameters]
            known = None not in entries  # else the tape reads its parameters itself
            self._entries[position] = self.np.array(entries, dtype=self.np.intp) if known else None
        return self.tapes[position]

    def run(self, position: int, one_hot: Any, keys: list[Any], values: list[Any]) -> Any:
        """The tape of `position` on a batch: `one_hot` (rows x vocab_size), and per block the
        cached `keys` and `values` (rows x position * n_embd). Returns rows x (vocab_size +
        2 n_layer n_embd): the logits, then each block's new key and value."""
        tape = self.tape(position)
        entries = self._entries[position]
        cached = [array for pair in zip(keys, values) for array in pair] if position else []
        params = None if entries is None else self.weights[entries]
        return tape(one_hot, *cached, params=params)

    def _trace(self, position: int) -> Any:
        model, n = self.model, self.model.n_embd

        def decode(one_hot: list[Value], *cached: list[Value]) -> list[Value]:
            cache = model.new_cache()
            for layer, keys, values in zip(cache.layers, cached[0::2], cached[1::2]):
                for s in range(position):
                    layer.append(keys[s * n : (s + 1) * n], values[s * n : (s + 1) * n])
            found = list(model._step(one_hot, cache))
            for layer in cache.layers:
                key, value = layer.last()
                found += key + value
            return found

        one_hot = [1.0] + [0.0] * (model.vocab_size - 1)
        cached = [[0.0] * (position * n)] * (2 * model.n_layer) if position else []
        return trace(decode, one_hot, *cached, parameters=self._parameters)


class CompiledRows:
    """A decoder for `sample_rows` through `DecodeTapes`: the rows' keys and values in arrays,
    and one tape call per position among the rows fed (one for all of them when their prompts
    have one length).

    A call's batch is padded to a power of two by repeating its first row (whose extra outputs
    are dropped): a tape keeps its tables for the last batch size it met, and the rows still
    going shrink as they stop, so unpadded, nearly every call would allocate new tables, which
    at a thousand rows cost more than the call itself."""

    def __init__(self, tapes: DecodeTapes, count: int, sampling: Sampling) -> None:
        np, model = tapes.np, tapes.model
        self.np, self.tapes, self.sampling = np, tapes, sampling
        shape = (model.n_layer, count, model.block_size, model.n_embd)
        self.keys, self.values = np.zeros(shape), np.zeros(shape)
        self.positions = [0] * count
        self.vocab_size, self.n_embd = model.vocab_size, model.n_embd

    def feed(self, rows: list[int], tokens: list[int]) -> Any:
        np, n, vocab = self.np, self.n_embd, self.vocab_size
        at: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            at.setdefault(self.positions[r], []).append(i)
        found = np.empty((len(rows), vocab))
        for t, members in at.items():
            m = len(members)
            padded = members + members[:1] * ((1 << (m - 1).bit_length()) - m)
            which = np.array([rows[i] for i in padded], dtype=np.intp)
            one_hot = np.zeros((len(padded), vocab))
            one_hot[np.arange(len(padded)), [tokens[i] for i in padded]] = 1.0
            keys = [layer[which, :t].reshape(len(padded), -1) for layer in self.keys]
            values = [layer[which, :t].reshape(len(padded), -1) for layer in self.values]
            out = self.tapes.run(t, one_hot, keys, values)[:m]
            for b in range(len(self.keys)):
                start = vocab + 2 * b * n
                self.keys[b, which[:m], t] = out[:, start : start + n]
                self.values[b, which[:m], t] = out[:, start + n : start + 2 * n]
            found[members] = out[:, :vocab]
        for r in rows:
            self.positions[r] += 1
        return found

    def draw(self, logits: Any, picks: list[int], rows: list[int]) -> list[int]:
        temperature, top_k, sources = self.sampling
        return sample_tokens(logits[picks], temperature, top_k, [sources[r] for r in rows])
