"""nn.GPT: microgpt's architecture, causality, the key/value cache and generation, files, errors."""

import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, no_grad, sum_values, topological_order
from nn import GPT, Module
from nn.losses import sequence_cross_entropy
from nn.models.sampling import sample_token

SMALL = dict(vocab_size=7, block_size=6, n_embd=8, n_head=2, n_layer=2)


def numbers(logits):
    return [[z.data for z in row] for row in logits]


# --- microgpt's model, as its published description computes it ---------------------------------
def microgpt_logits(model, tokens, attention=None):
    """microgpt's gpt() over `tokens` on floats (its rmsnorm, attention loop, ReLU MLP), reading
    the weights of `GPT.microgpt`: wq, wk, wv are the three blocks of in_proj_weight. Each
    position's attention weights, one list per head, go to `attention` when given."""
    state = model.state_dict()

    def matrix(name, rows, cols):
        return [[state[f"{name}.{i}.{j}"] for j in range(cols)] for i in range(rows)]

    def linear(x, w):
        return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]

    def rmsnorm(x):
        scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    n, heads, d = 16, 4, 4
    wte, wpe = matrix("wte.weight", model.vocab_size, n), matrix("wpe.weight", 16, n)
    in_proj = matrix("blocks.0.attn.in_proj_weight", 3 * n, n)
    wq, wk, wv = in_proj[:n], in_proj[n : 2 * n], in_proj[2 * n :]
    wo = matrix("blocks.0.attn.out_proj.weight", n, n)
    fc1, fc2 = matrix("blocks.0.mlp.0.weight", 4 * n, n), matrix("blocks.0.mlp.2.weight", n, 4 * n)
    head = matrix("lm_head.weight", model.vocab_size, n)
    keys, values, out = [], [], []
    for pos, token in enumerate(tokens):
        x = rmsnorm([t + p for t, p in zip(wte[token], wpe[pos])])
        residual = x
        x = rmsnorm(x)
        q = linear(x, wq)
        keys.append(linear(x, wk))
        values.append(linear(x, wv))
        attended = []
        if attention is not None:
            attention.append([])
        for h in range(heads):
            s = slice(h * d, (h + 1) * d)
            scores = [sum(a * b for a, b in zip(q[s], k[s])) / d**0.5 for k in keys]
            top = max(scores)
            exps = [math.exp(z - top) for z in scores]
            weights = [e / sum(exps) for e in exps]
            if attention is not None:
                attention[-1].append(weights)
            attended += [sum(w * v[s][j] for w, v in zip(weights, values)) for j in range(d)]
        x = [a + b for a, b in zip(linear(attended, wo), residual)]
        residual = x
        hidden = [max(0.0, z) for z in linear(rmsnorm(x), fc1)]
        x = [a + b for a, b in zip(linear(hidden, fc2), residual)]
        out.append(linear(x, head))
    return out


def test_the_microgpt_preset_is_microgpts_model_with_its_4192_parameters():
    model = GPT.microgpt(27, seed=3)
    assert len(model.parameters()) == 4192
    tokens = [26, 4, 12, 12, 0, 26]
    ours, theirs = numbers(model(tokens)), microgpt_logits(model, tokens)
    for row, expected in zip(ours, theirs):
        assert max(abs(a - b) for a, b in zip(row, expected)) < 1e-12


def test_attention_weights_are_microgpts_softmax_weights_per_head_and_zero_after_the_query():
    model = GPT.microgpt(27, seed=3)
    tokens = [26, 4, 12, 12, 0, 26]
    reference = []
    microgpt_logits(model, tokens, attention=reference)
    (layer,) = model.attention_weights(tokens)
    assert len(layer) == 4 and all(len(head) == len(tokens) for head in layer)
    for h, head in enumerate(layer):
        for position, row in enumerate(head):
            expected = reference[position][h] + [0.0] * (len(tokens) - position - 1)
            assert max(abs(a - b) for a, b in zip(row, expected)) < 1e-12
            assert row[position + 1 :] == [0.0] * (len(tokens) - position - 1)


