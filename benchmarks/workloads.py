"""The workloads, each measured on every engine and turned into rows of the table.

Times are medians over alternating repeats (`measure.alternate`). What is on the clock:
- mlp_step: a whole training step (forward, backward, SGD update, and freeing the step's graph),
  on a model built off the clock from the shared initial weights;
- chain, wide, scaling: forward and backward; the graph is freed after the clock stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from measure import (
    alternate,
    chain_memory,
    deepest_chain,
    first_backward,
    median,
    rss_memory,
    step_peak_memory,
)
from problem import Problem
from report import Row

Reach = dict[str, tuple[int, str | None]]  # engine -> (longest chain that works, error beyond it)


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one run."""

    repeats: int = 5
    mlp_steps: int = 2  # steps per sample
    chain_short: int = 400  # within micrograd's reach (its recursive sort dies near n = 500)
    chain_long: int = 10_000
    sample_seconds: float = 0.3  # chains are repeated until a sample has timed this long
    wide: int = 100_000
    memory_chain: int = 100_000
    scaling: tuple[int, ...] = (10**3, 10**4, 10**5, 10**6)
    scaling_repeats: int = 3
    depth_limit: int = 10**6
    torch_depth_limit: int = 10**6
    paused_longest: int = 10**7  # the chain whose growth over 10^6 is shown inside gc_paused()


def _row(label: str, unit: str, scale: float, samples: dict, api: str = "") -> Row:
    row = Row(label, unit, {}, api=api, samples=samples)
    for name, measured in samples.items():
        middle = median(measured)
        row.values[name] = middle if isinstance(middle, str) else middle * scale
    return row


def mlp_rows(engines: list[Any], problem: Problem, config: Config) -> list[Row]:
    """Seconds per training step of micrograd's demo, and peak memory of one step."""

    def case(engine: Any) -> Callable[[], float]:
        def timed() -> float:
            trainer = engine.trainer(problem)
            start = time.perf_counter()
            for _ in range(config.mlp_steps):
                trainer.step()
            return (time.perf_counter() - start) / config.mlp_steps

        return timed

    samples = alternate({e.name: case(e) for e in engines}, config.repeats)
    api = engines[0].api["mlp_step"]
    return [_row("mlp_step", "ms/step", 1e3, samples, api)]


def chain_case(engine: Any, n: int, sample_seconds: float) -> Callable[[], float]:
    """Seconds per op (2n ops per chain), over as many chains as fill `sample_seconds`.

    A long sample charges the collector's full passes at their steady rate: they come every few
    chains of 10^4, so one chain timed just after `gc.collect()` would dodge them.
    """

    def timed() -> float:
        seconds, chains = 0.0, 0
        while seconds < sample_seconds:
            seconds += engine.chain(n)[0]
            chains += 1
        return seconds / (chains * 2 * n)

    return timed


def _chain_samples(engines: list[Any], n: int, config: Config, reach: Reach, repeats: int) -> dict:
    """Chain timings at length n; an engine known to fail there is not run (its error is kept)."""
    cases = {}
    samples: dict = {}
    for engine in engines:
        deepest, error = reach.get(engine.name, (n, None))
        if n > deepest:
            samples[engine.name] = error
        else:
            cases[engine.name] = chain_case(engine, n, config.sample_seconds)
    samples.update(alternate(cases, repeats))
    return samples


def chain_rows(engines: list[Any], config: Config, reach: Reach) -> list[Row]:
    """Microseconds per op of y <- y * 1.0001 + 0.5, at micrograd's reach and beyond it."""
    api = engines[0].api["chain"]
    return [
        _row(
            f"chain n={n:,}",
            "us/op",
            1e6,
            _chain_samples(engines, n, config, reach, config.repeats),
            api,
        )
        for n in (config.chain_short, config.chain_long)
    ]


def wide_rows(engines: list[Any], xs: list[float], config: Config) -> list[Row]:
    """Milliseconds for the sum of 10^5 squares: a tree of +, and chainrule's one-node sum."""
    cases = {e.name: (lambda e=e: e.wide(xs)[0]) for e in engines}
    chainrule = engines[0]
    cases["sum_values"] = lambda: chainrule.wide_sum_values(xs)[0]
    samples = alternate(cases, config.repeats)
    sum_values = samples.pop("sum_values")
    n = len(xs)
    return [
        _row(f"wide n={n:,} pairwise +", "ms", 1e3, samples, chainrule.api["wide"]),
        _row(
            f"wide n={n:,} sum_values",
            "ms",
            1e3,
            {"chainrule": sum_values},
            chainrule.api["wide_sum"],
        ),
    ]


