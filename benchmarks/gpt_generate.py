"""Generation in tokens per second: the microgpt-style program's `sample()` against `GPT.generate`,
eager and compiled (`compile=True`), one name at a time and many at once.

    python benchmarks/gpt_generate.py                 # under half a minute here
    python benchmarks/gpt_generate.py --rounds 5      # more rounds, steadier medians

One model samples everywhere: `GPT.microgpt` trained compiled on 1,000 census names (batch 32,
a few seconds), its weights then copied into the program of `microgpt_style.py` on `MicroValue`
(the program's logits are checked against the model's first). Every row samples names from the
end token at temperature 0.5 until the next end token (at most 16 tokens), so all of them draw
from the same distribution, and the tokens per second count every token drawn, the end tokens
included. Rows, each the median over the rounds (the order rotates within each round):

- the program's `sample()`, a name at a time on its own scalar `Value`;
- `GPT.generate` eager, a name at a time (`GPT.step` with its key/value cache);
- `GPT.generate(..., compile=True)`, a name at a time: a tape call per token, batch 1;
- `GPT.generate(..., num_samples=N, compile=True)` for each `--batch` N: a tape call per
  position advances all N names.

The tapes (one per position, 16 here) are traced before the clock starts; the time it takes is
printed beside. Compiled and eager give the same tokens for the same seeds (checked). NumPy's
BLAS runs on one thread (threadpoolctl), as in the other tape benchmarks: on this shared 2-core
machine two threads made the same tape call 1x to 20x slower from one call to the next. Needs
the names extra.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time

import checkout  # noqa: F401  (measure this checkout's autograd and nn)
import numpy as np  # noqa: F401  (loaded before threadpool_limits, which limits what is loaded)
from microgpt_style import MicroValue, Program, gpt
from threadpoolctl import threadpool_limits

from nn import GPT
from nn.data import CharTokenizer, language_model_pairs, load_names
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR
from nn.train import fit

TEMPERATURE = 0.5


def trained_model(names: list[str], tokenizer: CharTokenizer) -> GPT:
    """GPT.microgpt after one compiled epoch over `names` at batch 32."""
    model = GPT.microgpt(tokenizer.vocab_size, seed=42)
    data = language_model_pairs(
        [tokenizer.encode(n, ends=True) for n in names], model.block_size, pad=tokenizer.end_id
    )
    steps = math.ceil(len(names) / 32)
    optimizer = Adam(model.parameters(), lr=0.04, betas=(0.85, 0.99), eps=1e-8)
    fit(model, sequence_cross_entropy, optimizer, data, epochs=1, batch_size=32, shuffle=False,
        scheduler=LinearLR(optimizer, 1.0, 0.0, total_iters=steps), scheduler_interval="step",
        progress=False, compile=True)  # fmt: skip
    return model


def copy_into(program: Program, model: GPT) -> None:
    """The model's weights into the program's matrices (wq, wk, wv: in_proj_weight's blocks)."""
    state, n = model.state_dict(), model.n_embd
    sources = {"wte": "wte.weight", "wpe": "wpe.weight", "h0.wo": "blocks.0.attn.out_proj.weight",
               "h0.fc1": "blocks.0.mlp.0.weight", "h0.fc2": "blocks.0.mlp.2.weight",
               "lm_head": "lm_head.weight"}  # fmt: skip
    for name, matrix in program.params.items():
        block = {"h0.wq": 0, "h0.wk": 1, "h0.wv": 2}.get(name)
        for i, row in enumerate(matrix):
            for j, p in enumerate(row):
                if block is None:
                    p.data = state[f"{sources[name]}.{i}.{j}"]
                else:
                    p.data = state[f"blocks.0.attn.in_proj_weight.{block * n + i}.{j}"]
    keys, values = [[]], [[]]
    theirs = [v.data for v in gpt(program.params, program.end, 0, keys, values, program.n_head)]
    ours = [v.data for v in model.step(program.end, model.new_cache())]
    assert max(abs(a - b) for a, b in zip(theirs, ours)) < 1e-12, "the weights were not copied"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--program-names", type=int, default=30, help="names per round")
    parser.add_argument("--eager-names", type=int, default=60, help="names per round")
    parser.add_argument("--single-names", type=int, default=300, help="compiled, one at a time")
    parser.add_argument("--batch", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()

    names = load_names("train", seed=0)
    tokenizer = CharTokenizer(names)
    model = trained_model(names[:1000], tokenizer)
    program = Program(MicroValue, names, num_steps=1, seed=42)
    assert "".join(program.chars) == "".join(tokenizer.vocab[:-1]) == "abcdefghijklmnopqrstuvwxyz"
    assert program.end == tokenizer.end_id
    copy_into(program, model)
    end, block = tokenizer.end_id, model.block_size

    def generate(seed: int, compile: bool = False, num_samples: int | None = None) -> list:
        return model.generate([end], block, TEMPERATURE, seed=seed, stop_token=end,
                              num_samples=num_samples, compile=compile)  # fmt: skip

    start = time.perf_counter()
    model.generate([end] * block, 1, compile=True)  # a position each: traces all 16 tapes
    tracing = time.perf_counter() - start
    assert [generate(s, compile=True) for s in range(20)] == [generate(s) for s in range(20)]
    assert generate(0, True, 50) == [generate(s) for s in range(50)]

    def program_rows() -> int:
        sampled = program.sample(args.program_names, temperature=TEMPERATURE)
        return sum(min(len(name) + 1, block) for name in sampled)

    def rows(seeds: range, compile: bool) -> int:
        return sum(len(generate(s, compile)) - 1 for s in seeds)

    runs = {
        "microgpt-style program, sample()": program_rows,
        "GPT.generate eager, one name a call": lambda: rows(range(args.eager_names), False),
        "GPT.generate compiled, one name a call": lambda: rows(range(args.single_names), True),
    }
    for size in args.batch:
        runs[f"GPT.generate compiled, num_samples={size}"] = lambda size=size: sum(
            len(row) - 1 for row in generate(0, True, size)
        )
    gc.collect()
    gc.freeze()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    with threadpool_limits(1):
        for name in order:
            runs[name]()  # warm-up: the tapes' tables for each batch size
        for round_ in range(args.rounds):
            shift = round_ % len(order)
            for name in order[shift:] + order[:shift]:
                gc.collect()
                start = time.perf_counter()
                tokens = runs[name]()
                rates[name].append(tokens / (time.perf_counter() - start))
    medians = {name: statistics.median(found) for name, found in rates.items()}
    base, eager = medians[order[0]], medians[order[1]]
    print(f"generation, tokens per second (median of {args.rounds} rounds; temperature "
          f"{TEMPERATURE}, names from the end token)")  # fmt: skip
    print(f"  tracing the 16 tapes of compiled generation took {tracing:.2f} s")
    for name, rate in medians.items():
        print(f"  {name:45s} {rate:9.0f}   {rate / base:7.1f}x the program   "
              f"{rate / eager:6.1f}x eager")  # fmt: skip


if __name__ == "__main__":
    main()