def test_attention_weights_of_a_later_layer_are_those_its_attention_computes_on_the_forward():
    model = GPT(**SMALL, seed=5)
    tokens = [3, 1, 4, 1, 5]
    weights = model.attention_weights(tokens)
    assert len(weights) == 2 and all(type(w) is float for w in weights[1][1][4])
    x = model.blocks[0]([model._embed(token, t) for t, token in enumerate(tokens)])
    h = model.blocks[1].norm_1(x)
    _, heads = model.blocks[1].attn(h, h, h, is_causal=True, average_attn_weights=False)
    assert weights[1] == [[[w.data for w in row] for row in head] for head in heads]
    assert all(abs(sum(row) - 1.0) < 1e-12 for head in weights[1] for row in head)


def test_attention_weights_record_no_graph_and_refuse_bad_tokens():
    model = GPT(**SMALL, seed=5)
    model.attention_weights([1, 2])
    assert all(p.grad == 0.0 for p in model.parameters())
    with pytest.raises(ValueError, match="block_size=6"):
        model.attention_weights([1] * 7)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        model.attention_weights([1, 7])


def test_a_drawing_boxes_each_block_part_and_each_head_in_index_order():
    pytest.importorskip("graphviz")
    from autograd import draw_graph

    model = GPT(**SMALL, seed=5)
    loss = sequence_cross_entropy(model([3, 1, 4]), [1, 4, 1])
    source = draw_graph(loss, collapse=("head", "out_proj", 3, 2), max_nodes=None).source
    boxes = re.findall(r'label="GPT/([^"]*)\\n\d+ nodes"', source)
    blocks = [
        [f"block {b}", f"block {b}/attn", *(f"block {b}/attn/head {h}" for h in (0, 1))]
        + [f"block {b}/attn/out_proj", f"block {b}/mlp", f"block {b}/norm_1", f"block {b}/norm_2"]
        for b in (0, 1)
    ]
    assert boxes == [*blocks[0], *blocks[1], "embedding", "lm_head", "norm_f"]


def test_the_preset_draws_its_weights_from_a_normal_with_microgpts_spread():
    weights = [p.data for p in GPT.microgpt(27, seed=0).parameters()]
    mean = sum(weights) / len(weights)
    std = math.sqrt(sum((w - mean) ** 2 for w in weights) / len(weights))
    assert abs(mean) < 0.01 and 0.075 < std < 0.085  # microgpt's N(0, 0.08)


def test_state_dict_names_are_hierarchical():
    model = GPT(**SMALL, seed=0)
    names = list(model.state_dict())
    assert names[0] == "wte.weight.0.0" and names[-1] == "lm_head.weight.6.7"
    prefixes = list(dict.fromkeys(re.sub(r"(\.\d+)+$", "", name) for name in names))
    assert prefixes[:4] == [
        "wte.weight", "wpe.weight", "blocks.0.norm_1.weight", "blocks.0.norm_1.bias"
    ]  # fmt: skip
    assert "blocks.1.attn.in_proj_weight" in prefixes and "blocks.1.mlp.2.bias" in prefixes
    assert prefixes[-3:] == ["norm_f.weight", "norm_f.bias", "lm_head.weight"]
    assert len(names) == GPT._count_parameters(model.config())


def test_save_and_load_rebuild_the_same_model(tmp_path):
    model = GPT(**SMALL, norm="rmsnorm", mlp="relu", bias=False, embedding_norm=True, seed=1)
    path = tmp_path / "gpt.json"
    model.save(path)
    loaded = GPT.load(path)
    assert loaded.config() == model.config()
    assert loaded.state_dict() == model.state_dict()
    assert numbers(loaded([1, 2, 3])) == numbers(model([1, 2, 3]))
    assert type(Module.load(path)) is GPT


