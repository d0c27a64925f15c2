"""MultiheadAttention: torch.nn's outputs, weights and gradients, masks, causality, the key/value
cache, files, interop and errors."""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, sum_values, topological_order
from nn import Module, MultiheadAttention, Sequential, from_torch, to_torch
from nn.layers.attention import KVCache

TOLERANCE = 1e-10


def entries(prefix, shape):
    return [".".join([prefix, *map(str, i)]) for i in itertools.product(*map(range, shape))]


def flat(nested):
    if isinstance(nested, (list, tuple)):
        return [v for item in nested for v in flat(item)]
    return [nested]


def assert_close(ours, theirs, tolerance=TOLERANCE):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert abs(a - b) <= tolerance * max(1.0, abs(b)), (a, b)


def sequence(rng, length, width):
    return [[rng.uniform(-2.0, 2.0) for _ in range(width)] for _ in range(length)]


def attention_with_random_biases(embed_dim, num_heads, bias, seed):
    """A fresh layer whose biases (zeros at first, as torch's) are made random, so that the
    comparison tests them."""
    attention = MultiheadAttention(embed_dim, num_heads, bias=bias, seed=seed)
    rng = random.Random(seed + 1)
    for b in (attention.in_proj_bias or []) + (attention.out_proj.bias or []):
        b.data = rng.uniform(-1.0, 1.0)
    return attention


def torch_twin(ours, torch):
    """torch.nn.MultiheadAttention in float64 with every parameter copied by name."""
    theirs = torch.nn.MultiheadAttention(
        ours.embed_dim, ours.num_heads, bias=ours.in_proj_bias is not None, dtype=torch.float64
    )
    state = ours.state_dict()
    with torch.no_grad():
        for name, tensor in theirs.named_parameters():
            values = [state[key] for key in entries(name, tuple(tensor.shape))]
            tensor.copy_(torch.tensor(values, dtype=torch.float64).reshape(tensor.shape))
    return theirs


masks = st.sampled_from(["none", "bool", "float", "causal", "causal+bool"])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),  # heads
    st.integers(1, 3),  # head_dim
    st.integers(1, 4),  # query length
    st.integers(1, 4),  # key length
    masks,
    st.booleans(),  # need_weights
    st.booleans(),  # average_attn_weights
    st.booleans(),  # bias
    st.booleans(),  # training
    st.booleans(),  # self-attention (query is key is value)
    st.integers(0, 2**16),
)
def test_outputs_weights_and_every_gradient_match_torch_in_float64(
    heads, head_dim, n_queries, n_keys, mask, need, average, bias, training, itself, seed
):
    torch = pytest.importorskip("torch")
    rng, width = random.Random(seed), heads * head_dim
    if itself or "causal" in mask:
        n_keys = n_queries
    ours = attention_with_random_biases(width, heads, bias, seed).train(training)
    theirs = torch_twin(ours, torch).train(training)
    query = sequence(rng, n_queries, width)
    key = query if itself else sequence(rng, n_keys, width)
    value = query if itself else sequence(rng, n_keys, width)
    allowed = [[True] * n_keys for _ in range(n_queries)]
    options, their_options = {}, {}
    if mask in ("bool", "causal+bool"):
        blocked = [[rng.random() < 0.4 for _ in range(n_keys)] for _ in range(n_queries)]
        for row in blocked:
            row[0] = False  # every query attends to something (else torch gives NaN)
        allowed = [[not b for b in row] for row in blocked]
        options["attn_mask"] = blocked
    if mask == "float":
        options["attn_mask"] = [[rng.uniform(-3, 3) for _ in range(n_keys)] for _ in allowed]
    if "causal" in mask:
        options["is_causal"] = True
        allowed = [[a and s <= i for s, a in enumerate(row)] for i, row in enumerate(allowed)]
        # torch takes is_causal as a hint that attn_mask is the causal mask, and may then
        # ignore the mask: it gets the hint only when the mask is the causal one
        their_options["is_causal"] = mask == "causal"
    if mask != "none":
        blocked = [[not a for a in row] for row in allowed]
        mask_tensor = torch.tensor(blocked) if mask != "float" else None
        if mask == "float":
            mask_tensor = torch.tensor(options["attn_mask"], dtype=torch.float64)
        their_options["attn_mask"] = mask_tensor  # torch needs the causal mask spelled out
    tensors = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in (query,)]
    q_values = [[Value(v) for v in step] for step in query]
    if itself:
        k_values = v_values = q_values
        tensors *= 3
    else:
        k_values = [[Value(v) for v in step] for step in key]
        v_values = [[Value(v) for v in step] for step in value]
        tensors += [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in (key, value)]
    outputs, weights = ours(
        q_values, k_values, v_values, need_weights=need, average_attn_weights=average, **options
    )
    their_outputs, their_weights = theirs(
        *tensors, need_weights=need, average_attn_weights=average, **their_options
    )
    ours_all = flat(outputs) + (flat(weights) if need else [])
    theirs_all = their_outputs.flatten()
    if need:
        theirs_all = torch.cat([theirs_all, their_weights.flatten()])
        assert len(flat(weights)) == their_weights.numel()
        assert weights is not None and (average or len(weights) == heads)
    else:
        assert weights is None and their_weights is None
    sum_values([(k + 1.0) * v for k, v in enumerate(ours_all)]).backward()
    (torch.arange(1, len(theirs_all) + 1, dtype=torch.float64) * theirs_all).sum().backward()
    assert_close([v.data for v in ours_all], theirs_all.tolist())
    for values, tensor in zip((q_values, k_values, v_values), tensors):
        if values is not q_values and itself:
            continue
        assert_close([v.grad for v in flat(values)], tensor.grad.flatten().tolist())
    named = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        grads = [named[key].grad for key in entries(name, tuple(parameter.shape))]
        assert_close(grads, parameter.grad.flatten().tolist())


