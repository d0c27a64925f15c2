"""`nn.GPT.microgpt`'s eager training step against the microgpt-style program on its own `Value`.

    python benchmarks/gpt_step.py               # 7 rounds of 3 steps per engine: under a minute
    python benchmarks/gpt_step.py --rounds 3    # quicker, noisier

Both train microgpt's configuration on the same census names in the same order, one name per
step, with Adam and a linearly decaying learning rate: the program of `microgpt_style.py` on
`MicroValue` (children and local-gradient tuples, recursive topological sort), and `nn`'s model
as a user writes it (`GPT.microgpt`, `sequence_cross_entropy`, `nn.optim.Adam`, `LinearLR`).
They take turns in one process (the order rotates), and each figure is the median over rounds
of the time per step; the imports' objects are frozen first (`gc.freeze()`), as `run.py` does.

Target (issue 24): nn.GPT eager at least 5x faster per step. Needs the names extra.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import checkout  # noqa: F401  (measure this checkout's autograd and nn)
from microgpt_style import MicroValue, Program

from nn import GPT
from nn.data import CharTokenizer, load_names
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR

TARGET = 5.0


class ModelProgram:
    """nn's GPT trained as `Program` trains: the same names in the same order, one per step."""

    def __init__(self, docs: list[str], num_steps: int) -> None:
        self.docs = docs
        self.tokenizer = CharTokenizer(docs)
        self.model = GPT.microgpt(self.tokenizer.vocab_size, seed=42)
        self.optimizer = Adam(self.model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
        self.schedule = LinearLR(self.optimizer, 1.0, 0.0, total_iters=num_steps)
        self.steps_done = 0

    def step(self) -> float:
        doc = self.docs[self.steps_done % len(self.docs)]
        tokens = self.tokenizer.encode(doc, ends=True)[: self.model.block_size + 1]
        loss = sequence_cross_entropy(self.model(tokens[:-1]), tokens[1:])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        self.steps_done += 1
        return loss.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="steps per engine per round")
    args = parser.parse_args()

    names = load_names("train", seed=0)
    total = 1 + args.rounds * args.steps
    program = Program(MicroValue, names, num_steps=total, seed=42)
    engines = {"nn.GPT": ModelProgram(program.docs, total), "microgpt-style": program}
    for engine in engines.values():
        engine.step()  # warm-up, untimed
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in engines}
    order = list(engines)
    for round_ in range(args.rounds):
        for name in order[round_ % 2 :] + order[: round_ % 2]:
            gc.collect()
            start = time.perf_counter()
            for _ in range(args.steps):
                engines[name].step()
            times[name].append((time.perf_counter() - start) / args.steps)
    print(f"microgpt's training step, {args.rounds * args.steps} steps each, median of rounds")
    for name, measured in times.items():
        print(f"{name:<16}{statistics.median(measured) * 1e3:>10.1f} ms/step")
    ratio = statistics.median(times["microgpt-style"]) / statistics.median(times["nn.GPT"])
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"{verdict}: nn.GPT eager {ratio:.1f}x faster per step (target >= {TARGET:g}x)")


if __name__ == "__main__":
    main()
