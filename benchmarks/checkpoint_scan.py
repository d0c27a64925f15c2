"""Full BPTT through an LSTM over a long sequence: the plain graph against `checkpoint_scan`.

    python benchmarks/checkpoint_scan.py                      # 10,000 steps, hidden 8, k = 200
    python benchmarks/checkpoint_scan.py --steps 2000 --snapshots 50

One nn.LSTMCell(1, H) and a Linear(H, 1) readout predict the next value of a noisy sine wave;
the loss is the mean squared error over all steps. Both runs compute the gradient of that loss
for every weight, once through the plain graph (the loop, then backward()) and once through
`checkpoint_scan(step, None, inputs, snapshots=k)`; the script checks they agree to 1e-12.

Measured, in separate runs so that measuring does not slow the timings:
- time: forward + backward, best of `--repeats`;
- live nodes: the `Value` objects alive at the peak, counted with `gc.get_objects()`. The plain
  graph's peak is just before backward() (all of it is alive); the checkpointed run's is sampled
  every `--every` step calls (inside its forward call and its backward()), and the largest count
  is reported; between two samples the count moves by at most one step's graph;
- memory: the peak of `tracemalloc`, every allocation (snapshots' floats included).
Both runs pause the cyclic garbage collector (`autograd.gc_paused`), as a large graph should.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import time
import tracemalloc

import checkout  # noqa: F401 - puts this checkout's autograd and nn first on sys.path

from autograd import Value, checkpoint_scan, gc_paused, sum_values
from autograd.checkpointing import minimal_advances, repetitions
from nn import Linear, LSTMCell


def problem(steps: int, hidden: int) -> tuple:
    rng = random.Random(0)
    wave = [math.sin(0.05 * t) + 0.1 * rng.gauss(0.0, 1.0) for t in range(steps + 1)]
    cell, readout = LSTMCell(1, hidden, seed=0), Linear(hidden, 1, seed=1)
    parameters = cell.parameters() + readout.parameters()

    def step(state, x):
        h, c = cell([x], state)
        return (h, c), readout(h)[0]

    return wave[:-1], wave[1:], step, parameters


def loss_of(predictions: list, targets: list) -> Value:
    return sum_values([(p - t) ** 2 for p, t in zip(predictions, targets)]) * (1.0 / len(targets))


def plain(step, inputs, targets, sample=None):
    state, predictions = None, []
    for x in inputs:
        state, y = step(state, x)
        predictions.append(y)
    loss = loss_of(predictions, targets)
    if sample:
        sample()
    loss.backward()
    return loss


def checkpointed(step, inputs, targets, snapshots, sample=None):
    _, predictions = checkpoint_scan(step, None, inputs, snapshots=snapshots)
    loss = loss_of(predictions, targets)
    loss.backward()
    return loss


def gradients(run, parameters) -> list[float]:
    for p in parameters:
        p.grad = 0.0
    with gc_paused():
        run()
    return [p.grad for p in parameters]


def timed(run, parameters, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        for p in parameters:
            p.grad = 0.0
        with gc_paused():
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        gc.collect()
    return best


def live_values() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--every", type=int, default=250)
    args = parser.parse_args()
    n, k = args.steps, args.snapshots
    inputs, targets, step, parameters = problem(n, args.hidden)

    calls = [0]
    peak = [0]

    def sampled_step(state, x):
        calls[0] += 1
        if calls[0] % args.every == 0:
            peak[0] = max(peak[0], live_values())
        return step(state, x)

    def sample_plain():
        peak[0] = live_values()

    run_plain = lambda: plain(step, inputs, targets)  # noqa: E731
    run_scan = lambda: checkpointed(step, inputs, targets, k)  # noqa: E731

    g_plain = gradients(run_plain, parameters)
    g_scan = gradients(run_scan, parameters)
    worst = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(g_plain, g_scan))
    same = sum(a == b for a, b in zip(g_plain, g_scan))
    print(f"LSTMCell(1, {args.hidden}) + Linear({args.hidden}, 1), {n} steps, {k} snapshots")
    print(f"gradients: worst relative difference {worst:.2e}; {same}/{len(g_plain)} bit for bit")
    assert worst <= 1e-12, worst

    t_plain = timed(run_plain, parameters, args.repeats)
    t_scan = timed(run_scan, parameters, args.repeats)
    print(f"time: plain {t_plain:.2f} s, checkpoint_scan {t_scan:.2f} s: {t_scan / t_plain:.2f}x")
    r, advances = repetitions(n, k), minimal_advances(n, k)
    print(f"  step calls: plain {n}, checkpoint_scan {n + advances} (r={r}, T(n, k)={advances})")

    with gc_paused():
        plain(step, inputs, targets, sample_plain)
    nodes_plain, peak[0] = peak[0], 0
    gc.collect()
    with gc_paused():
        checkpointed(sampled_step, inputs, targets, k)
    nodes_scan = peak[0]
    gc.collect()
    print(
        f"live Values at the peak: plain {nodes_plain:,}, checkpoint_scan {nodes_scan:,}: "
        f"1/{nodes_plain / nodes_scan:.0f}"
    )

    bytes_ = []
    for run in (run_plain, run_scan):
        gc.collect()
        tracemalloc.start()
        with gc_paused():
            run()
        bytes_.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(
        f"tracemalloc peak: plain {bytes_[0] / 2**20:.1f} MiB, checkpoint_scan "
        f"{bytes_[1] / 2**20:.1f} MiB: 1/{bytes_[0] / bytes_[1]:.0f}"
    )


if __name__ == "__main__":
    main()
