"""chainrule against an earlier commit of itself: mlp_step, chain and wide, in one run.

    python benchmarks/compare.py                # the working tree against HEAD
    python benchmarks/compare.py HEAD~3         # ... against any commit
    python benchmarks/compare.py main --rounds 9

A change to the recording or sweep path must not slow these workloads down; machines drift by
more than the few percent that matter here, so the two versions are measured in one run, taking
turns. Each round starts one fresh interpreter per version (in alternating order); each
interpreter imports its version's `autograd` and `nn`, freezes the imports' objects for the
collector as `run.py` does, and times every workload once. The figures are medians over rounds.
The earlier commit is checked out into a temporary git worktree, removed afterwards; the
workloads' code is this checkout's for both versions, so only the engine differs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = ("mlp_step", "chain", "wide")
UNITS = {"mlp_step": "ms/step", "chain": "us/op", "wide": "ms"}


def measure(root: str) -> dict[str, float]:
    """Time each workload once, on the `autograd` and `nn` found at `root` (in a fresh process)."""
    sys.path.insert(0, root)
    sys.path.insert(1, str(HERE))
    from engines import ChainruleEngine
    from problem import make_problem, wide_inputs

    import autograd

    if not autograd.__file__.startswith(root):
        raise RuntimeError(f"imported {autograd.__file__}, not the autograd under {root}")
    engine, problem, xs = ChainruleEngine(), make_problem(), wide_inputs(100_000)
    gc.collect()
    gc.freeze()
    trainer = engine.trainer(problem)
    trainer.step()  # warm-up: the first step also imports what the losses need
    results = {}
    gc.collect()
    start = time.perf_counter()
    for _ in range(3):
        trainer.step()
    results["mlp_step"] = (time.perf_counter() - start) / 3 * 1e3
    gc.collect()
    chains, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.3:
        engine.chain(10_000)
        chains += 1
    results["chain"] = (time.perf_counter() - start) / (chains * 2 * 10_000) * 1e6
    gc.collect()
    results["wide"] = engine.wide(xs)[0] * 1e3
    return results


def run_rounds(roots: dict[str, str], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Every version measured once per round, in an order that rotates between rounds."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {w: [] for w in WORKLOADS} for name in roots
    }
    names = list(roots)
    for round_ in range(rounds):
        for name in names[round_ % 2 :] + names[: round_ % 2]:
            output = subprocess.run(
                [sys.executable, __file__, "--measure", roots[name]],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for workload, value in json.loads(output.splitlines()[-1]).items():
                samples[name][workload].append(value)
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD", help="the earlier commit (default HEAD)")
    parser.add_argument("--rounds", type=int, default=7, help="fresh interpreters per version")
    parser.add_argument("--measure", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.rev],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        earlier = str(Path(folder) / "earlier")
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", earlier, commit],
            check=True,
        )
        try:
            samples = run_rounds({commit: earlier, "working tree": str(ROOT)}, args.rounds)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", earlier])
    before, after = samples[commit], samples["working tree"]
    print(f"\nmedians over {args.rounds} rounds, {commit} vs the working tree")
    print(f"{'workload':<10} {'unit':<8} {commit:>12} {'working tree':>13} {'change':>8}")
    for workload in WORKLOADS:
        old, new = statistics.median(before[workload]), statistics.median(after[workload])
        change = f"{(new / old - 1) * 100:+.1f}%"
        print(f"{workload:<10} {UNITS[workload]:<8} {old:>12.4g} {new:>13.4g} {change:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