def test_a_seed_repeats_the_weights_and_the_global_stream_serves_without_one():
    assert GPT(**SMALL, seed=5).state_dict() == GPT(**SMALL, seed=5).state_dict()
    random.seed(9)
    first = GPT(**SMALL).state_dict()
    random.seed(9)
    assert GPT(**SMALL).state_dict() == first


# --- causality -------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_a_positions_logits_do_not_change_when_a_later_token_changes(data):
    model = CAUSAL_MODELS[data.draw(st.sampled_from(sorted(CAUSAL_MODELS)))]
    length = data.draw(st.integers(2, model.block_size))
    tokens = data.draw(st.lists(st.integers(0, 6), min_size=length, max_size=length))
    changed_at = data.draw(st.integers(1, length - 1))
    other = list(tokens)
    other[changed_at] = (tokens[changed_at] + data.draw(st.integers(1, 6))) % 7
    before, after = numbers(model(tokens)), numbers(model(other))
    assert before[:changed_at] == after[:changed_at]  # bit for bit
    assert before[changed_at] != after[changed_at]


CAUSAL_MODELS = {
    "gpt2": GPT(**SMALL, seed=2),
    "microgpt-like": GPT(**SMALL, norm="rmsnorm", norm_weights=False, mlp="relu", bias=False,
                         embedding_norm=True, final_norm=False, seed=3),
}  # fmt: skip


# --- the cache and generation ------------------------------------------------------------------
def test_step_by_step_logits_equal_the_whole_forward():
    model = GPT(**SMALL, seed=4)
    tokens = [3, 1, 4, 1, 5, 6]
    cache = model.new_cache()
    stepped = [[z.data for z in model.step(token, cache)] for token in tokens]
    assert stepped == numbers(model(tokens)) and len(cache) == 6


def test_each_new_position_builds_a_constant_number_of_nodes_plus_the_attention_over_the_cache():
    model = GPT(vocab_size=7, block_size=12, n_embd=8, n_head=2, n_layer=2, seed=0)
    tokens = [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]
    cache, seen, counts = model.new_cache(), set(), []
    for token in tokens:
        new = set(topological_order(sum_values(model.step(token, cache)))) - seen
        counts.append(sum(1 for node in new if node.parents))  # operations, not parameters
        seen |= new  # the nodes stay alive: no id is reused
    growth = [b - a for a, b in zip(counts[1:], counts[2:])]
    # per cached position and head: a score (dot), its shift, exp and weight (4 nodes)
    assert growth == [4 * model.n_head * model.n_layer] * len(growth)
    whole_prefix = topological_order(sum_values(model(tokens)[-1]))
    assert counts[-1] < len(whole_prefix) / 5  # what computing the prefix again would cost


def test_generate_reads_the_cache_and_never_runs_the_whole_sequence_again(monkeypatch):
    model = GPT(**SMALL, seed=6)
    expected = model.generate([0, 3], max_new_tokens=4, seed=11)

    def refuse(tokens):
        raise AssertionError("generate ran the whole sequence")

    monkeypatch.setattr(model, "forward", refuse)
    assert model.generate([0, 3], max_new_tokens=4, seed=11) == expected


def test_generate_samples_what_the_full_forward_predicts():
    model = GPT(**SMALL, seed=7)
    tokens = model.generate([2], max_new_tokens=5, temperature=0.7, top_k=4, seed=3)
    rng, again = random.Random(3), [2]
    for _ in range(5):
        again.append(sample_token(model(again)[-1], 0.7, 4, rng))
    assert tokens == again and len(tokens) == 6


def test_generate_is_deterministic_with_a_seed_and_greedy_with_top_k_1():
    model = GPT(**SMALL, seed=8)
    samples = {tuple(model.generate([1], 5, seed=s)) for s in range(8)}
    assert len(samples) > 1 and all(s[0] == 1 for s in samples)
    assert model.generate([1], 5, seed=2) == model.generate([1], 5, seed=2)
    greedy = [1]
    for _ in range(5):
        row = model(greedy)[-1]
        greedy.append(max(range(len(row)), key=lambda i: row[i].data))
    assert model.generate([1], 5, top_k=1, seed=0) == greedy


