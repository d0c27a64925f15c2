"""nn.GPT against a torch twin built in float64 from its weights (torch.nn.MultiheadAttention,
LayerNorm or RMSNorm, the MLP, the head), logits and every gradient to 1e-10; and gradients of a
tiny GPT against central finite differences (autograd.gradcheck)."""

import itertools
import random
import re

import pytest

from autograd import Value, gradcheck
from nn import GPT
from nn.losses import sequence_cross_entropy
from tests.gpt_cases import CONFIGS

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOLERANCE = 1e-10


class TorchBlock(torch.nn.Module):
    def __init__(self, model, make_norm):
        super().__init__()
        n = model.n_embd
        bias = model.config()["bias"]
        activation = torch.nn.ReLU() if model.config()["mlp"] == "relu" else torch.nn.GELU()
        self.norm_1, self.norm_2 = make_norm(), make_norm()
        self.attn = torch.nn.MultiheadAttention(n, model.n_head, bias=bias, dtype=torch.float64)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n, 4 * n, bias=bias, dtype=torch.float64),
            activation,
            torch.nn.Linear(4 * n, n, bias=bias, dtype=torch.float64),
        )

    def forward(self, x):
        h = self.norm_1(x)
        length = x.shape[0]
        mask = torch.ones(length, length, dtype=torch.bool).triu(1)  # True: may not attend
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm_2(x))


class TorchGPT(torch.nn.Module):
    """The twin: the same modules under the same names as nn's GPT, in torch."""

    def __init__(self, model):
        super().__init__()
        config, n = model.config(), model.n_embd

        def make_norm():
            if config["norm"] == "layernorm":
                return torch.nn.LayerNorm(
                    n, eps=config["norm_eps"], elementwise_affine=config["norm_weights"],
                    bias=config["bias"], dtype=torch.float64,
                )  # fmt: skip
            return torch.nn.RMSNorm(
                n, eps=config["norm_eps"], elementwise_affine=config["norm_weights"],
                dtype=torch.float64,
            )  # fmt: skip

        self.wte = torch.nn.Embedding(model.vocab_size, n, dtype=torch.float64)
        self.wpe = torch.nn.Embedding(model.block_size, n, dtype=torch.float64)
        self.norm_e = make_norm() if config["embedding_norm"] else None
        self.blocks = torch.nn.ModuleList(
            TorchBlock(model, make_norm) for _ in range(model.n_layer)
        )
        self.norm_f = make_norm() if config["final_norm"] else None
        self.lm_head = torch.nn.Linear(n, model.vocab_size, bias=False, dtype=torch.float64)
        ours = model.state_dict()
        with torch.no_grad():
            for name, tensor in self.state_dict().items():
                indices = itertools.product(*map(range, tensor.shape))
                numbers = [ours[".".join([name, *map(str, i)])] for i in indices]
                tensor.copy_(torch.tensor(numbers, dtype=torch.float64).reshape(tensor.shape))

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(len(tokens)))
        if self.norm_e is not None:
            x = self.norm_e(x)
        for block in self.blocks:
            x = block(x)
        if self.norm_f is not None:
            x = self.norm_f(x)
        return self.lm_head(x)


def randomized(model, seed):
    """The model with every parameter drawn afresh (norm weights and biases too, so each
    gradient is exercised away from its starting value)."""
    rng = random.Random(seed)
    for p in model.parameters():
        p.data = rng.uniform(-0.6, 0.6)
    return model


def torch_gradient(twin, name):
    parameter = dict(twin.named_parameters())[name]
    return parameter.grad.reshape(-1).tolist()


def grouped_gradients(model):
    grouped = {}
    for name, p in model.named_parameters():
        grouped.setdefault(re.sub(r"(\.\d+)+$", "", name), []).append(p.grad)
    return grouped


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_logits_and_every_gradient_match_the_torch_twin_in_float64(config):
    model = randomized(GPT(9, 7, 8, 2, 2, **config, seed=0), seed=1)
    twin = TorchGPT(model)
    tokens, targets = [3, 0, 8, 8, 1, 5], [0, 8, 8, 1, 5, -100]
    logits = model(tokens)
    loss = sequence_cross_entropy(logits, targets)
    loss.backward()
    expected = twin(torch.tensor(tokens))
    torch_loss = F.cross_entropy(expected, torch.tensor(targets), ignore_index=-100)
    torch_loss.backward()
    flat = [z.data for row in logits for z in row]
    for a, b in zip(flat, expected.reshape(-1).tolist(), strict=True):
        assert abs(a - b) <= TOLERANCE * max(1.0, abs(b))
    assert abs(loss.data - torch_loss.item()) <= TOLERANCE
    ours = grouped_gradients(model)
    assert set(ours) == {name for name, _ in twin.named_parameters()}
    for name, gradients in ours.items():
        for a, b in zip(gradients, torch_gradient(twin, name), strict=True):
            assert abs(a - b) <= TOLERANCE * max(1.0, abs(b)), (name, a, b)


def test_a_padded_batch_has_torchs_loss_over_the_real_tokens():
    model = randomized(GPT(6, 5, 4, 2, 1, seed=0), seed=2)
    twin = TorchGPT(model)
    X, y = [[0, 1, 2, 3], [0, 4, 0, 0]], [[1, 2, 3, 0], [4, 0, -100, -100]]
    loss = sequence_cross_entropy([model(x) for x in X], y)
    logits = torch.cat([twin(torch.tensor(x)) for x in X])
    expected = F.cross_entropy(logits, torch.tensor(sum(y, [])), ignore_index=-100)
    assert abs(loss.data - expected.item()) <= TOLERANCE


@pytest.mark.parametrize("config", ["microgpt", "gpt2"])
def test_gradients_of_a_tiny_gpt_match_central_differences(config):
    model = randomized(GPT(5, 4, 4, 2, 1, **CONFIGS[config], seed=0), seed=3)
    tokens, targets = [1, 4, 0, 2], [4, 0, 2, 3]
    block = model.blocks[0]
    slots = [  # (list, index) of a few parameters from every kind of part
        (model.wte.weight[4], 1), (model.wpe.weight[2], 3), (block.attn.in_proj_weight[1], 0),
        (block.attn.in_proj_weight[9], 2), (block.attn.out_proj.weight[3], 1),
        (block.mlp[0].weight[7], 2), (block.mlp[2].weight[0], 11), (model.lm_head.weight[3], 0),
    ]  # fmt: skip
    if block.norm_1.weight is not None:
        slots.append((block.norm_1.weight, 2))
    originals = [row[i] for row, i in slots]

    def loss(*numbers):
        for (row, i), x in zip(slots, numbers):
            row[i] = x if isinstance(x, Value) else Value(x)
        return sequence_cross_entropy(model(tokens), targets)

    try:
        assert gradcheck(loss, [p.data for p in originals], atol=1e-7, rtol=1e-5)
    finally:
        for (row, i), p in zip(slots, originals):
            row[i] = p
