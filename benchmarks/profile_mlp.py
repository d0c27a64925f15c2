"""Where chainrule's training step spends its time: phase by phase, then function by function.

    python benchmarks/profile_mlp.py               # 5 steps: phase timings, then cProfile's top 25
    python benchmarks/profile_mlp.py --steps 10 --top 40

The phases (forward through the model, the loss, zero_grad, backward, the SGD update) are timed
with time.perf_counter and no profiler, so they are not distorted; cProfile then names the
functions, sorted by their own time (tottime). cProfile charges a fixed cost to every Python call,
so it inflates code made of many small calls: read its list for order, the phases for size.

Last, the cost of the graph scopes nn enters on every module call (they let `draw_graph` box each
neuron and layer): whole steps, alternately with the scopes and with `Module.__call__` replaced
by a plain call of `forward`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time

import checkout  # noqa: F401  (first: makes `autograd` and `nn` this checkout's)
from engines import ChainruleTrainer
from problem import ALPHA, LEARNING_RATE, make_problem

from autograd import topological_order
from nn import Module


def phase_times(trainer: ChainruleTrainer, steps: int) -> tuple[dict[str, float], int]:
    """Median seconds of each phase of a step, and the number of nodes in one step's graph."""
    model, params, problem = trainer.model, trainer.params, trainer.problem
    phases: dict[str, list[float]] = {
        "forward (MLP calls)": [],
        "loss (hinge + l2)": [],
        "zero_grad": [],
        "backward": [],
        "SGD update": [],
        "freeing the graph": [],
    }
    nodes = 0
    for _ in range(steps):
        gc.collect()
        marks = [time.perf_counter()]
        scores = [model(x) for x in problem.X]
        marks.append(time.perf_counter())
        loss = trainer.hinge(scores, problem.y) + ALPHA * trainer.l2(params)
        marks.append(time.perf_counter())
        model.zero_grad()
        marks.append(time.perf_counter())
        loss.backward()
        marks.append(time.perf_counter())
        for p in params:
            p.data -= LEARNING_RATE * p.grad
        marks.append(time.perf_counter())
        if not nodes:
            nodes = len(topological_order(loss))
            marks[-1] = time.perf_counter()  # the count is not part of the step
        del scores, loss
        marks.append(time.perf_counter())
        for name, start, end in zip(phases, marks, marks[1:]):
            phases[name].append(end - start)
    return {name: statistics.median(times) for name, times in phases.items()}, nodes


def scope_cost(trainer: ChainruleTrainer, steps: int) -> tuple[float, float]:
    """Median seconds of a whole step with nn's graph scopes, and without them."""

    def without_scopes(module: Module, *args: object, **kwargs: object) -> object:
        return module.forward(*args, **kwargs)

    with_scopes = Module.__call__
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for _ in range(steps):
            for scoped in (True, False):
                Module.__call__ = with_scopes if scoped else without_scopes
                gc.collect()
                start = time.perf_counter()
                trainer.step()
                times[scoped].append(time.perf_counter() - start)
    finally:
        Module.__call__ = with_scopes
    return statistics.median(times[True]), statistics.median(times[False])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="training steps to time and profile")
    parser.add_argument("--top", type=int, default=25, help="functions to list")
    args = parser.parse_args(argv)

    trainer = ChainruleTrainer(make_problem())
    trainer.step()  # warm-up
    medians, nodes = phase_times(trainer, args.steps)
    total = sum(medians.values())
    print(f"one step of MLP(2, [16, 16, 1]) on 100 points: {nodes:,} nodes in its graph")
    print(f"{'phase':<22}{'ms':>8}{'share':>8}{'ns/node':>10}")
    for name, seconds in medians.items():
        print(f"{name:<22}{seconds * 1e3:8.2f}{seconds / total:8.0%}{seconds / nodes * 1e9:10.0f}")
    print(f"{'total':<22}{total * 1e3:8.2f}{1:8.0%}{total / nodes * 1e9:10.0f}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.steps):
        trainer.step()
    profiler.disable()
    print(f"\ncProfile over {args.steps} steps, by own time (tottime):")
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(args.top)

    scoped, bare = scope_cost(trainer, max(args.steps, 9))
    print(
        f"graph scopes: a step takes {scoped * 1e3:.1f} ms with them, {bare * 1e3:.1f} ms "
        f"without: they cost {(scoped - bare) / scoped:.0%} of the step"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
