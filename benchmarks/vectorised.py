"""The vectorised workloads: chainrule's tapes (`fit(compile=True)`'s step) against micrograd's demo
step written by hand in NumPy and PyTorch's float64 `nn.Linear` step, whole batches at a time.

- `mlp_step` at batch 100 and 1,000: the same maths as the scalar `mlp_step` (problem.py);
- MLP(784, [128, 10]) with cross-entropy at batch 256 on synthetic data, and its memory per step;
- the cost of tracing `mlp_step`'s tapes, in eager steps of the same graph.

Each runs with one thread for NumPy's BLAS and one for PyTorch (`single_threaded`): on a 2-core
machine shared with other work, two thread pools in one process (OpenBLAS's and PyTorch's
OpenMP) spin against each other and against the other work, and the figures then swing by 10x
between runs; one thread each makes them stable and the comparison like for like.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from floor_numpy import NumpyTrainer, TorchLinearTrainer, TorchMnistTrainer
from measure import alternate, median
from problem import ALPHA, LAYER_SIZES, LEARNING_RATE, Problem
from report import Row

MNIST_SIZES = (784, 128, 10)


def import_what_the_rows_need(problem: Problem) -> None:
    """Import NumPy, threadpoolctl and the tape modules, and take one step of PyTorch's
    `nn.Linear` trainers, now, before the run freezes the imports' objects. PyTorch loads much
    of itself lazily on the first optimizer step (about 117,000 objects); loaded later, every
    full collection during the eager rows would walk them too (chain n=10,000 measured 1.1
    us/op that way, instead of 0.55)."""
    import importlib

    for name in ("numpy", "threadpoolctl", "autograd.tape.tape", "nn.train.compiled"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a missing extra: its rows say n/a
    try:
        TorchLinearTrainer(problem).step()
        TorchMnistTrainer(mnist_data()).step()
    except ImportError:
        pass


@contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS thread (threadpoolctl) and one PyTorch thread inside the block."""
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    threads = torch.get_num_threads() if torch else None
    with threadpool_limits(1):
        if torch:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(threads)


MNIST_BATCH = 256


class CompiledTrainer:
    """micrograd's demo step as `fit(compile=True)` runs it
    (`nn.train.compiled.CompiledTraining`)."""

    def __init__(self, problem: Problem) -> None:
        import numpy as np

        from nn import MLP
        from nn.losses import hinge, l2
        from nn.optim import SGD
        from nn.train.compiled import CompiledTraining

        model = MLP(LAYER_SIZES[0], list(LAYER_SIZES[1:]))
        for p, w in zip(model.parameters(), problem.flat_weights(), strict=True):
            p.data = w
        optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
        start = time.perf_counter()
        self.training = CompiledTraining(
            model, hinge, optimizer, lambda ps: ALPHA * l2(ps), (problem.X, problem.y)
        )
        self.trace_seconds = time.perf_counter() - start
        self.X, self.y = np.array(problem.X), np.array(problem.y)

    def weights(self) -> list[float]:
        return self.training.parameters.data.tolist()

    def step(self) -> float:
        return self.training.step(self.X, self.y)[2]


def vectorised_trainers(torch_missing: bool) -> dict[str, Any]:
    """The trainers of the vectorised mlp_step rows, by the column they fill."""
    found: dict[str, Any] = {"chainrule": CompiledTrainer, "floor": NumpyTrainer}
    if not torch_missing:
        found["torch"] = TorchLinearTrainer
    return found


def _per_step(trainer_class: Any, problem: Problem, steps: int) -> Any:
    def timed() -> float:
        trainer = trainer_class(problem)
        trainer.step()  # the first step allocates what later ones reuse
        start = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        return (time.perf_counter() - start) / steps

    return timed


