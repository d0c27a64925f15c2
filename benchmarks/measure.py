"""How things are measured: alternating repeats, medians, survival depth, and memory per node.

Garbage collection stays at Python's default (enabled, default thresholds) during every timed
region, because users run with it; `gc.collect()` runs before each measurement, outside the clock,
so garbage left by the previous engine is not charged to the next.
"""

from __future__ import annotations

import gc
import json
import operator
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

Samples = dict[str, list[float] | str]  # engine -> measurements, or why it could not run


def alternate(cases: dict[str, Callable[[], float]], repeats: int) -> Samples:
    """Call every case `repeats` times, rotating the order each round so noise hits all alike.

    A case returns its own measurement (so it can keep set-up and tear-down off the clock). A
    case that raises RecursionError or MemoryError is recorded by the error's name and not rerun.

    >>> samples = alternate({"a": lambda: 1.0, "b": lambda: 2.0}, repeats=3)
    >>> samples["a"], samples["b"]
    ([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    """
    samples: Samples = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            if isinstance(samples[name], str):
                continue
            gc.collect()
            try:
                samples[name].append(cases[name]())
            except (RecursionError, MemoryError) as error:
                samples[name] = type(error).__name__
    return samples


def median(samples: list[float] | str) -> float | str:
    """The median of the measurements, or the reason there are none."""
    return samples if isinstance(samples, str) else statistics.median(samples)


def survives_chain(engine: Any, n: int) -> str | None:
    """None if the chain of length n runs forward and backward on this engine, else the error."""
    gc.collect()
    try:
        engine.chain(n)
    except (RecursionError, MemoryError) as error:
        return type(error).__name__
    return None


def deepest_chain(
    engine: Any, limit: int, start: int = 64, jump: int = 4096
) -> tuple[int, str | None]:
    """The longest chain (n <= limit) that works, and the error that stops the next length.

    Lengths double from `start`; once `jump` works, `limit` is tried next (building every
    doubling up to 10**6 would cost an engine that survives them all twice the time). When a
    length fails, the gap between it and the last length that worked is bisected.
    """
    good, bad = 0, min(start, limit)
    error = survives_chain(engine, bad)
    while error is None and bad < limit:
        good = bad
        bad = limit if bad >= jump else min(2 * bad, limit)
        error = survives_chain(engine, bad)
    if error is None:
        return limit, None
    while bad - good > 1:
        middle = (good + bad) // 2
        failure = survives_chain(engine, middle)
        if failure is None:
            good = middle
        else:
            bad, error = middle, failure
    return good, error


def traced_bytes() -> int:
    return tracemalloc.get_traced_memory()[0]


def chain_memory(engine: Any, n: int) -> dict[str, float | str]:
    """Bytes per node of the chain's graph (2n nodes), after forward and after backward.

    tracemalloc counts every allocation made by Python's allocator, so this covers pure-Python
    engines (nodes, floats, tuples, closures); it cannot see libtorch's C++ heap (`rss_memory`).
    """
    gc.collect()
    x = engine.leaf(1.0)
    tracemalloc.start()
    try:
        base = traced_bytes()
        y = engine.build_chain(x, n)
        result: dict[str, float | str] = {"after_forward": (traced_bytes() - base) / (2 * n)}
        try:
            engine.backward(y)
            result["after_backward"] = (traced_bytes() - base) / (2 * n)
        except RecursionError as error:
            result["after_backward"] = type(error).__name__
    finally:
        tracemalloc.stop()
    return result


def step_peak_memory(trainer: Any) -> int:
    """The peak bytes allocated during one training step, above what the model held before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = traced_bytes()
        tracemalloc.reset_peak()
        trainer.step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def rss_memory(engine_class: str, chain_n: int) -> dict[str, float | str]:
    """What `chain_memory` and `step_peak_memory` report, by resident set size, for an engine
    whose memory tracemalloc cannot see (libtorch's C++ heap).

    Each figure comes from a fresh interpreter, whose heap holds no memory freed by earlier work
    that the graph could reuse, so the growth of its RSS is the graph's footprint (approximate:
    allocator pages and slack are included). Linux only.
    """
    if not os.path.exists("/proc/self/statm"):
        return {"after_forward": "n/a", "after_backward": "n/a", "step_peak": "n/a"}
    result = _in_fresh_interpreter(f"_rss_chain({engine_class!r}, {chain_n})")
    result.update(_in_fresh_interpreter(f"_rss_step({engine_class!r})"))
    return result


def _in_fresh_interpreter(call: str) -> dict[str, float]:
    program = (
        f"import json, sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
        f"import checkout, measure; print(json.dumps(measure.{call}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.splitlines()[-1])


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_chain(engine_class: str, n: int) -> dict[str, float]:
    import engines

    engine = getattr(engines, engine_class)()
    engine.chain(64)  # run the code paths once, so their one-time allocations come before the base
    gc.collect()
    x = engine.leaf(1.0)
    base = _rss()
    y = engine.build_chain(x, n)
    forward = (_rss() - base) / (2 * n)
    engine.backward(y)
    return {"after_forward": forward, "after_backward": (_rss() - base) / (2 * n)}


def _rss_step(engine_class: str) -> dict[str, float]:
    """RSS growth over one step's forward and backward, measured before the graph is freed."""
    import engines
    from problem import make_problem

    engine = getattr(engines, engine_class)()
    trainer = engine.trainer(make_problem())
    engine.chain(64)
    gc.collect()
    base = _rss()
    loss = trainer.loss()
    loss.backward()
    return {"step_peak": _rss() - base}


def first_backward(engine_class: str, n: int, calls: int = 14) -> dict[str, float]:
    """Seconds of a fresh interpreter's first backward() on the wide graph of n squares, and the
    median of its last five of `calls` calls (each on a new graph).

    The benchmark's own warm-up hides the first calls, but a program that builds one large graph
    and calls backward() once meets them: CPython 3.11 specializes a function's bytecode only
    after its eighth call.
    """
    return _in_fresh_interpreter(f"_first_backward({engine_class!r}, {n}, {calls})")


def _first_backward(engine_class: str, n: int, calls: int) -> dict[str, float]:
    import engines
    from problem import pairwise, wide_inputs

    engine = getattr(engines, engine_class)()
    xs = wide_inputs(n)
    seconds = []
    for _ in range(calls):
        total = pairwise([v * v for v in (engine.leaf(x) for x in xs)], operator.add)
        gc.collect()
        start = time.perf_counter()
        engine.backward(total)
        seconds.append(time.perf_counter() - start)
        del total
    return {"first": seconds[0], "later": statistics.median(seconds[-5:])}