def test_generate_stops_after_the_stop_token_or_when_the_block_is_full():
    model = GPT(**SMALL, seed=9)
    full = model.generate([0], max_new_tokens=50, seed=1)
    assert len(full) == model.block_size + 1  # block_size positions predict one more token
    stop = full[3]
    stopped = model.generate([0], max_new_tokens=50, seed=1, stop_token=stop)
    assert stopped == full[: full.index(stop, 1) + 1]
    assert model.generate([0, 1], max_new_tokens=0) == [0, 1]


def test_generate_records_no_graph():
    model = GPT(**SMALL, seed=1)
    model.generate([0], 3, seed=0)
    assert all(p.grad == 0.0 for p in model.parameters())
    cache = model.new_cache()
    with no_grad():
        logits = model.step(0, cache)
    assert all(not z.parents for z in logits)


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: m([0] * 7), ValueError, r"tokens has 7 tokens, longer than block_size=6"),
        (lambda m: m([0, 7]), ValueError, r"tokens\[1\] = 7 is not in the vocabulary \(0 to 6\)"),
        (lambda m: m([0, -1]), ValueError, r"tokens\[1\] = -1 is not in the vocabulary"),
        (lambda m: m([0, 1.0]), TypeError, r"tokens\[1\] must be an int token index"),
        (lambda m: m([]), ValueError, r"tokens is empty"),
        (lambda m: m("abc"), TypeError, r"tokens must be a list of token indices"),
        (lambda m: m.generate([0], 3, temperature=0.0), ValueError, r"temperature must be .* > 0"),
        (lambda m: m.generate([0], 3, temperature=-1), ValueError, r"temperature"),
        (lambda m: m.generate([0], 3, top_k=0), ValueError, r"top_k must be between 1 and"),
        (lambda m: m.generate([0], -1), ValueError, r"max_new_tokens must be >= 0"),
        (lambda m: m.generate([0], 3, stop_token=9), ValueError, r"stop_token = 9 is not in"),
        (lambda m: m.generate([0] * 7, 3), ValueError, r"prompt has 7 tokens, longer than"),
        (lambda m: m.step(0, GPT(**SMALL, seed=0).new_cache()), ValueError, r"this model's"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call(GPT(**SMALL, seed=0))


def test_a_full_cache_refuses_another_position():
    model = GPT(vocab_size=3, block_size=2, n_embd=4, n_head=1, n_layer=1, seed=0)
    cache = model.new_cache()
    model.step(0, cache)
    model.step(1, cache)
    with pytest.raises(ValueError, match="holds block_size=2 positions already"):
        model.step(2, cache)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(n_embd=10, n_head=4), r"n_embd=10 is not divisible by n_head=4"),
        (dict(norm="batchnorm"), r"norm must be one of 'layernorm', 'rmsnorm'"),
        (dict(mlp="tanh"), r"mlp must be one of 'relu', 'gelu'"),
        (dict(init_std=-0.1), r"init_std must be >= 0"),
        (dict(vocab_size=0), r"vocab_size must be a positive int"),
    ],
)
def test_bad_configurations_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        GPT(**(SMALL | arguments))


def test_the_loss_of_a_gpt_is_its_mean_next_token_cross_entropy():
    model = GPT(**SMALL, seed=0)
    tokens, targets = [0, 1, 2], [1, 2, 3]
    logits = model(tokens)
    expected = 0.0
    for row, target in zip(numbers(logits), targets):
        top = max(row)
        expected += top + math.log(sum(math.exp(z - top) for z in row)) - row[target]
    assert abs(sequence_cross_entropy(logits, targets).data - expected / 3) < 1e-12
    assert isinstance(sequence_cross_entropy(logits, targets), Value)
