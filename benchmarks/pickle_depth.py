"""Pickling and copying deep graphs: chains of 10^4 to 10^6 nodes, each against building them.

    python benchmarks/pickle_depth.py            # 10^4, 10^5 and 10^6
    python benchmarks/pickle_depth.py --quick    # 10^4 and 10^5

A chain is the deepest graph per node: before autograd/pickling.py, pickle and deepcopy recursed
once per node and failed near depth 1,000. For each depth it prints the seconds to build the chain
(`y = y * c`, with the collector paused, as `gc_paused` advises from 10^5 nodes up), to sweep it
(`backward()`), to pickle it, to load it and to deep-copy it, the size of the pickle, and each
time as a ratio to the build: on another machine the ratios, measured in the same run, are what
carry over. It also checks that the loaded and copied chains give the original's gradient.
"""

from __future__ import annotations

import argparse
import copy
import gc
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd import Value, gc_paused, topological_order  # noqa: E402


def timed(work):
    gc.collect()
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def chain(depth: int) -> Value:
    y = Value(0.5)
    with gc_paused():
        for _ in range(depth):
            y = y * 0.9999999
    return y


def measure(depth: int) -> dict[str, float]:
    y, build = timed(lambda: chain(depth))
    saved, dump = timed(lambda: pickle.dumps(y, pickle.HIGHEST_PROTOCOL))
    loaded, load = timed(lambda: pickle.loads(saved))
    copied, deep = timed(lambda: copy.deepcopy(y))
    _, sweep = timed(y.backward)
    leaf = topological_order(y)[-1].grad
    for version in (loaded, copied):
        version.backward()
        if topological_order(version)[-1].grad != leaf or version.data != y.data:
            raise AssertionError(f"depth {depth}: a loaded or copied chain differs")
    return {
        "build": build,
        "backward": sweep,
        "pickle": dump,
        "load": load,
        "deepcopy": deep,
        "MB": len(saved) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 only")
    depths = [10_000, 100_000] if parser.parse_args().quick else [10_000, 100_000, 1_000_000]
    print(f"Python {sys.version.split()[0]}; recursion limit {sys.getrecursionlimit()}")
    header = "  ".join(f"{k + ' s':>14}" for k in _COLUMNS)
    print(f"{'nodes':>9}  {'build s':>8}  {header}  pickle MB")
    for depth in depths:
        row = measure(depth)
        cells = [f"{row[k]:6.2f} ({row[k] / row['build']:4.1f}x)" for k in _COLUMNS]
        print(f"{depth:>9,}  {row['build']:8.2f}  " + "  ".join(cells) + f"  {row['MB']:9.1f}")


_COLUMNS = ("backward", "pickle", "load", "deepcopy")

if __name__ == "__main__":
    main()
