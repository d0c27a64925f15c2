"""The speed and memory benchmark: chainrule against micrograd, PyTorch and hand-written floats.

    python benchmarks/run.py                      # the full run: a few minutes on 2 cores
    python benchmarks/run.py --quick              # fewer repeats and smaller sizes: under a minute
    python benchmarks/run.py --json results.json  # also save every measurement
    python benchmarks/run.py --no-gc-freeze       # leave the imports' objects to the collector

Every engine runs in this one process on the same data and initial weights, after a check that
all of them compute the same numbers. See benchmarks/README.md for what each workload measures.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import platform
import sys
import time
from dataclasses import asdict

import checkout  # noqa: F401  (first: makes `autograd` and `nn` this checkout's)
from agreement import check_chain, check_mlp_step, check_vectorised, check_wide
from conv_tape import cnn_rows, cnn_target
from engines import available_engines
from problem import make_problem, wide_inputs
from report import (
    Row,
    Target,
    at_least,
    at_most,
    information,
    medians_table,
    ratios_table,
    targets_table,
)
from vectorised import (
    import_what_the_rows_need,
    mnist_rows,
    single_threaded,
    tracing_rows,
    vectorised_mlp_rows,
    vectorised_trainers,
)
from workloads import (
    Config,
    chain_rows,
    deepest_chains,
    depth_row,
    first_backward_rows,
    memory_rows,
    mlp_rows,
    scaling_inside_gc_paused_rows,
    scaling_rows,
    wide_rows,
)

COLUMNS = ["chainrule", "micrograd", "torch", "floor"]
FULL = Config()
QUICK = Config(
    repeats=3,
    mlp_steps=1,
    sample_seconds=0.15,
    wide=20_000,
    memory_chain=20_000,
    scaling_repeats=1,
    torch_depth_limit=10**5,
    paused_longest=3 * 10**6,
)


def environment(missing: dict[str, str]) -> dict[str, str]:
    """What the figures depend on besides the code."""
    versions = {"python": platform.python_version(), "machine": platform.platform()}
    for package in ("micrograd", "torch"):
        try:
            versions[package] = missing.get(package) or importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["gc"] = f"enabled={gc.isenabled()}, thresholds={gc.get_threshold()} (Python default)"
    if gc.get_freeze_count():
        versions["gc"] += f"; {gc.get_freeze_count():,} objects frozen after the imports"
    versions["recursion limit"] = str(sys.getrecursionlimit())
    return versions


def targets(rows: dict[str, Row], config: Config) -> list[Target]:
    """The project's goals, each checked against the rows it concerns.

    A goal on speed is a ratio of two figures of the same run (against micrograd, plain floats,
    NumPy or PyTorch measured beside it), so that a slower machine, where every figure grows
    alike, meets or misses it as this one does. Memory in bytes per node and the deepest chain
    are counts, the same on any machine.
    """
    mlp, wide = rows["mlp_step"], rows["wide"]
    chain_long, chain_short = rows["chain_long"], rows["chain_short"]
    forward, backward = rows["memory_forward"], rows["memory_backward"]
    depth, growth = rows["depth"], rows["growth"]
    per_node = (forward.values["chainrule"], backward.values["chainrule"])
    worst = "missing" if any(isinstance(v, str) for v in per_node) else max(per_node)
    micrograd_chain = chain_short.values.get("micrograd", "n/a")
    return [
        at_least("mlp_step: micrograd time / chainrule time", _ratio(mlp, "micrograd"), 10),
        at_least(
            "wide (pairwise +): micrograd time / chainrule time", _ratio(wide, "micrograd"), 5
        ),
        at_least(
            f"chain: micrograd us/op at n={config.chain_short} / chainrule us/op at "
            f"n={config.chain_long:,}",
            _over(micrograd_chain, chain_long.values["chainrule"]),
            5,
            f"chainrule {_text(chain_long.values['chainrule'])} us/op",
        ),
        at_most("memory: chainrule bytes/node, worst of after forward/backward", worst, 200),
        at_least("deepest chain chainrule survives", depth.values["chainrule"], 10**6),
        # Issue 8's target, retired by issue 15 (the growth is the cyclic collector's, which
        # gc_paused() removes): the figure stays, as information.
        information(
            f"scaling: chainrule t/node at {config.scaling[-1]:,} / at {config.scaling[0]:,}",
            growth.values["chainrule"],
            f"inside autograd.gc_paused(): {_text(rows['growth_gc_paused'].values['chainrule'])}",
        ),
        *_vectorised_targets(rows),
    ]


def _vectorised_targets(rows: dict[str, Row]) -> list[Target]:
    """The compiled tapes' goals (issue 15): against micrograd, NumPy by hand, PyTorch."""
    small, large = rows["vectorised_100"].values, rows["vectorised_1000"].values
    mnist, eager = rows["mnist"].values, rows["mlp_step"].values["chainrule"]
    micrograd = rows["mlp_step"].values.get("micrograd", "n/a")
    tracing = rows["tracing"].values["chainrule"]
    return [
        at_least(
            "compiled mlp_step, batch 100: micrograd time / compiled time",
            micrograd if isinstance(micrograd, str) else micrograd / small["chainrule"],
            500,
        ),
        at_most(
            "compiled mlp_step, batch 1,000: compiled time / NumPy by hand",
            large["chainrule"] / large["floor"],
            3,
        ),
        at_most(
            "MLP(784, [128, 10]), batch 256: compiled time / torch nn.Linear float64",
            _over(mnist.get("chainrule"), mnist.get("torch", "n/a")),
            5,
            f"peak memory per step {_text(rows['mnist_memory'].values['chainrule'])} MiB",
        ),
        at_most("tracing mlp_step's tapes, in eager mlp_steps", tracing / eager, 3),
        cnn_target(rows["mnist1d_cnn"]),
    ]


