"""GPT.generate(..., compile=True): one tape per position, the eager tokens, many rows at once."""

import copy
import math
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd.tape.tape import Tape
from nn import GPT
from nn.data import language_model_pairs
from nn.losses import sequence_cross_entropy
from nn.models.decoding import CompiledRows, DecodeTapes, Sampling
from nn.models.sampling import sample_token, sample_tokens
from nn.optim import Adam
from nn.train import fit

NAMES = [[0, 1, 2, 3, 0], [0, 4, 5, 0], [0, 3, 1, 0], [0, 2, 2, 5, 4, 1, 0], [0, 5, 0]]


def gpt2_style(seed=0):
    return GPT(vocab_size=7, block_size=8, n_embd=8, n_head=2, n_layer=2, seed=seed)


def microgpt_style(seed=0):
    return GPT(6, 8, 8, 2, 1, norm="rmsnorm", norm_weights=False, mlp="relu", bias=False,
               embedding_norm=True, final_norm=False, init_std=0.3, seed=seed)  # fmt: skip


@pytest.fixture(scope="module")
def models():
    """Both layouts, their tapes traced once for the whole module."""
    return {"gpt2": gpt2_style(), "microgpt": microgpt_style()}


# --- the eager tokens ---------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["gpt2", "microgpt"])
@pytest.mark.parametrize(
    ("prompt", "temperature", "top_k", "stop_token"),
    [
        ([0], 1.0, None, None),
        ([0], 0.5, 3, 0),
        ([1, 2, 3], 2.0, None, 0),
        ([0, 4, 4, 1, 2], 0.8, 1, None),
        ([5] * 8, 1.0, 2, None),  # a full block: one token more, no step after it
    ],
)
def test_compiled_generation_gives_the_eager_tokens(models, layout, prompt, temperature, top_k,
                                                    stop_token):  # fmt: skip
    model = models[layout]
    for seed in range(4):
        eager = model.generate(prompt, 12, temperature, top_k, seed, stop_token)
        compiled = model.generate(prompt, 12, temperature, top_k, seed, stop_token, compile=True)
        assert compiled == eager
        if stop_token is not None and stop_token in eager[len(prompt) :]:
            assert eager[-1] == stop_token
    assert len(model.generate([0], 50, seed=1, compile=True)) == model.block_size + 1
    assert model.generate([0, 1], 0, compile=True) == [0, 1]


def test_compiled_logits_equal_the_eager_steps_to_1e_12(models):
    model = models["gpt2"]
    tapes = DecodeTapes(model)
    tapes.refresh()
    sequences = [[3, 1, 4, 1, 5, 6, 2, 0], [0, 2, 6, 6, 1, 3, 5, 4]]
    rows = CompiledRows(tapes, len(sequences), Sampling(1.0, None, [random] * 2))
    caches = [model.new_cache() for _ in sequences]
    for t in range(model.block_size):
        compiled = rows.feed([0, 1], [s[t] for s in sequences])
        for row, (sequence, cache) in enumerate(zip(sequences, caches)):
            eager = [z.data for z in model.step(sequence[t], cache)]
            assert np.allclose(compiled[row], eager, rtol=0, atol=1e-12)
            keys, values = cache.layers[1].last()  # the second block's new key and value
            assert np.allclose(rows.keys[1, row, t], [k.data for k in keys], rtol=0, atol=1e-12)
            assert np.allclose(rows.values[1, row, t], [v.data for v in values], rtol=0, atol=1e-12)


# --- many rows at once --------------------------------------------------------------------------
@pytest.mark.parametrize("compile", [False, True])
def test_row_r_of_a_batch_is_the_sample_of_seed_plus_r(models, compile):
    model = models["microgpt"]
    many = model.generate([0], 10, 0.7, None, 40, 0, num_samples=6, compile=compile)
    assert many == [model.generate([0], 10, 0.7, None, 40 + r, 0) for r in range(6)]
    assert len({tuple(row) for row in many}) > 1
    assert model.generate([0], 10, seed=3, num_samples=1, compile=compile) == [
        model.generate([0], 10, seed=3)
    ]


