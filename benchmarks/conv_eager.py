"""An eager Conv1d's forward and backward against Linear's, per multiply-add (issue 25's target:
a convolution costs no more per multiply-add than Linear does).

Each case builds its graph and runs `backward()` from the sum of the outputs (`sum_values`), with
the input given as Values (a hidden layer: the inputs' gradients are computed too), and reports
the time divided by the layer's multiply-adds. The Linear is given the same dot length as the
convolution's windows (in_channels * kernel_size) and as many outputs as the convolution has
output entries, so both make the same number of dot nodes of the same size; "Linear, square" is
a plain Linear(128, 128) for scale. Figures are medians over alternating repeats.

    python benchmarks/conv_eager.py            # Conv1d(8, 16, 5, padding=2) on 8 x 40
    python benchmarks/conv_eager.py --quick
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable

import checkout  # noqa: F401  (puts this checkout's autograd and nn on sys.path)
from measure import alternate, median

from autograd import Value, sum_values
from nn import Conv1d, Linear


def values(rng: random.Random, count: int) -> list[Value]:
    return [Value(rng.uniform(-1.0, 1.0)) for _ in range(count)]


def case(layer: Callable, make_input: Callable[[], list]) -> Callable[[], float]:
    def run() -> float:
        x = make_input()
        gc.disable()
        start = time.perf_counter()
        out = layer(x)
        entries = [v for row in out for v in row] if isinstance(out[0], list) else out
        sum_values(entries).backward()
        elapsed = time.perf_counter() - start
        gc.enable()
        return elapsed

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    rng = random.Random(0)
    channels, out_channels, kernel, length = 8, 16, 5, 40
    conv = Conv1d(channels, out_channels, kernel, padding=kernel // 2, seed=0)
    conv_outputs = out_channels * length
    # padded windows at the two ends read fewer inputs: count the multiply-adds done
    inside = sum(min(length, t + kernel // 2 + 1) - max(0, t - kernel // 2) for t in range(length))
    conv_macs = out_channels * channels * inside
    linear = Linear(channels * kernel, conv_outputs, seed=0)
    linear_macs = channels * kernel * conv_outputs
    square = Linear(128, 128, seed=0)
    cases = {
        "Conv1d": (case(conv, lambda: [values(rng, length) for _ in range(channels)]), conv_macs),
        "Linear, same dots": (case(linear, lambda: values(rng, channels * kernel)), linear_macs),
        "Linear, square": (case(square, lambda: values(rng, 128)), 128 * 128),
    }
    conv([values(rng, length) for _ in range(channels)])  # the windows, planned once
    samples = alternate({name: run for name, (run, _) in cases.items()}, 5 if args.quick else 25)
    per_mac = {name: median(samples[name]) / macs for name, (_, macs) in cases.items()}
    print(f"{'case':<20}{'multiply-adds':>15}{'ms':>10}{'ns per multiply-add':>22}")
    for name, (_, macs) in cases.items():
        print(
            f"{name:<20}{macs:>15,}{median(samples[name]) * 1e3:>10.2f}{per_mac[name] * 1e9:>22.1f}"
        )
    ratio = per_mac["Conv1d"] / per_mac["Linear, same dots"]
    print(f"Conv1d / Linear per multiply-add: {ratio:.2f} (target: at most 1)")


if __name__ == "__main__":
    main()