def test_masked_weights_are_exact_zeros_and_each_row_sums_to_one():
    attention = MultiheadAttention(4, 2, seed=0)
    x = sequence(random.Random(0), 4, 4)
    _, weights = attention(x, x, x, is_causal=True, average_attn_weights=False)
    for head in weights:
        for i, row in enumerate(head):
            assert all(w.data == 0.0 for w in row[i + 1 :])
            assert abs(sum(w.data for w in row) - 1.0) < 1e-12


def test_a_minus_infinity_in_a_float_mask_masks_as_true_does_in_a_boolean_one():
    attention = MultiheadAttention(2, 1, seed=3)
    x = sequence(random.Random(1), 3, 2)
    blocked = [[False, True, False], [False, False, True], [True, False, False]]
    additive = [[-math.inf if b else 0.0 for b in row] for row in blocked]
    by_bool = attention(x, x, x, attn_mask=blocked)
    by_float = attention(x, x, x, attn_mask=additive)
    assert [[v.data for v in row] for row in by_bool[0]] == [
        [v.data for v in row] for row in by_float[0]
    ]


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 5), st.integers(0, 4), st.integers(0, 2**16))
def test_causal_outputs_do_not_change_when_a_later_token_changes(length, changed, seed):
    changed = min(changed, length - 1)
    rng = random.Random(seed)
    attention = MultiheadAttention(4, 2, seed=seed)
    x = sequence(rng, length, 4)
    before = attention(x, x, x, is_causal=True)[0]
    x[changed] = [v + rng.uniform(0.5, 1.5) for v in x[changed]]
    after = attention(x, x, x, is_causal=True)[0]
    for i in range(length):
        same = [a.data for a in before[i]] == [b.data for b in after[i]]
        assert same == (i < changed), i  # earlier positions unchanged; from `changed` on, moved


def test_the_self_attention_gradient_of_an_early_output_ignores_later_tokens():
    attention = MultiheadAttention(4, 2, seed=5)
    x = [[Value(v) for v in step] for step in sequence(random.Random(2), 3, 4)]
    outputs, _ = attention(x, x, x, is_causal=True, need_weights=False)
    sum_values(outputs[1]).backward()
    assert all(v.grad == 0.0 for v in x[2])
    assert any(v.grad != 0.0 for v in x[0])


@pytest.mark.parametrize("heads, width", [(1, 3), (2, 4), (4, 8)])
def test_the_cache_gives_the_causal_forward_position_by_position(heads, width):
    attention = attention_with_random_biases(width, heads, True, seed=heads)
    steps = sequence(random.Random(heads), 6, width)
    full_inputs = [[Value(v) for v in step] for step in steps]
    full, _ = attention(full_inputs, full_inputs, full_inputs, is_causal=True)
    cache = attention.new_cache()
    step_inputs = [[Value(v) for v in step] for step in steps]
    stepped = [attention.step(x, cache) for x in step_inputs]
    assert len(cache) == 6
    assert_close([v.data for v in flat(stepped)], [v.data for v in flat(full)], 1e-12)
    sum_values([(k + 1.0) * v for k, v in enumerate(flat(full))]).backward()
    full_grads = [v.grad for v in flat(full_inputs)] + [p.grad for p in attention.parameters()]
    attention.zero_grad()
    sum_values([(k + 1.0) * v for k, v in enumerate(flat(stepped))]).backward()
    step_grads = [v.grad for v in flat(step_inputs)] + [p.grad for p in attention.parameters()]
    assert_close(step_grads, full_grads, 1e-12)


