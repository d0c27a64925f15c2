"""Compiled GPT training at batch 32 against the microgpt-style program on its own `Value`.

    python benchmarks/gpt_compiled.py                 # 300 names each: about two minutes here
    python benchmarks/gpt_compiled.py --names 1000    # microgpt's 1000 steps: about five

Both see the same census names in the same order, the same number of tokens:

- the program of `microgpt_style.py` on `MicroValue`, one name per step (Adam, lr 0.01 decaying
  linearly to 0), as microgpt trains;
- `nn.GPT.microgpt` through `fit(compile=True)`: the names as padded mini-batches of 32
  (`language_model_pairs(..., pad=)`), Adam with lr `--lr` decaying linearly to 0 over the
  steps. The time includes tracing (one tape: every batch is padded to one length).

Tokens per second count the positions scored (a name of n letters: n + 1), not the padding.
Each model's held-out loss is the mean cross-entropy over every position of the first
`--held-out` validation names (`load_names("validation")`), the program's computed with its own
forward. Generation: tokens per second of `GPT.generate` (eager, with its key/value cache) against
the program's `sample()`; `gpt_generate.py` times compiled generation too.

Target (issue 24): compiled training at least 200x the program's tokens per second, with a
held-out loss no worse. Needs the names extra.
"""

from __future__ import annotations

import argparse
import gc
import math
import time

import checkout  # noqa: F401  (measure this checkout's autograd and nn)
from microgpt_style import MicroValue, Program, gpt, softmax

from nn import GPT
from nn.data import CharTokenizer, language_model_pairs, load_names
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR
from nn.train import evaluate, fit

TARGET = 200.0


def program_held_out(program: Program, names: list[str]) -> float:
    """The program's mean cross-entropy over every position of `names`, forward only."""
    total, count = 0.0, 0
    for name in names:
        tokens = [program.end] + [program.chars.index(c) for c in name] + [program.end]
        keys, values = [[] for _ in range(program.n_layer)], [[] for _ in range(program.n_layer)]
        for position in range(min(program.block_size, len(tokens) - 1)):
            logits = gpt(program.params, tokens[position], position, keys, values, program.n_head)
            total -= math.log(softmax(logits)[tokens[position + 1]].data)
            count += 1
    return total / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=300, help="names (steps) for the program")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.04, help="the compiled run's Adam lr")
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    train, held_out = load_names("train", seed=0), load_names("validation", seed=0)[: args.held_out]
    program = Program(MicroValue, train, num_steps=args.names, seed=42)
    docs = program.docs[: args.names]  # the program's order, shuffled by its own seed
    tokens = sum(min(program.block_size, len(d) + 1) for d in docs)
    gc.collect()
    gc.freeze()

    start = time.perf_counter()
    for _ in docs:
        program.step()
    program_time = time.perf_counter() - start
    program_loss = program_held_out(program, held_out)

    tokenizer = CharTokenizer(train)
    model = GPT.microgpt(tokenizer.vocab_size, seed=42)
    encoded = [tokenizer.encode(d, ends=True) for d in docs]
    data = language_model_pairs(encoded, model.block_size, pad=tokenizer.end_id)
    steps = math.ceil(len(docs) / args.batch)
    optimizer = Adam(model.parameters(), lr=args.lr, betas=(0.85, 0.99), eps=1e-8)
    schedule = LinearLR(optimizer, 1.0, 0.0, total_iters=steps)
    start = time.perf_counter()
    fit(model, sequence_cross_entropy, optimizer, data, epochs=1, batch_size=args.batch,
        shuffle=False, scheduler=schedule, scheduler_interval="step", progress=False,
        compile=True)  # fmt: skip
    compiled_time = time.perf_counter() - start
    held = language_model_pairs(
        [tokenizer.encode(n, ends=True) for n in held_out], model.block_size
    )
    compiled_loss, _ = evaluate(model, sequence_cross_entropy, held, compile=True)

    start = time.perf_counter()
    samples = program.sample(args.samples)
    program_sampling = sum(len(s) + 1 for s in samples) / (time.perf_counter() - start)
    start, generated = time.perf_counter(), 0
    for seed in range(args.samples):
        tokens_out = model.generate([tokenizer.end_id], model.block_size, temperature=0.5,
                                    seed=seed, stop_token=tokenizer.end_id)  # fmt: skip
        generated += len(tokens_out) - 1
    eager_sampling = generated / (time.perf_counter() - start)

    program_rate, compiled_rate = tokens / program_time, tokens / compiled_time
    ratio = compiled_rate / program_rate
    print(f"training on {len(docs)} names ({tokens} tokens), held-out loss on {len(held_out)}")
    print(f"  microgpt-style program, one name a step: {program_rate:9.0f} tokens/s, "
          f"held-out loss {program_loss:.4f}")  # fmt: skip
    print(f"  nn.GPT compiled, batch {args.batch} ({steps} steps, lr {args.lr}): "
          f"{compiled_rate:9.0f} tokens/s, held-out loss {compiled_loss:.4f}")  # fmt: skip
    verdict = "met" if ratio >= TARGET and compiled_loss <= program_loss else "NOT met"
    print(f"  throughput {ratio:.0f}x (target {TARGET:.0f}x, loss no worse): {verdict}")
    print(f"generation: nn.GPT.generate eager with its cache {eager_sampling:.0f} tokens/s, "
          f"the program's sample() {program_sampling:.0f} tokens/s "
          f"({eager_sampling / program_sampling:.1f}x); compiled: gpt_generate.py")  # fmt: skip


if __name__ == "__main__":
    main()
