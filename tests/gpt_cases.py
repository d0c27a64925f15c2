"""GPT configurations and helpers shared by the GPT interop tests (PyTorch in test_gpt_interop.py,
ONNX in test_gpt_onnx.py); they import neither torch nor onnx."""

import random

CONFIGS = {
    "microgpt": dict(norm="rmsnorm", norm_weights=False, mlp="relu", bias=False,
                     embedding_norm=True, final_norm=False),
    "gpt2": dict(),
    "rmsnorm-weights-gelu": dict(norm="rmsnorm", mlp="gelu", bias=True, final_norm=True),
    "layernorm-no-bias": dict(norm="layernorm", bias=False, embedding_norm=True),
}  # fmt: skip


def randomized(model, seed):
    """Every parameter drawn afresh (norm weights and biases too, away from 1 and 0)."""
    rng = random.Random(seed)
    for p in model.parameters():
        p.data = rng.uniform(-0.6, 0.6)
    return model


def nn_logits(model, tokens):
    return [[z.data for z in row] for row in model(tokens)]


def assert_close(ours, theirs, tolerance):
    """Entry by entry, relative to the largest entry."""
    flat_ours, flat_theirs = _flat(ours), _flat(theirs)
    assert len(flat_ours) == len(flat_theirs)
    scale = max(1.0, max(abs(x) for x in flat_theirs))
    worst = max(abs(a - b) for a, b in zip(flat_ours, flat_theirs))
    assert worst <= tolerance * scale, worst


def _flat(nested):
    if isinstance(nested, (int, float)):
        return [nested]
    return [x for part in nested for x in _flat(part)]
