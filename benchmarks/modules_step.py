"""Compiled against eager training steps for a model with dropout and batch normalisation.

The model is Sequential(Linear(2, H, bias=False), BatchNorm1d(H), ReLU(), Dropout(0.2),
Linear(H, 1)) with binary cross-entropy and Adam on two-moons points (`nn.data.make_moons`),
one optimizer step per batch: `fit`'s eager step (`nn.train._eager_step`) against its compiled
step (`nn.train.compiled.CompiledTraining.batch`: the masks drawn in eager order, the batch
statistics in the tape, the running statistics tracked). Both start from the same seeds, and the
script first checks that one epoch of each ends with the same weights and buffers (to 1e-9).
Each figure is the median over alternating repeats of the time per step; tracing is not
included (it happens once per training run), and is reported on its own. "plain ms" is the
compiled step of the same layers without dropout and batch norm: what those two cost in a tape.

    python benchmarks/modules_step.py            # H = 16 and 64, batches of 32 and 256
    python benchmarks/modules_step.py --quick
"""

from __future__ import annotations

import argparse
import time

import checkout  # noqa: F401  (puts this checkout's autograd and nn on sys.path)
from measure import alternate, median

from nn import BatchNorm1d, Dropout, Linear, ReLU, Sequential
from nn.data import batches, make_moons
from nn.losses import binary_cross_entropy
from nn.optim import Adam
from nn.train import _eager_step
from nn.train.compiled import CompiledTraining


def build(width: int, modules: bool = True) -> Sequential:
    if not modules:  # the same layers without dropout and batch norm, for comparison
        return Sequential(Linear(2, width, seed=0), ReLU(), Linear(width, 1, seed=2))
    return Sequential(
        Linear(2, width, bias=False, seed=0), BatchNorm1d(width), ReLU(), Dropout(0.2, seed=1),
        Linear(width, 1, seed=2),
    )  # fmt: skip


class Trainer:
    """One model, its optimizer and its batches; `steps(n)` takes n steps, compiled or not."""

    def __init__(self, width: int, batch: int, compiled: bool, modules: bool = True) -> None:
        self.data = make_moons(8 * batch, noise=0.1, seed=0)
        self.model = build(width, modules).train()
        self.optimizer = Adam(self.model.parameters(), lr=0.01)
        self.batches = list(batches(self.data, batch, shuffle=True, seed=0))
        self.training = None
        if compiled:
            start = time.perf_counter()
            self.training = CompiledTraining(
                self.model, binary_cross_entropy, self.optimizer, None, self.data
            )
            self.trace_seconds = time.perf_counter() - start

    def steps(self, count: int) -> float:
        """Seconds per step over `count` steps (cycling through the batches)."""
        parameters = self.model.parameters()
        start = time.perf_counter()
        if self.training is None:
            for i in range(count):
                X, y = self.batches[i % len(self.batches)]
                _eager_step(
                    self.model, binary_cross_entropy, self.optimizer, X, y, parameters, None
                )
        else:
            with self.training.epoch():
                for i in range(count):
                    self.training.batch(*self.batches[i % len(self.batches)])
        return (time.perf_counter() - start) / count


def check_agreement(width: int, batch: int) -> float:
    """The largest difference in weights and buffers after one epoch, eager against compiled."""
    eager, compiled = Trainer(width, batch, False), Trainer(width, batch, True)
    count = len(eager.batches)
    eager.steps(count)
    compiled.steps(count)
    a, b = eager.model, compiled.model
    pairs = [(p.data, q.data) for p, q in zip(a.parameters(), b.parameters())]
    pairs += list(zip(a.buffers(), b.buffers()))
    return max(abs(p - q) for p, q in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    options = parser.parse_args(argv)
    repeats, steps = (3, 4) if options.quick else (7, 8)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    print(f"{'H':>4} {'batch':>6} {'eager ms':>10} {'compiled ms':>12} {'speed-up':>9} "
          f"{'trace ms':>9} {'plain ms':>9} {'gap':>8}")  # fmt: skip
    for width in (16, 64):
        for batch in (32, 256):
            gap = check_agreement(width, batch)
            if gap > 1e-9:
                raise SystemExit(f"H={width}, batch {batch}: compiled differs by {gap:.2e}")
            eager, compiled = Trainer(width, batch, False), Trainer(width, batch, True)
            plain = Trainer(width, batch, True, modules=False)
            cases = {
                "eager": lambda trainer=eager: trainer.steps(max(1, steps // 4)),
                "compiled": lambda trainer=compiled: trainer.steps(steps * 4),
                "plain": lambda trainer=plain: trainer.steps(steps * 4),
            }
            if threadpool_limits is not None:
                with threadpool_limits(1):
                    samples = alternate(cases, repeats)
            else:
                samples = alternate(cases, repeats)
            e, c = median(samples["eager"]), median(samples["compiled"])
            p = median(samples["plain"])
            print(f"{width:>4} {batch:>6} {e * 1e3:>10.2f} {c * 1e3:>12.3f} {e / c:>8.0f}x "
                  f"{compiled.trace_seconds * 1e3:>9.1f} {p * 1e3:>9.3f} {gap:>8.1e}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
