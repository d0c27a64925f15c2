"""A microgpt-style program (benchmarks/microgpt_style.py) runs unchanged on `autograd.Value`.

The program is written as microgpt is: Python's own `sum()` over Values (starting at the int 0),
a softmax that subtracts the largest logit taken from `.data`, `** -0.5`, division by a Value,
Adam on `p.data` and `p.grad = 0`. Swapping its `Value` class for ours must give the losses, the
weights and the samples that its own micrograd-style engine gives.
"""

import importlib.util
import math
from pathlib import Path

import pytest

from autograd import Value

ROOT = Path(__file__).resolve().parent.parent


def benchmark_module(name):
    """The script benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


microgpt_style = benchmark_module("microgpt_style")
Program, MicroValue = microgpt_style.Program, microgpt_style.MicroValue

NAMES = ["emma", "olivia", "ava", "isabella", "sophia"]


def run(value_class, steps, **config):
    program = Program(value_class, NAMES, num_steps=steps, seed=42, **config)
    losses = [program.step() for _ in range(steps)]
    return program, losses


@pytest.mark.parametrize(
    "config",
    [{}, {"n_embd": 8, "n_head": 2, "n_layer": 2, "block_size": 8}],
    ids=["microgpt", "two-layers"],
)
def test_the_program_trains_to_the_same_losses_and_weights_on_both_engines(config):
    steps = 4
    ours, our_losses = run(Value, steps, **config)
    theirs, their_losses = run(MicroValue, steps, **config)
    assert len(our_losses) == steps and all(type(loss) is float for loss in our_losses)
    assert our_losses == pytest.approx(their_losses, abs=1e-12, rel=0)
    our_weights = [p.data for p in ours.flat]
    their_weights = [p.data for p in theirs.flat]
    assert our_weights == pytest.approx(their_weights, abs=1e-12, rel=0)
    assert our_weights != [p.data for p in Program(Value, NAMES, steps).flat]  # it trained


def test_the_loss_starts_near_log_vocab_size_and_falls_on_a_repeated_name():
    program = Program(Value, ["anna"], num_steps=12, seed=0)
    losses = [program.step() for _ in range(12)]
    assert abs(losses[0] - math.log(3)) < 0.25  # about uniform over 'a', 'n' and the end token
    assert losses[-1] < 0.2 < 1.0 < losses[0]  # measured: 1.268 falling to 0.138


def test_sampling_draws_the_same_names_on_both_engines():
    small = {"n_embd": 8, "n_head": 2, "block_size": 8}
    ours, _ = run(Value, 2, **small)
    theirs, _ = run(MicroValue, 2, **small)
    names = ours.sample(4)
    assert names == theirs.sample(4) and all(len(name) <= 8 for name in names)


def test_the_program_compares_no_value_with_a_number():
    # Value == number raises TypeError (a Value equals only itself): the program never does it,
    # or the runs above would have failed. Equality by identity is what its code relies on.
    x = Value(1.0)
    with pytest.raises(TypeError, match="compare the numbers instead"):
        _ = x == 1.0
    assert x in {x} and x == x


def test_the_benchmarks_bare_yardstick_engine_trains_as_microgpts_does():
    """benchmarks/microgpt.py compares chainrule with `BareValue` too: it must compute the same."""
    bare, bare_losses = run(benchmark_module("bare_value").BareValue, 3)
    theirs, their_losses = run(MicroValue, 3)
    assert bare_losses == pytest.approx(their_losses, abs=1e-12, rel=0)
    assert [p.data for p in bare.flat] == pytest.approx([p.data for p in theirs.flat], abs=1e-12)


def copy_program_weights(model, params):
    """The program's weights into `GPT.microgpt`: its wq, wk, wv stacked as in_proj_weight."""
    block = model.blocks[0]
    pairs = [
        (model.wte.weight, params["wte"]),
        (model.wpe.weight, params["wpe"]),
        (block.attn.in_proj_weight, params["h0.wq"] + params["h0.wk"] + params["h0.wv"]),
        (block.attn.out_proj.weight, params["h0.wo"]),
        (block.mlp[0].weight, params["h0.fc1"]),
        (block.mlp[2].weight, params["h0.fc2"]),
        (model.lm_head.weight, params["lm_head"]),
    ]
    for ours, theirs in pairs:
        assert len(ours) == len(theirs) and len(ours[0]) == len(theirs[0])
        for our_row, their_row in zip(ours, theirs):
            for our, their in zip(our_row, their_row):
                our.data = their.data
    return [(ours, theirs) for pair in pairs for ours, theirs in zip(*pair)]


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_gpt_microgpt_trained_by_fit_one_name_a_step_is_the_program(compile):
    # The preset is the program's model and fit with microgpt's Adam and schedule its training
    # loop: from the program's initial weights, both end with the same weights.
    pytest.importorskip("numpy")
    from nn import GPT
    from nn.data import language_model_pairs
    from nn.losses import sequence_cross_entropy
    from nn.optim import Adam, LinearLR
    from nn.train import fit

    steps = 6
    program = Program(Value, NAMES, num_steps=steps, seed=3)
    model = GPT.microgpt(len(program.chars) + 1, seed=0)
    rows = copy_program_weights(model, program.params)
    names = [program.docs[step % len(program.docs)] for step in range(steps)]
    for _ in range(steps):
        program.step()
    encoded = [[program.end, *map(program.chars.index, n), program.end] for n in names]
    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    schedule = LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=steps)
    fit(model, sequence_cross_entropy, optimizer, language_model_pairs(encoded, 16),
        epochs=1, batch_size=1, shuffle=False, scheduler=schedule, scheduler_interval="step",
        progress=False, compile=compile)  # fmt: skip
    ours = [p.data for our_row, _ in rows for p in our_row]
    theirs = [p.data for _, their_row in rows for p in their_row]
    assert len(ours) == len(model.parameters()) == len(program.flat)
    assert ours == pytest.approx(theirs, abs=1e-12, rel=0)
    assert ours != pytest.approx([p.data for p in Program(Value, NAMES, steps, seed=3).flat])
