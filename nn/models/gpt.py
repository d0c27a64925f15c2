"""GPT: a decoder-only transformer language model (Radford et al., 2018 and 2019), one sequence
of token indices at a time, and its sampler with a key/value cache.

    x_t = wte[token_t] + wpe[t]                        (token and position embeddings)
    x_t = norm_e(x_t)                                  (microgpt's; GPT-2 has none here)
    x = block(x), n_layer times                        (`nn.models.blocks.Block`, pre-norm)
    x_t = norm_f(x_t)                                  (GPT-2's; microgpt has none here)
    logits_t = lm_head(x_t)                            (a Linear to vocab_size, no bias)

logits_t scores the token that follows position t, having seen positions 0..t only.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

from autograd import Value, graph_scope, no_grad
from nn.layers.arguments import boolean_flag, finite_real, positive_size, random_source_for
from nn.layers.embedding import Embedding
from nn.layers.linear import Linear
from nn.model_files import saveable
from nn.models.blocks import ACTIVATIONS, NORMS, Block, make_norm
from nn.models.decoding import CompiledRows, DecodeTapes, EagerRows, Sampling, sample_rows
from nn.models.sampling import check_sampling, row_sources
from nn.module import Module
from nn.tape_requests import one_hot_row, tracing


class GPTCache:
    """What `GPT.step` keeps between positions: one `KVCache` per block, and the position count
    (`len(cache)`). Made by `model.new_cache()`, for one sequence of that model."""

    __slots__ = ("owner", "layers")

    def __init__(self, owner: GPT) -> None:
        self.owner = owner
        self.layers = [block.attn.new_cache() for block in owner.blocks]

    def __len__(self) -> int:
        return len(self.layers[0])

    def __repr__(self) -> str:
        return f"GPTCache({len(self)} positions)"


@saveable
class GPT(Module):
    """A GPT language model: `model(tokens)` gives, for every position t of `tokens` (a list of
    at most `block_size` ints below `vocab_size`), the `vocab_size` logits of the next token.

    `n_layer` blocks of `n_head`-head causal self-attention and an MLP of 4 n_embd hidden units
    (see the module docstring). The options choose between GPT-2's layout (the defaults) and
    microgpt's (`GPT.microgpt`): `norm` ("layernorm" or "rmsnorm"), `norm_weights` (the norms'
    elementwise_affine), `norm_eps`, `mlp` ("gelu" or "relu"), `bias` (biases in the attention,
    the MLP and a LayerNorm; the head never has one), `embedding_norm` (a norm after the
    embeddings) and `final_norm` (a norm before the head). Every weight matrix, the embeddings
    included, is drawn from N(0, init_std) (GPT-2's 0.02 by default; microgpt's 0.08), every
    bias starts at 0 and every norm weight at 1, from `random.Random(seed)` (the global `random`
    when None).

    State dict names: `wte.weight.i.j`, `wpe.weight.t.j`, `norm_e` (when present), then for
    block b `blocks.b.norm_1`, `blocks.b.attn` (MultiheadAttention's PyTorch layout),
    `blocks.b.norm_2`, `blocks.b.mlp.0` and `blocks.b.mlp.2`, then `norm_f` (when present) and
    `lm_head.weight.i.j`. A sequence longer than `block_size`, or a token that is not in the
    vocabulary, is a ValueError that says so.

    >>> model = GPT(vocab_size=5, block_size=8, n_embd=8, n_head=2, n_layer=1, seed=0)
    >>> logits = model([0, 3, 1])
    >>> len(logits), len(logits[0])
    (3, 5)
    >>> len(model.parameters())
    1032
    """

    config_keys = (
        "vocab_size", "block_size", "n_embd", "n_head", "n_layer", "norm", "norm_weights",
        "norm_eps", "mlp", "bias", "embedding_norm", "final_norm", "init_std",
    )  # fmt: skip

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_embd: int,
        n_head: int,
        n_layer: int,
        *,
        norm: str = "layernorm",
        norm_weights: bool = True,
        norm_eps: float = 1e-5,
        mlp: str = "gelu",
        bias: bool = True,
        embedding_norm: bool = False,
        final_norm: bool = True,
        init_std: float = 0.02,
        seed: int | None = None,
    ) -> None:
        self.vocab_size = positive_size("GPT: vocab_size", vocab_size)
        self.block_size = positive_size("GPT: block_size", block_size)
        self.n_embd = positive_size("GPT: n_embd", n_embd)
        self.n_head = positive_size("GPT: n_head", n_head)
        self.n_layer = positive_size("GPT: n_layer", n_layer)
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPT: n_embd={n_embd} is not divisible by n_head={n_head}; each head takes "
                "n_embd // n_head entries"
            )
        settings = _checked_settings(norm, norm_weights, norm_eps, mlp, bias, init_std)
        self._settings = settings | {
            "embedding_norm": boolean_flag("GPT: embedding_norm", embedding_norm),
            "final_norm": boolean_flag("GPT: final_norm", final_norm),
        }
        rng = random_source_for(seed)
        norm_of = (settings["norm"], self.n_embd, norm_eps, norm_weights, bias)
        self.wte = Embedding(self.vocab_size, self.n_embd, seed=0)
        self.wpe = Embedding(self.block_size, self.n_embd, seed=0)
        self.norm_e = make_norm(*norm_of) if embedding_norm else None
        block_settings = {key: settings[key] for key in ("norm", "norm_weights", "norm_eps")}
        self.blocks = [
            Block(self.n_embd, self.n_head, **block_settings, mlp=mlp, bias=bias)
            for _ in range(self.n_layer)
        ]
        self.norm_f = make_norm(*norm_of) if final_norm else None
        self.lm_head = Linear(self.n_embd, self.vocab_size, bias=False, seed=0)
        for i, block in enumerate(self.blocks):
            block._scope_name = f"block {i}"
        for name in ("norm_e", "norm_f", "lm_head"):  # graph drawings name boxes as these
            if getattr(self, name) is not None:
                getattr(self, name)._scope_name = name
        self._embedding = graph_scope(self, "embedding")  # drawings box wte + wpe (and norm_e)
        matrices = [self.wte.weight, self.wpe.weight]
        matrices += [m for block in self.blocks for m in block.matrices()]
        for matrix in [*matrices, self.lm_head.weight]:
            for row in matrix:
                for weight in row:
                    weight.data = rng.gauss(0.0, settings["init_std"])
        for bias_row in (b for block in self.blocks for b in block.biases()):
            for b in bias_row:
                b.data = 0.0

    @classmethod
    def microgpt(cls, vocab_size: int, *, seed: int | None = None) -> GPT:
        """microgpt's model (Karpathy, 2026): n_embd 16, 4 heads, 1 layer, block size 16,
        RMSNorm without weights (eps 1e-5) after the embeddings and before the attention and
        the MLP, a ReLU MLP, no biases, no final norm, weights from N(0, 0.08).

        >>> model = GPT.microgpt(27, seed=0)
        >>> len(model.parameters())  # microgpt's 4,192 for its 27 tokens
        4192
        """
        return cls(
            vocab_size, block_size=16, n_embd=16, n_head=4, n_layer=1, norm="rmsnorm",
            norm_weights=False, mlp="relu", bias=False, embedding_norm=True, final_norm=False,
            init_std=0.08, seed=seed,
        )  # fmt: skip

    # --- the forward, whole and one position at a time ---------------------------------------
    def forward(self, tokens: Sequence[int]) -> list[list[Value]]:
        self._check_tokens(tokens, "tokens")
        x = [self._embed(token, t) for t, token in enumerate(tokens)]
        for block in self.blocks:
            x = block(x)
        if self.norm_f is not None:
            x = self.norm_f(x)
        return [self.lm_head(step) for step in x]

    def attention_weights(self, tokens: Sequence[int]) -> list[list[list[list[float]]]]:
        """How much each position attends to each earlier one, as the forward computes it:
        `weights[layer][head][l][s]`, the softmax weight position l gives position s (0 for
        s > l; each row sums to 1), for heatmaps. Nothing is recorded (`no_grad`).

        >>> model = GPT(5, 8, 8, 2, 1, seed=0)
        >>> weights = model.attention_weights([0, 3, 1])
        >>> len(weights), len(weights[0]), len(weights[0][0]), weights[0][1][0]
        (1, 2, 3, [1.0, 0.0, 0.0])
        """
        self._check_tokens(tokens, "tokens")
        weights = []
        with no_grad():
            x = [self._embed(token, t) for t, token in enumerate(tokens)]
            for block in self.blocks:
                h = block.norm_1(x)
                _, heads = block.attn(h, h, h, is_causal=True, average_attn_weights=False)
                weights.append([[[w.data for w in row] for row in head] for head in heads])
                x = block(x)
        return weights

    def new_cache(self) -> GPTCache:
        """An empty cache for `step`, one per sequence being decoded.

        >>> model = GPT(5, 4, 4, 2, 1, seed=0)
        >>> cache = model.new_cache()
        >>> logits = model.step(2, cache)
        >>> len(logits), len(cache)
        (5, 1)
        """
        return GPTCache(self)

    def step(self, token: int, cache: GPTCache) -> list[Value]:
        """The logits after one more token: `token` joins the sequence `cache` holds, and the
        result is what `self(sequence)[-1]` gives, at the cost of one position (the attention
        reads the cached keys and values of the earlier ones)."""
        if not isinstance(cache, GPTCache) or cache.owner is not self:
            raise ValueError(
                f"GPT.step: cache must come from this model's new_cache(), got {cache!r:.80}"
            )
        if len(cache) >= self.block_size:
            raise ValueError(
                f"GPT.step: the cache holds block_size={self.block_size} positions already; a "
                "sequence may not be longer"
            )
        self._check_token(token, "token")
        return self._step(token, cache)

    def _step(self, token: int | list[Value], cache: GPTCache) -> list[Value]:
        """`step` unchecked; `token` may also be its one-hot vector (compiled decoding)."""
        x = self._embed(token, len(cache))
        for block, layer_cache in zip(self.blocks, cache.layers):
            x = block.step(x, layer_cache)
        if self.norm_f is not None:
            x = self.norm_f(x)
        return self.lm_head(x)

    def generate(
        self,
        prompt: Sequence[int] | Sequence[Sequence[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        stop_token: int | None = None,
        *,
        num_samples: int | None = None,
        compile: bool = False,
    ) -> list[int] | list[list[int]]:
        """The prompt followed by up to `max_new_tokens` tokens sampled one after another.

        Each new token is drawn from softmax(logits / temperature) over the `top_k` most likely
        tokens (all when None; `nn.models.sampling`), with `random.Random(seed)` (the global
        `random` when None), so a seed repeats a sample. Sampling stops early after
        `stop_token`, which is kept at the end, or when the sequence fills the block: the
        logits of block_size positions predict one more token, so the result holds at most
        block_size + 1 tokens. No graph is recorded (`no_grad`), and each token costs one
        position through the model (`step`, with a key/value cache), not the whole sequence.

        Many at once: `prompt` may be a list of prompts (of any lengths, as the rows of
        nanoGPT's `idx`), and `num_samples=N` samples N continuations of each (Hugging Face's
        `num_return_sequences`): the result is then a list of token lists, each prompt's N
        together. Row r draws from `random.Random(seed + r)`, so it is what `generate` gives
        for that prompt alone with seed + r (with seed None every row draws from `random`).

        `compile=True` runs each position through a tape (`nn.models.decoding`, NumPy needed):
        one tape call advances every row at that position by one token. The tapes are traced
        on first use (one per position) and kept, and read the weights afresh at every call;
        the tokens are the eager ones, the same draws in the same order.

        >>> model = GPT(5, 8, 8, 2, 1, seed=0)
        >>> tokens = model.generate([0], max_new_tokens=4, seed=1)
        >>> len(tokens), tokens[0], tokens == model.generate([0], 4, seed=1)
        (5, 0, True)
        >>> rows = model.generate([0], 4, seed=1, num_samples=3, compile=True)
        >>> rows[0] == tokens, rows[2] == model.generate([0], 4, seed=3)
        (True, True)
        """
        prompts, many = self._check_prompts(prompt)
        max_new_tokens, temperature, top_k = check_sampling(
            max_new_tokens, temperature, top_k, self.vocab_size
        )
        if stop_token is not None:
            self._check_token(stop_token, "stop_token")
        if num_samples is not None:
            count, many = positive_size("generate: num_samples", num_samples), True
            prompts = [p for p in prompts for _ in range(count)]
        compile = boolean_flag("generate: compile", compile)
        sampling = Sampling(temperature, top_k, row_sources(seed, len(prompts)))
        if compile:
            tapes = self.__dict__.get("_decoding")
            if tapes is None:
                tapes = self._decoding = DecodeTapes(self)
            tapes.refresh()
            decoder: Any = CompiledRows(tapes, len(prompts), sampling)
        else:
            decoder = EagerRows(self, len(prompts), sampling)
        rows = sample_rows(prompts, max_new_tokens, stop_token, self.block_size, decoder)
        return rows if many else rows[0]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # without the tapes of compiled generation: traced again
        return {key: value for key, value in state.items() if key != "_decoding"}

    # --- pieces -------------------------------------------------------------------------------
    def _embed(self, token: int | list[Value], position: int) -> list[Value]:
        """Token and position embeddings (and norm_e); `token` an int, or a tape's one-hot
        vector of it, which picks the row of wte as compiled training's lookups do."""
        with self._embedding:
            one_hot = isinstance(token, list)
            row = one_hot_row(self.wte.weight, token) if one_hot else self.wte(token)
            x = [t + p for t, p in zip(row, self.wpe.weight[position])]
            return x if self.norm_e is None else self.norm_e(x)

    def _check_prompts(self, prompt: Any) -> tuple[list[Sequence[int]], bool]:
        """The prompts `generate` was given, and whether as a list of prompts."""
        many = isinstance(prompt, (list, tuple)) and bool(prompt)
        many = many and isinstance(prompt[0], (list, tuple))
        prompts = list(prompt) if many else [prompt]
        for i, tokens in enumerate(prompts):
            self._check_tokens(tokens, f"prompt[{i}]" if many else "prompt")
        return prompts, many

    def _check_tokens(self, tokens: Any, what: str) -> None:
        if not isinstance(tokens, (list, tuple)):
            raise TypeError(
                f"GPT: {what} must be a list of token indices, got {type(tokens).__name__} "
                f"{tokens!r:.80}"
            )
        if not tokens:
            raise ValueError(f"GPT: {what} is empty; it needs at least one token")
        if len(tokens) > self.block_size:
            raise ValueError(
                f"GPT: {what} has {len(tokens)} tokens, longer than block_size={self.block_size}"
            )
        for t, token in enumerate(tokens):
            self._check_token(token, f"{what}[{t}]")

    def _check_token(self, token: Any, what: str) -> None:
        if isinstance(token, Value) and tracing() is not None:
            return  # compiled: the tape checks the ids of every batch (nn.train.model_tape)
        if isinstance(token, bool) or not isinstance(token, Integral):
            raise TypeError(f"GPT: {what} must be an int token index, got {token!r:.80}")
        if not 0 <= token < self.vocab_size:
            raise ValueError(
                f"GPT: {what} = {token} is not in the vocabulary (0 to {self.vocab_size - 1})"
            )

    def config(self) -> dict[str, Any]:
        sizes = {key: getattr(self, key) for key in self.config_keys[:5]}
        return sizes | self._settings

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        sizes = ("vocab_size", "block_size", "n_embd", "n_head", "n_layer")
        vocab, block, n, _, layers = (positive_size(key, config[key]) for key in sizes)
        settings = _checked_settings(*(config[key] for key in _SETTINGS))
        bias = settings["bias"]
        norm = n * settings["norm_weights"] * (1 + (settings["norm"] == "layernorm" and bias))
        attention = 4 * n * (n + bias)
        mlp = 4 * n * (n + bias) + n * (4 * n + bias)
        norms = boolean_flag("embedding_norm", config["embedding_norm"])
        norms += boolean_flag("final_norm", config["final_norm"])
        embeddings_and_head = (2 * vocab + block) * n
        return embeddings_and_head + layers * (attention + mlp + 2 * norm) + norms * norm

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"GPT({shown})"


_SETTINGS = ("norm", "norm_weights", "norm_eps", "mlp", "bias", "init_std")


def _checked_settings(
    norm: Any, norm_weights: Any, norm_eps: Any, mlp: Any, bias: Any, init_std: Any
) -> dict[str, Any]:
    if norm not in NORMS:
        raise ValueError(f"GPT: norm must be one of {', '.join(map(repr, NORMS))}, got {norm!r}")
    if mlp not in ACTIVATIONS:
        known = ", ".join(map(repr, ACTIVATIONS))
        raise ValueError(f"GPT: mlp must be one of {known}, got {mlp!r}")
    eps, std = finite_real("GPT: norm_eps", norm_eps), finite_real("GPT: init_std", init_std)
    if eps < 0 or std < 0:
        raise ValueError(f"GPT: norm_eps and init_std must be >= 0, got {norm_eps!r}, {init_std!r}")
    return {
        "norm": norm, "norm_weights": boolean_flag("GPT: norm_weights", norm_weights),
        "norm_eps": eps, "mlp": mlp, "bias": boolean_flag("GPT: bias", bias), "init_std": std,
    }  # fmt: skip
