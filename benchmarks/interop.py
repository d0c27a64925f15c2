"""How long moving a model to PyTorch, back, and out to ONNX takes: MLP(784, [128, 10]).

    python benchmarks/interop.py              # median of 5 of each, and the target
    python benchmarks/interop.py --repeats 9

Times `nn.to_torch` (float64), `nn.from_torch` of the result, and `nn.export_onnx` (float32) of
an MLP with 101,770 parameters, each the median of several runs with `time.perf_counter`. The
target: converting either way takes under a second. Needs the torch and onnx extras.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import checkout  # noqa: F401  (first: makes `nn` this checkout's)

from nn import MLP, export_onnx, from_torch, to_torch

TARGET_SECONDS = 1.0


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    model = MLP(784, [128, 10], seed=0)
    twin = to_torch(model)
    path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    rows = [
        ("to_torch", median_seconds(lambda: to_torch(model), repeats), True),
        ("from_torch", median_seconds(lambda: from_torch(twin), repeats), True),
        ("export_onnx", median_seconds(lambda: export_onnx(model, path), repeats), False),
    ]
    print(f"MLP(784, [128, 10]), {len(model.parameters()):,} parameters, median of {repeats}")
    for name, seconds, targeted in rows:
        verdict = ""
        if targeted:
            verdict = "PASS" if seconds < TARGET_SECONDS else "FAIL"
            verdict = f"  {verdict} (target: under {TARGET_SECONDS:g} s)"
        print(f"{name:12} {seconds * 1000:8.1f} ms{verdict}")


if __name__ == "__main__":
    main()