def nodes_made_by_each_step(attention, steps):
    """How many nodes each `step` call adds to the graph (parameters and inputs aside)."""
    cache, seen, counts = attention.new_cache(), {id(p) for p in attention.parameters()}, []
    roots = []  # kept alive, so that no id is reused
    for x in steps:
        inputs = [Value(v) for v in x]
        seen |= {id(v) for v in inputs}
        root = sum_values(attention.step(inputs, cache))
        roots.append(root)
        new = {id(node) for node in topological_order(root)} - seen - {id(root)}
        counts.append(len(new))
        seen |= new
    return counts


def test_each_step_costs_one_position_plus_four_nodes_per_cached_key_and_head():
    heads, width = 2, 4
    attention = MultiheadAttention(width, heads, seed=0)
    counts = nodes_made_by_each_step(attention, sequence(random.Random(0), 8, width))
    growth = [b - a for a, b in zip(counts, counts[1:])]
    # per head, one more key: its score (dot), its shift and exponential, its probability
    assert growth == [4 * heads] * 7
    # the first step: the projections (dot and bias per entry), the query's scaling, per head
    # a score, the max, shift, exponential, sum, reciprocal, probability and head_dim outputs,
    # then the output projection
    head_dim = width // heads
    assert counts[0] == 6 * width + width + heads * (7 + head_dim) + 2 * width


def test_a_step_of_the_full_forward_grows_with_the_prefix_where_the_cache_does_not():
    attention = MultiheadAttention(4, 2, seed=0)
    steps = sequence(random.Random(0), 8, 4)
    cached = sum(nodes_made_by_each_step(attention, steps))
    xs = [[Value(v) for v in step] for step in steps]
    outputs, _ = attention(xs, xs, xs, is_causal=True, need_weights=False)
    recomputed = 0
    for length in range(1, 9):  # generation without a cache: the whole prefix at every step
        prefix = [[Value(v) for v in step] for step in steps[:length]]
        outputs, _ = attention(prefix, prefix, prefix, is_causal=True, need_weights=False)
        recomputed += len(topological_order(sum_values(flat(outputs))))
    assert recomputed > 3 * cached


def test_a_cache_serves_only_the_module_that_made_it():
    one, other = MultiheadAttention(2, 1, seed=0), MultiheadAttention(2, 1, seed=0)
    cache = one.new_cache()
    assert isinstance(cache, KVCache) and len(cache) == 0
    with pytest.raises(ValueError, match="cache must come from this module's new_cache"):
        other.step([1.0, 2.0], cache)
    with pytest.raises(ValueError, match="x has 3 entries, expected embed_dim=2"):
        one.step([1.0, 2.0, 3.0], cache)
    assert len(cache) == 0


def test_parameters_are_laid_out_and_initialised_as_torchs():
    width, heads = 6, 3
    attention = MultiheadAttention(width, heads, seed=7)
    names = list(attention.state_dict())
    assert (
        names[0] == "in_proj_weight.0.0" and names[3 * width * width - 1] == "in_proj_weight.17.5"
    )
    assert names[3 * width * width] == "in_proj_bias.0"
    assert names[-width - 1] == "out_proj.weight.5.5" and names[-1] == "out_proj.bias.5"
    assert len(names) == 4 * width * (width + 1)
    xavier = math.sqrt(6.0 / (width + 3 * width))
    assert all(abs(v.data) <= xavier for row in attention.in_proj_weight for v in row)
    assert max(abs(v.data) for row in attention.in_proj_weight for v in row) > xavier / 2
    assert all(v.data == 0.0 for v in attention.in_proj_bias + attention.out_proj.bias)
    bound = 1.0 / math.sqrt(width)
    assert all(abs(v.data) <= bound for row in attention.out_proj.weight for v in row)
    same = MultiheadAttention(width, heads, seed=7)
    assert same.state_dict() == attention.state_dict()
    assert MultiheadAttention(width, heads, bias=False).state_dict().keys() == {
        *entries("in_proj_weight", (18, 6)),
        *entries("out_proj.weight", (6, 6)),
    }


def test_the_repr_is_torchs():
    torch = pytest.importorskip("torch")
    ours = repr(MultiheadAttention(4, 2, bias=False))
    theirs = repr(torch.nn.MultiheadAttention(4, 2, bias=False))
    assert ours == theirs.replace("NonDynamicallyQuantizableLinear", "Linear")