@pytest.mark.parametrize("compile", [False, True])
def test_prompts_of_different_lengths_in_one_batch(models, compile):
    model = models["gpt2"]
    prompts = [[0], [1, 2, 3], [4, 5], [6, 6, 6, 6, 6, 6, 6]]
    found = model.generate(prompts, 6, seed=9, stop_token=3, compile=compile)
    assert found == [model.generate(p, 6, seed=9 + r, stop_token=3) for r, p in enumerate(prompts)]
    paired = model.generate(prompts[:2], 4, seed=2, num_samples=3, compile=compile)
    rows = [p for p in prompts[:2] for _ in range(3)]  # each prompt's samples together
    assert paired == [model.generate(p, 4, seed=2 + r) for r, p in enumerate(rows)]


def test_without_a_seed_every_row_draws_from_the_global_random_in_turn(models):
    model = models["microgpt"]
    random.seed(5)
    eager = model.generate([[0], [1, 2]], 8, num_samples=3)
    random.seed(5)
    assert model.generate([[0], [1, 2]], 8, num_samples=3, compile=True) == eager


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(2, 9),
    st.sampled_from([0.3, 1.0, 2.5]),
    st.one_of(st.none(), st.integers(1, 9)),
    st.integers(0, 2**32),
)
def test_sample_tokens_draws_what_sample_token_draws(rows, width, temperature, top_k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(rows, width))
    logits[:, 0] = logits[:, -1]  # a tie, which top-k keeps both sides of
    top_k = None if top_k is None else min(top_k, width)
    sources = [random.Random(seed + r) for r in range(rows)]
    again = [random.Random(seed + r) for r in range(rows)]
    found = sample_tokens(logits, temperature, top_k, sources)
    assert found == [sample_token(row.tolist(), temperature, top_k, s) for row, s in
                     zip(logits, again)]  # fmt: skip
    assert [s.random() for s in sources] == [s.random() for s in again]  # one draw a row each


def test_sample_tokens_refuses_logits_that_are_not_finite():
    with pytest.raises(ValueError, match="row 1 are not finite"):
        sample_tokens(np.array([[0.0, 1.0], [math.nan, 1.0]]), 1.0, None, [random] * 2)


# --- the tapes: one position each, one call per new token ---------------------------------------
def test_each_new_token_is_one_tape_call_of_one_position(monkeypatch):
    model = gpt2_style(seed=3)
    calls = []
    call = Tape.__call__

    def counted(tape, *args, params=None):
        calls.append((tape, [np.shape(a) for a in args]))
        return call(tape, *args, params=params)

    monkeypatch.setattr(Tape, "__call__", counted)
    rows = model.generate([0, 1], max_new_tokens=4, num_samples=5, seed=0, compile=True)
    tapes = model._decoding.tapes
    # 2 prompt positions, then a step for each new token but the last: 5 calls for 5 rows
    assert [tapes[t] for t in range(5)] == [tape for tape, _ in calls]
    n, layers = model.n_embd, model.n_layer
    for t, (_, shapes) in enumerate(calls):  # the token's one-hot, the earlier keys and values
        assert shapes == [(8, model.vocab_size)] + [(8, t * n)] * (2 * layers) * (t > 0)
    assert all(len(row) == 6 for row in rows)
    sizes = [len(tapes[t].program.nodes) for t in range(5)]
    growth = [b - a for a, b in zip(sizes, sizes[1:])]
    # one cached position more: its 2 x n_embd arguments and, per head, a score, shift,
    # exponential and weight, and a term more in each value dot (which stays one node)
    assert growth == [growth[0]] * 4 and growth[0] == layers * (2 * n + 4 * model.n_head)


def test_tapes_are_traced_once_and_kept(monkeypatch):
    model = gpt2_style(seed=4)
    first = model.generate([0], 5, seed=0, num_samples=3, compile=True)
    kept = dict(model._decoding.tapes)
    assert sorted(kept) == list(range(5))

    def refuse(*args, **kwargs):
        raise AssertionError("traced again")

    monkeypatch.setattr("nn.models.decoding.trace", refuse)
    assert model.generate([0], 5, seed=0, num_samples=3, compile=True) == first
    assert model._decoding.tapes == kept


