"""A microgpt-style program's training step on chainrule's `Value` against its own `Value`.

    python benchmarks/microgpt.py               # 7 rounds of 3 steps per engine: about a minute
    python benchmarks/microgpt.py --rounds 3    # quicker, noisier
    python benchmarks/microgpt.py --profile     # then cProfile of chainrule's steps (by own time)

The program is `microgpt_style.py` (microgpt's configuration: n_embd 16, 4 heads, 1 layer, block
size 16, one census name per step), run unchanged on `autograd.Value` and on `MicroValue`, a
micrograd-style engine (children and local-gradient tuples, recursive topological sort). Both
start from the same weights and train on the same names in the same order, in one process,
taking turns: each round times a few steps of each engine (the order rotates), and the figure is
the median over rounds of the time per step. The collector runs at Python's default thresholds;
the imports' objects are frozen first (`gc.freeze()`), as `run.py` does. Alongside the times it
counts the collector's passes per step and the time they take (through `gc.callbacks`).

A third engine runs the same program as a yardstick: `BareValue` (`bare_value.py`), which does
only what no node-per-operation engine can avoid (an object and a dunder call per operator, a
two-pass sweep). Its ratio to the microgpt-style engine is the most any `Value` with one node per
operation could reach here, so the INFO line says how far chainrule's features cost it from that.

Target (issue 24): chainrule at least 2.5x faster per step. Needs the names extra.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time

import checkout  # noqa: F401  (measure this checkout's autograd and nn)
from bare_value import BareValue
from microgpt_style import MicroValue, Program

from autograd import Value
from nn.data import load_names

TARGET = 2.5


class CollectorClock:
    """The collector's passes and their time, summed while `on`."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.seconds = 0.0
        self.on = False
        self._start = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if not self.on:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.passes[info["generation"]] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="steps per engine per round")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    names = load_names("train", seed=0)
    total = 1 + args.rounds * args.steps
    engines = {"chainrule": Value, "microgpt-style": MicroValue, "bare (yardstick)": BareValue}
    programs = {
        name: Program(cls, names, num_steps=total, seed=42) for name, cls in engines.items()
    }
    for program in programs.values():
        program.step()  # warm-up, untimed
    gc.collect()
    gc.freeze()
    clocks = {name: CollectorClock() for name in engines}
    times: dict[str, list[float]] = {name: [] for name in engines}
    losses: dict[str, list[float]] = {name: [] for name in engines}
    order = list(engines)
    for round_ in range(args.rounds):
        for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
            program, clock = programs[name], clocks[name]
            gc.collect()
            clock.on = True
            start = time.perf_counter()
            for _ in range(args.steps):
                losses[name].append(program.step())
            times[name].append((time.perf_counter() - start) / args.steps)
            clock.on = False
    worst = max(
        abs(a - b) for name in engines for a, b in zip(losses[name], losses["microgpt-style"])
    )
    steps = args.rounds * args.steps
    print(f"microgpt-style training step, {steps} steps per engine, median of {args.rounds} rounds")
    print(f"{'engine':<16}{'ms/step':>10}{'gc passes/step (gen 0, 1, 2)':>32}{'gc ms/step':>12}")
    for name in engines:
        passes = ", ".join(f"{count / steps:.1f}" for count in clocks[name].passes)
        print(
            f"{name:<16}{statistics.median(times[name]) * 1e3:>10.1f}{passes:>32}"
            f"{clocks[name].seconds / steps * 1e3:>12.1f}"
        )
    ratio = statistics.median(times["microgpt-style"]) / statistics.median(times["chainrule"])
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"losses agree to {worst:.1e}")
    print(f"{verdict}: chainrule {ratio:.2f}x faster per step (target >= {TARGET}x)")
    bare = statistics.median(times["microgpt-style"]) / statistics.median(times["bare (yardstick)"])
    print(
        f"INFO: bare (the least any node-per-operation Value does) {bare:.2f}x faster; "
        f"chainrule takes {bare / ratio:.2f}x its time"
    )

    if args.profile:
        gc.unfreeze()
        program = Program(Value, names, num_steps=10, seed=42)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            program.step()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