def _over(a: float | str, b: float | str) -> float | str:
    return b if isinstance(b, str) else a if isinstance(a, str) else a / b


def _ratio(row: Row, engine: str) -> float | str:
    a, b = row.values.get(engine, "n/a"), row.values["chainrule"]
    return a if isinstance(a, str) else a / b


def _text(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.3g}"


def measure_everything(config: Config, engines: list, missing: dict[str, str]) -> dict[str, Row]:
    """Check the engines agree, then run every workload; returns the rows by key."""
    problem, xs = make_problem(), wide_inputs(config.wide)

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    say("checking that the engines agree (this is also the warm-up)")
    loss = check_mlp_step(engines, problem)
    check_chain(engines, config.chain_short)
    check_chain(engines, config.chain_long)
    check_wide(engines, xs)
    vectorised = vectorised_trainers("torch" in missing)
    for points in (100, 1000):
        check_vectorised(make_problem(points=points), vectorised)
    say(f"agreed: first-step loss {loss!r}; chain and wide gradients equal; vectorised steps too")
    say("deepest chain (first: later workloads skip the lengths an engine cannot run)")
    reach = deepest_chains(engines, config)
    rows: dict[str, Row] = {}
    say("mlp_step")
    (rows["mlp_step"],) = mlp_rows(engines, problem, config)
    say("chain")
    rows["chain_short"], rows["chain_long"] = chain_rows(engines, config, reach)
    say("wide")
    rows["wide"], rows["wide_sum_values"] = wide_rows(engines, xs, config)
    say("memory (tracemalloc; torch by RSS in a fresh interpreter)")
    memory = memory_rows(engines, problem, config)
    rows["memory_forward"], rows["memory_backward"], rows["memory_step"] = memory
    rows["depth"] = depth_row(reach)
    say("first backward() in a fresh interpreter")
    rows["first_backward"], rows["later_backward"] = first_backward_rows(engines, config)
    say("scaling")
    *scaling, growth = scaling_rows(engines, config, reach)
    for n, row in zip(config.scaling, scaling):
        rows[f"scaling_{n}"] = row
    rows["growth"] = growth
    paused = scaling_inside_gc_paused_rows(engines, config, reach)
    paused_short, paused_long, paused_growth, *further = paused
    rows["scaling_paused_shortest"], rows["scaling_paused_longest"] = paused_short, paused_long
    rows["growth_gc_paused"] = paused_growth
    rows["scaling_paused_further"], rows["growth_gc_paused_further"] = further
    # Last, so the eager rows above run as they did before tapes existed.
    say("vectorised mlp_step: compiled tapes, NumPy by hand, torch nn.Linear")
    problems = {100: problem, 1000: make_problem(points=1000)}
    torch_missing = "torch" in missing
    with single_threaded():
        found = vectorised_mlp_rows(problems, torch_missing, config.repeats)
        for row, batch in zip(found, problems):
            rows[f"vectorised_{batch}"] = row
        (rows["tracing"],) = tracing_rows(problem, config.repeats)
        say("MLP(784, [128, 10]) with cross-entropy at batch 256")
        rows["mnist"], rows["mnist_memory"], rows["mnist_tracing"] = mnist_rows(
            torch_missing, config.repeats
        )
        say("the MNIST-1D CNN (three Conv1d, one Linear) at batch 100")
        rows["mnist1d_cnn"], rows["mnist1d_cnn_tracing"] = _cnn_rows(torch_missing, config)
    for row in rows.values():
        for name in missing:
            row.values[name] = "n/a"
    return rows


def _cnn_rows(torch_missing: bool, config: Config) -> tuple[Row, Row]:
    """conv_tape.py's rows, or rows saying why not (mnist1d, an extra, not installed)."""
    try:
        step, tracing = cnn_rows(torch_missing, config.repeats)
    except ImportError as error:
        label = "MNIST-1D CNN, batch 100"
        step = Row(label, "ms/step", {"chainrule": f"n/a ({error.name or error})"})
        tracing = Row(f"tracing {label}", "s", {"chainrule": "n/a"}, timed=False)
    return step, tracing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--json", metavar="PATH", help="save every measurement to PATH")
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="do not gc.freeze() after the imports: every engine's collections then also rescan "
        "the objects of every imported library (torch's 150,000 among them)",
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    engines, missing = available_engines()
    import_what_the_rows_need(make_problem())
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    env = environment(missing)
    for key, value in env.items():
        print(f"{key}: {value}")
    started = time.perf_counter()
    rows = measure_everything(config, engines, missing)
    ordered = list(rows.values())
    goals = targets(rows, config)
    print()
    print(medians_table(ordered, COLUMNS))
    if "torch" not in missing:
        print(
            "\n(rss): resident-set growth in a fresh interpreter; tracemalloc cannot see libtorch."
        )
    print("\nHow many times longer each engine takes than chainrule:")
    print(ratios_table(ordered, COLUMNS, "chainrule"))
    print("\nHow many times longer each engine takes than the floor (plain floats):")
    print(ratios_table(ordered, COLUMNS, "floor"))
    print()
    print(targets_table(goals))
    elapsed = time.perf_counter() - started
    print(f"\n{'quick' if args.quick else 'full'} run, {elapsed:.0f} s")
    if args.json:
        document = {
            "config": asdict(config),
            "environment": env,
            "missing": missing,
            "gc_freeze": args.gc_freeze,
            "rows": {key: asdict(row) for key, row in rows.items()},
            "targets": [asdict(goal) for goal in goals],
            "seconds": elapsed,
        }
        with open(args.json, "w") as out:
            json.dump(document, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