@pytest.mark.parametrize("bias", [True, False])
def test_save_and_load_give_the_same_attention(bias, tmp_path):
    attention = attention_with_random_biases(4, 2, bias, seed=11)
    path = tmp_path / "attention.json"
    attention.save(path)
    same = Module.load(path)
    assert type(same) is MultiheadAttention and same.config() == attention.config()
    assert same.state_dict() == attention.state_dict()
    x = sequence(random.Random(0), 3, 4)
    assert [v.data for v in flat(same(x, x, x)[0])] == [v.data for v in flat(attention(x, x, x)[0])]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: MultiheadAttention(6, 4),
            ValueError,
            "embed_dim=6 is not divisible by num_heads=4",
        ),
        (lambda: MultiheadAttention(0, 1), ValueError, "embed_dim must be a positive int"),
        (lambda: MultiheadAttention(4, 2, 0.1), TypeError, "positional"),
        (lambda: ATTENTION([], X, X), ValueError, "query is an empty sequence"),
        (lambda: ATTENTION(X, [], []), ValueError, "key is an empty sequence"),
        (lambda: ATTENTION(X, X, X[:2]), ValueError, "as many steps, got 3 keys and 2 values"),
        (lambda: ATTENTION(X, X, [[1.0]] * 3), ValueError, r"value\[0\] has 1 entries, expected"),
        (lambda: ATTENTION([1.0] * 4, X, X), TypeError, r"query\[0\] must be a list"),
        (lambda: ATTENTION(X, X, X, attn_mask=[[False] * 3] * 2), ValueError, r"shape \(3, 3\)"),
        (lambda: ATTENTION(X, X, X, attn_mask=[[0.0] * 2] * 3), ValueError, "row 0 has 2"),
        (lambda: ATTENTION(X, X, X, attn_mask=[[True] * 3] * 3), ValueError, "attend to no key"),
        (lambda: ATTENTION(X, X, X, attn_mask=[[0.0, True, 1]] * 3), TypeError, "not a mixture"),
        (lambda: ATTENTION(X, X, X, attn_mask=[[math.nan] * 3] * 3), ValueError, "NaN or"),
        (lambda: ATTENTION(X, X, X, is_causal=1), TypeError, "is_causal must be True or False"),
    ],
)
def test_bad_arguments_and_inputs_are_refused_naming_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


ATTENTION = MultiheadAttention(4, 2, seed=0)
X = sequence(random.Random(0), 3, 4)


def test_to_torch_gives_a_twin_with_the_same_outputs_to_1e_12_and_from_torch_comes_back():
    torch = pytest.importorskip("torch")
    ours = attention_with_random_biases(6, 3, True, seed=2)
    twin = to_torch(Sequential(ours))[0]
    assert type(twin) is torch.nn.MultiheadAttention
    x = sequence(random.Random(4), 5, 6)
    outputs, weights = ours(x, x, x, is_causal=True)
    tensor = torch.tensor(x, dtype=torch.float64)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    their_outputs, their_weights = twin(tensor, tensor, tensor, attn_mask=causal, is_causal=True)
    assert_close([v.data for v in flat(outputs)], their_outputs.flatten().tolist(), 1e-12)
    assert_close([v.data for v in flat(weights)], their_weights.flatten().tolist(), 1e-12)
    back = from_torch(twin)
    assert type(back) is MultiheadAttention and back.state_dict() == ours.state_dict()
    assert from_torch(twin.eval()).training is False


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dropout": 0.1}, "dropout=0.1 has no counterpart"),
        ({"kdim": 3}, "kdim=3 has no counterpart"),
        ({"add_bias_kv": True}, "add_bias_kv=True has no counterpart"),
        ({"add_zero_attn": True}, "add_zero_attn=True has no counterpart"),
    ],
)
def test_from_torch_refuses_the_settings_nn_does_not_have(options, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message):
        from_torch(torch.nn.MultiheadAttention(4, 2, **options))


def test_a_tape_traces_attention_and_replays_it_on_new_inputs():
    pytest.importorskip("numpy")
    from autograd import gradients, trace

    attention = attention_with_random_biases(4, 2, True, seed=9)
    mask = [[0.0, -1.0, 0.5]] * 3

    def loss(*entries):
        x = [list(entries[4 * t : 4 * t + 4]) for t in range(3)]
        outputs, _ = attention(x, x, x, is_causal=True, attn_mask=mask, need_weights=False)
        return sum_values([v * v for v in flat(outputs)])

    rng = random.Random(0)
    tape = trace(loss, *[rng.gauss(0, 1) for _ in range(12)])
    new = [rng.gauss(0, 3) for _ in range(12)]  # other scores: another largest one per row
    value, grads = tape.value_and_grad(*new)
    inputs = [Value(v) for v in new]
    expected = loss(*inputs)
    assert abs(value - expected.data) <= 1e-12 * max(1.0, abs(expected.data))
    assert_close(list(grads), gradients(expected, inputs), 1e-10)