def test_a_model_with_tapes_pickles_and_copies_without_them():
    model = gpt2_style(seed=5)
    tokens = model.generate([2], 6, seed=1, compile=True)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert "_decoding" not in vars(other)
        assert other.generate([2], 6, seed=1, compile=True) == tokens
        assert other.generate([2], 6, seed=1) == tokens


def test_compiled_generation_records_no_graph_and_no_gradient():
    model = gpt2_style(seed=6)
    model.generate([0], 4, seed=0, num_samples=2, compile=True)
    assert all(p.grad == 0.0 for p in model.parameters())


# --- new weights --------------------------------------------------------------------------------
@pytest.mark.parametrize("compile_training", [False, True])
def test_generation_after_training_reads_the_new_weights(compile_training):
    model = microgpt_style(seed=7)
    before = [model.generate([0], 8, seed=s, compile=True) for s in range(6)]
    before_logits = [z.data for z in model.step(0, model.new_cache())]
    fit(model, sequence_cross_entropy, Adam(model.parameters(), lr=0.05),
        language_model_pairs(NAMES, 8), epochs=3, batch_size=1, progress=False,
        compile=compile_training)  # fmt: skip
    assert [z.data for z in model.step(0, model.new_cache())] != before_logits
    after = [model.generate([0], 8, seed=s, compile=True) for s in range(6)]
    assert after == [model.generate([0], 8, seed=s) for s in range(6)]
    assert after != before


def test_generation_after_load_state_dict_reads_the_loaded_weights():
    model, other = gpt2_style(seed=8), gpt2_style(seed=9)
    model.generate([0], 6, seed=0, compile=True)
    model.load_state_dict(other.state_dict())
    expected = [other.generate([0], 6, seed=s) for s in range(5)]
    assert [model.generate([0], 6, seed=s, compile=True) for s in range(5)] == expected


# --- errors, as eagerly -------------------------------------------------------------------------
@pytest.mark.parametrize("compile", [False, True])
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m, c: m.generate([0], 3, temperature=0.0, compile=c), ValueError, "temperature"),
        (lambda m, c: m.generate([0], 3, top_k=0, compile=c), ValueError, "top_k must be between"),
        (lambda m, c: m.generate([0], -1, compile=c), ValueError, "max_new_tokens must be >= 0"),
        (lambda m, c: m.generate([0], 3, stop_token=9, compile=c), ValueError, "stop_token = 9"),
        (lambda m, c: m.generate([0] * 9, 3, compile=c), ValueError, "prompt has 9 tokens"),
        (lambda m, c: m.generate([0, 7], 3, compile=c), ValueError, r"prompt\[1\] = 7 is not in"),
        (lambda m, c: m.generate([], 3, compile=c), ValueError, "prompt is empty"),
        (lambda m, c: m.generate([[0], [1, 9]], 3, compile=c), ValueError, r"prompt\[1\]\[1\] = 9"),
        (lambda m, c: m.generate([[0], []], 3, compile=c), ValueError, r"prompt\[1\] is empty"),
        (lambda m, c: m.generate([[0], 1], 3, compile=c), TypeError, r"prompt\[1\] must be a list"),
        (lambda m, c: m.generate([0], 3, num_samples=0, compile=c), ValueError, "num_samples"),
        (lambda m, c: m.generate([0], 3, num_samples=2.0, compile=c), TypeError, "num_samples"),
        (lambda m, c: m.generate([0], 3, seed=1.5, compile=c), TypeError, "seed must be an int"),
    ],
)
def test_bad_input_is_refused_as_eagerly(call, error, message, compile):
    model = gpt2_style()
    with pytest.raises(error, match=message):
        call(model, compile)
    assert "_decoding" not in vars(model)  # refused before anything was traced


def test_compile_must_be_a_flag():
    with pytest.raises(TypeError, match="compile must be True or False"):
        gpt2_style().generate([0], 3, compile="yes")