def vectorised_mlp_rows(problems: dict[int, Problem], torch_missing: bool, repeats: int) -> list:
    """Milliseconds per training step at each batch size, compiled vs NumPy vs nn.Linear."""
    rows = []
    for batch, problem in problems.items():
        cases = {
            name: _per_step(cls, problem, 20)
            for name, cls in vectorised_trainers(torch_missing).items()
        }
        samples = alternate(cases, repeats)
        row = Row(f"mlp_step, batch {batch:,}, vectorised", "ms/step", {}, samples=samples)
        row.api = "fit(compile=True)'s step: tapes; NumPy by hand; torch nn.Linear"
        row.values = {name: median(s) * 1e3 for name, s in samples.items()}
        rows.append(row)
    return rows


def mnist_data(seed: int = 0) -> tuple:
    """Synthetic MNIST-sized data: 256 examples of 784 standard normal pixels, ten classes, and
    the initial weights of MLP(784, [128, 10]) (uniform in +-1/sqrt(fan_in), as nn.Linear's)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(MNIST_BATCH, MNIST_SIZES[0]))
    y = rng.integers(0, MNIST_SIZES[-1], MNIST_BATCH)
    weights = []
    for fan_in, fan_out in zip(MNIST_SIZES, MNIST_SIZES[1:]):
        bound = 1.0 / fan_in**0.5
        weights.append((rng.uniform(-bound, bound, (fan_out, fan_in)), np.zeros(fan_out)))
    return X, y, weights


class CompiledMnistTrainer:
    """MLP(784, [128, 10]) with cross-entropy and SGD through
    `nn.train.compiled.CompiledTraining`."""

    def __init__(self, data: tuple) -> None:
        from nn import MLP
        from nn.losses import cross_entropy
        from nn.optim import SGD
        from nn.train.compiled import CompiledTraining

        X, y, weights = data
        model = MLP(MNIST_SIZES[0], list(MNIST_SIZES[1:]))
        flat = [
            v for W, b in weights for row, bias in zip(W.tolist(), b.tolist()) for v in (*row, bias)
        ]
        for p, w in zip(model.parameters(), flat, strict=True):
            p.data = w
        optimizer = SGD(model.parameters(), lr=0.01)
        start = time.perf_counter()
        self.training = CompiledTraining(model, cross_entropy, optimizer, None, (X[:1], y.tolist()))
        self.trace_seconds = time.perf_counter() - start
        self.X, self.y = X, y

    def step(self) -> float:
        return self.training.step(self.X, self.y)[1]


def mnist_rows(torch_missing: bool, repeats: int) -> list[Row]:
    """Milliseconds per step of MLP(784, [128, 10]) at batch 256, and chainrule's peak memory."""
    data = mnist_data()
    compiled = CompiledMnistTrainer(data)
    if not torch_missing:
        torch_loss = TorchMnistTrainer(data).step()
        first = CompiledMnistTrainer(data).step()
        if abs(first - torch_loss) > 1e-9:
            raise AssertionError(f"MLP(784, [128, 10]): loss {first!r} but torch {torch_loss!r}")
    cases = {"chainrule": lambda: _steps_of(compiled, 5)}
    if not torch_missing:
        trainer = TorchMnistTrainer(data)
        cases["torch"] = lambda: _steps_of(trainer, 5)
    samples = alternate(cases, repeats)
    label = f"MLP(784, [128, 10]) cross-entropy, batch {MNIST_BATCH}"
    row = Row(label, "ms/step", {n: median(s) * 1e3 for n, s in samples.items()}, samples=samples)
    row.api = "fit(compile=True)'s step vs torch nn.Linear float64"
    memory = Row(f"memory {label}, step peak", "MiB", {}, timed=False)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        compiled.step()
        memory.values["chainrule"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()
    tracing = Row(f"tracing {label}", "s", {"chainrule": compiled.trace_seconds}, timed=False)
    return [row, memory, tracing]


def _steps_of(trainer: Any, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return (time.perf_counter() - start) / steps


def tracing_rows(problem: Problem, repeats: int) -> list[Row]:
    """Seconds to trace mlp_step's tapes (model, loss, penalty) and compile them."""
    seconds = sorted(CompiledTrainer(problem).trace_seconds for _ in range(repeats))
    row = Row("tracing mlp_step's tapes", "ms", {"chainrule": median(seconds) * 1e3}, timed=False)
    row.api = "nn.train.compiled.CompiledTraining: trace model, loss and penalty"
    return [row]
