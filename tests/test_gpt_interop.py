"""nn.GPT to PyTorch and back (`to_torch` gives `nn.interop.torch_modules.GPT`): the twin's
logits and gradients equal nn's to 1e-12 in float64, and a round trip gives back every float bit
for bit. (The ONNX export is tested in test_gpt_onnx.py, which needs no torch.)"""

import pytest
from gpt_cases import CONFIGS, assert_close, nn_logits, randomized

from nn import GPT, from_torch, to_torch
from nn.losses import sequence_cross_entropy

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOLERANCE = 1e-12


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_twin_gives_nns_logits_and_gradients_in_float64(config):
    model = randomized(GPT(9, 7, 8, 2, 2, **config, seed=0), seed=1)
    twin = to_torch(model)
    assert type(twin).__module__ == "nn.interop.torch_modules"
    tokens, targets = [3, 0, 8, 8, 1, 5], [0, 8, 8, 1, 5, -100]
    logits = model(tokens)
    loss = sequence_cross_entropy(logits, targets)
    loss.backward()
    expected = twin(torch.tensor(tokens))
    assert expected.dtype == torch.float64 and expected.shape == (6, 9)
    assert_close([[z.data for z in row] for row in logits], expected.tolist(), TOLERANCE)
    torch_loss = F.cross_entropy(expected, torch.tensor(targets), ignore_index=-100)
    torch_loss.backward()
    assert abs(loss.data - torch_loss.item()) <= TOLERANCE
    # every gradient, matched by name: nn's `blocks.0.attn.in_proj_weight.4.2` is entry (4, 2)
    # of the twin's `blocks.0.attn.in_proj_weight`
    twins = dict(twin.named_parameters())
    ours = {}
    for name, p in model.named_parameters():
        head, index = name, []
        while head.rpartition(".")[2].isdigit() and head not in twins:
            head, _, i = head.rpartition(".")
            index.insert(0, int(i))
        ours.setdefault(head, []).append((tuple(index), p.grad))
    assert set(ours) == set(twins)
    for name, entries in ours.items():
        grad = twins[name].grad
        assert_close([g for _, g in entries], [grad[i].item() for i, _ in entries], TOLERANCE)


@pytest.mark.parametrize("config", ["microgpt", "gpt2"])
def test_a_batch_of_padded_sequences_gives_each_ones_logits(config):
    model = randomized(GPT(7, 6, 8, 4, 1, **CONFIGS[config], seed=0), seed=2)
    twin = to_torch(model)
    sequences = [[1, 2, 3, 4, 5], [6, 0], [3, 3, 3]]
    padded = torch.tensor([s + [0] * (5 - len(s)) for s in sequences])
    batch = twin(padded)
    assert batch.shape == (3, 5, 7)
    for row, sequence in zip(batch, sequences):
        # padding comes after the real tokens, which causal attention never lets them see
        assert_close(nn_logits(model, sequence), row[: len(sequence)].tolist(), TOLERANCE)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_a_round_trip_gives_back_every_float_bit_for_bit(config):
    model = randomized(GPT(6, 5, 4, 2, 2, **config, seed=0), seed=3)
    model.blocks[1].eval()
    twin = to_torch(model)
    assert twin.blocks[0].attn.training and not twin.blocks[1].attn.out_proj.training
    back = from_torch(twin)
    assert type(back) is GPT
    assert back.config() == model.config()
    assert back.state_dict() == model.state_dict()  # exact equality of every float
    assert [m.training for m in back.modules()] == [m.training for m in model.modules()]
    assert nn_logits(back, [0, 5, 2]) == nn_logits(model, [0, 5, 2])


def test_a_twin_trained_in_torch_comes_back_with_its_weights_and_logits():
    model = GPT.microgpt(8, seed=4)
    twin = to_torch(model)
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.01)
    tokens = torch.tensor([[0, 3, 5, 1, 0], [0, 2, 2, 7, 0]])
    for _ in range(3):
        optimizer.zero_grad()
        logits = twin(tokens[:, :-1])
        F.cross_entropy(logits.reshape(-1, 8), tokens[:, 1:].reshape(-1)).backward()
        optimizer.step()
    back = from_torch(twin)
    for name, tensor in twin.state_dict().items():
        flat = tensor.reshape(-1).tolist()
        held = [v for key, v in back.state_dict().items() if key.startswith(name + ".")]
        assert held == flat, name
    assert back.state_dict() != model.state_dict()  # trained: the copy moved, the original not
    with torch.no_grad():
        expected = twin(torch.tensor([0, 3, 5, 1])).tolist()
    assert_close(nn_logits(back, [0, 3, 5, 1]), expected, TOLERANCE)


def test_a_twin_made_in_torch_comes_over_to_nn():
    from nn.interop import torch_modules

    torch.manual_seed(0)
    twin = torch_modules.GPT(
        11, 8, 12, 3, 2, norm="rmsnorm", mlp="relu", init_std=0.3, dtype=torch.float64
    )
    norm = twin.blocks[0].norm_1.weight
    assert norm.tolist() == [1.0] * 12  # nn's starting weights: norms 1, biases 0
    assert twin.blocks[0].attn.in_proj_bias.abs().max().item() == 0.0
    assert 0.2 < twin.wte.weight.std().item() < 0.4  # N(0, 0.3)
    model = from_torch(twin)
    assert model.config() == twin.config()
    assert len(model.parameters()) == sum(p.numel() for p in twin.parameters())
    with torch.no_grad():
        expected = twin(torch.tensor([10, 0, 4, 4, 7, 1, 2, 9])).tolist()
    assert_close(nn_logits(model, [10, 0, 4, 4, 7, 1, 2, 9]), expected, TOLERANCE)


def test_an_output_head_tied_to_the_token_table_stays_tied():
    model = randomized(GPT(5, 4, 4, 2, 1, seed=0), seed=5)
    model.lm_head.weight = model.wte.weight  # GPT-2's tie: one (vocab, n_embd) table
    twin = to_torch(model)
    assert twin.lm_head.weight is twin.wte.weight
    assert_close(nn_logits(model, [1, 4, 2]), twin(torch.tensor([1, 4, 2])).tolist(), TOLERANCE)
    back = from_torch(twin)
    assert back.lm_head.weight[3][1] is back.wte.weight[3][1]
    assert back.state_dict() == model.state_dict()


def test_a_float32_twin_is_close():
    model = randomized(GPT(6, 5, 8, 2, 1, seed=0), seed=6)
    twin = to_torch(model, dtype=torch.float32)
    assert twin.wte.weight.dtype == torch.float32
    assert_close(nn_logits(model, [1, 2, 3]), twin(torch.tensor([1, 2, 3])).tolist(), 1e-5)


def test_the_twin_refuses_bad_input_and_bad_settings_by_name():
    from nn.interop import torch_modules

    twin = to_torch(GPT(5, 4, 4, 2, 1, seed=0))
    with pytest.raises(ValueError, match="5 positions; .* block_size=4"):
        twin(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(batch, T\)"):
        twin(torch.zeros(1, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="not divisible by n_head=3"):
        torch_modules.GPT(5, 4, 4, 3, 1)
    with pytest.raises(ValueError, match="norm must be one of"):
        torch_modules.GPT(5, 4, 4, 2, 1, norm="batchnorm")


def test_from_torch_refuses_a_twin_whose_layers_were_swapped():
    twin = to_torch(GPT(5, 4, 4, 2, 1, seed=0))
    twin.blocks[0].mlp[1] = torch.nn.Tanh()
    with pytest.raises(ValueError, match=r"from_torch: model \(GPT\): its layers were changed"):
        from_torch(twin)