def memory_rows(engines: list[Any], problem: Problem, config: Config) -> list[Row]:
    """Bytes per node of the chain (after forward, after backward), and one step's peak."""
    n = config.memory_chain
    forward = Row(f"memory chain n={n:,}, after forward", "B/node", {}, timed=False)
    backward = Row(f"memory chain n={n:,}, after backward", "B/node", {}, timed=False)
    peak = Row("memory mlp_step peak", "KiB", {}, timed=False)
    for engine in engines:
        if engine.name == "torch":
            figures = rss_memory("TorchEngine", n)
            for row, key in ((forward, "after_forward"), (backward, "after_backward")):
                row.values["torch"] = figures[key]
                row.notes["torch"] = " (rss)"
            step = figures["step_peak"]
            peak.values["torch"] = step if isinstance(step, str) else step / 1024
            peak.notes["torch"] = " (rss)"
            continue
        if engine.name == "floor":
            forward.values["floor"] = backward.values["floor"] = "no graph"
        else:
            figures = chain_memory(engine, n)
            forward.values[engine.name] = figures["after_forward"]
            backward.values[engine.name] = figures["after_backward"]
        trainer = engine.trainer(problem)
        peak.values[engine.name] = step_peak_memory(trainer) / 1024
    return [forward, backward, peak]


# The pure-Python engines, whose bytecode CPython specializes as it runs (torch's loop is C++).
PYTHON_ENGINES = ("chainrule", "micrograd")


def first_backward_rows(engines: list[Any], config: Config) -> list[Row]:
    """Milliseconds of the first backward() in a fresh interpreter, and of later calls, on the
    wide graph (backward only)."""
    n = config.wide
    first = Row(f"first backward(), fresh interpreter, wide n={n:,}", "ms", {}, timed=False)
    later = Row("backward(), calls 10 to 14 of that interpreter", "ms", {}, timed=False)
    for engine in engines:
        if engine.name in PYTHON_ENGINES:
            figures = first_backward(type(engine).__name__, n)
            first.values[engine.name] = figures["first"] * 1e3
            later.values[engine.name] = figures["later"] * 1e3
    return [first, later]


def deepest_chains(engines: list[Any], config: Config) -> dict[str, tuple[int, str | None]]:
    """The longest chain each graph engine survives, up to the limit (`measure.deepest_chain`)."""
    reach = {}
    for engine in engines:
        if engine.name != "floor":
            limit = config.torch_depth_limit if engine.name == "torch" else config.depth_limit
            reach[engine.name] = deepest_chain(engine, limit)
    return reach


def depth_row(reach: Reach) -> Row:
    """The deepest chains as a row of the table."""
    row = Row("deepest chain", "n", {"floor": "no graph"}, timed=False)
    for name, (deepest, error) in reach.items():
        row.values[name] = float(deepest)
        if error:
            row.notes[name] = f" ({error} at {deepest + 1:,})"
        else:
            row.notes[name] = " (limit)"
    return row


def _scaling(
    chosen: list[Any], lengths: tuple[int, ...], config: Config, reach: Reach, where: str
) -> list[Row]:
    """Nanoseconds per node of the chain at each length, and the ratio longest / shortest."""
    rows = [
        _row(
            f"scaling n={n:,}{where}",
            "ns/node",
            1e9,
            _chain_samples(chosen, n, config, reach, config.scaling_repeats),
        )
        for n in lengths
    ]
    first, last = rows[0], rows[-1]
    growth = Row(f"scaling t({lengths[-1]:,})/t({lengths[0]:,}){where}", "x", {}, timed=False)
    for e in chosen:
        a, b = first.values.get(e.name), last.values.get(e.name)
        growth.values[e.name] = "-" if isinstance(a, str) or isinstance(b, str) else b / a
    return [*rows, growth]


def scaling_rows(engines: list[Any], config: Config, reach: Reach) -> list[Row]:
    """Nanoseconds per node of the chain at each length, and the ratio longest / shortest."""
    chosen = [e for e in engines if e.name in ("chainrule", "micrograd", "floor")]
    return _scaling(chosen, config.scaling, config, reach, "")


def scaling_inside_gc_paused_rows(engines: list[Any], config: Config, reach: Reach) -> list[Row]:
    """chainrule's ns/node at the shortest and longest chains inside `autograd.gc_paused()`, and
    their ratio; then at `paused_longest` (10^7) and its ratio to the longest (10^6).

    chainrule's graphs hold no reference cycles (a node refers only to its parents), so reference
    counting frees them and the cyclic collector has nothing to find in them; its full passes over
    a large live graph are what make the time per node grow with n. These rows show the engine's
    own growth beside the default one, with the switch the README offers users of large graphs.
    """
    from autograd import gc_paused

    chosen = [e for e in engines if e.name == "chainrule"]
    lengths = (config.scaling[0], config.scaling[-1])
    longest = config.paused_longest
    reach = {**reach, "chainrule": (longest, None)}  # beyond the depth probe's limit, on purpose
    with gc_paused():
        rows = _scaling(chosen, lengths, config, reach, ", inside gc_paused()")
        further = _scaling(chosen, (lengths[-1], longest), config, reach, ", inside gc_paused()")
    return [*rows, further[1], further[2]]
