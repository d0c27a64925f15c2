"""The MNIST-1D CNN's compiled training step against PyTorch's float64 step (issue 25's target:
within 3x at batch 100), and the time to trace it.

The network is the MNIST-1D paper's `ConvBase` (Greydanus and Kobak; its repository's models.py,
not shipped in the `mnist1d` package): Conv1d(1, 25, 5, stride 2, padding 1) -> ReLU ->
Conv1d(25, 25, 3, stride 2, padding 1) -> ReLU -> Conv1d(25, 25, 3, stride 2, padding 1) -> ReLU ->
Flatten -> Linear(125, 10), on signals of 1 channel x 40 (lengths 19, 10, 5), with cross-entropy
and Adam (lr 0.01). chainrule's step is `fit(compile=True)`'s (`nn.train.compiled.CompiledTraining`:
the model's tape, the loss's tape and Adam's update on one array); PyTorch's is the same network
from `nn.to_torch` in float64, with `torch.optim.Adam`. Both take the same batches of
`nn.data.load_mnist1d()`'s training set in turn, from the same weights; their losses are checked
equal to 1e-9 over the first steps before anything is timed. One BLAS thread and one PyTorch thread
(`vectorised.single_threaded`), medians over alternating repeats.

Then, as information, a tape's training call with each conv layer one step against one step per
output position (as the tape compiled convolutions before), for the CNN and a LeNet-style Conv2d
network on 1 x 8 x 8 inputs.

    python benchmarks/conv_tape.py            # about a minute here
    python benchmarks/conv_tape.py --quick
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

import checkout  # noqa: F401  (puts this checkout's autograd and nn on sys.path)
from measure import alternate, median
from report import Row, at_most, targets_table
from vectorised import single_threaded

BATCH = 100
STEPS = 5  # per sample
LEARNING_RATE = 0.01


def cnn(seed: int = 0) -> Any:
    """The MNIST-1D paper's ConvBase, in nn."""
    from nn import Conv1d, Flatten, Linear, ReLU, Sequential

    return Sequential(
        Conv1d(1, 25, 5, stride=2, padding=1, seed=seed),
        ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 1),
        ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 2),
        ReLU(),
        Flatten(),
        Linear(125, 10, seed=seed + 3),
    )


def mnist1d_batches() -> tuple[Any, list[int]]:
    """The training set as an array (examples, 1, 40) and its labels."""
    import numpy as np

    from nn.data import load_mnist1d

    (X, y), _ = load_mnist1d()
    return np.array(X, dtype=float)[:, None, :], y


class CompiledCnnTrainer:
    """`fit(compile=True)`'s step: the CNN's tape, the loss's, Adam on one array (held open for
    the trainer's life, as during a compiled epoch)."""

    def __init__(self, X: Any, y: list[int]) -> None:
        from nn.losses import cross_entropy
        from nn.optim import Adam
        from nn.train.compiled import CompiledTraining

        self.model = cnn()
        self.optimizer = Adam(self.model.parameters(), lr=LEARNING_RATE)
        data = (X[:1].tolist(), y)  # the first example's form; every label, for the loss tape
        start = time.perf_counter()
        self.training = CompiledTraining(self.model, cross_entropy, self.optimizer, None, data)
        self.trace_seconds = time.perf_counter() - start
        self.epoch = contextlib.ExitStack()
        self.epoch.enter_context(self.training.epoch())
        self.X, self.y, self.at = X, y, 0

    def step(self) -> float:
        at, self.at = self.at, (self.at + BATCH) % (len(self.X) - BATCH + 1)
        return self.training.step(self.X[at : at + BATCH], self.y[at : at + BATCH])[1]


class TorchCnnTrainer:
    """The same network in PyTorch, float64, Adam: the step as its users write it."""

    def __init__(self, X: Any, y: list[int]) -> None:
        import torch

        from nn import to_torch

        self.torch = torch
        self.model = to_torch(cnn())  # float64, the same initial weights
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.X, self.y, self.at = torch.tensor(X), torch.tensor(y), 0

    def step(self) -> float:
        at, self.at = self.at, (self.at + BATCH) % (len(self.X) - BATCH + 1)
        X, y = self.X[at : at + BATCH], self.y[at : at + BATCH]
        loss = self.torch.nn.functional.cross_entropy(self.model(X), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()


def _steps_of(trainer: Any, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return (time.perf_counter() - start) / steps


def cnn_rows(torch_missing: bool, repeats: int) -> list[Row]:
    """Milliseconds per training step of the MNIST-1D CNN at batch 100 (chainrule compiled,
    torch float64), and seconds to trace its tapes."""
    X, y = mnist1d_batches()
    compiled = CompiledCnnTrainer(X, y)
    cases = {"chainrule": lambda: _steps_of(compiled, STEPS)}
    if not torch_missing:
        check, twin = CompiledCnnTrainer(X, y), TorchCnnTrainer(X, y)
        for k in range(3):
            ours, theirs = check.step(), twin.step()
            if abs(ours - theirs) > 1e-9:
                raise AssertionError(f"MNIST-1D CNN step {k}: loss {ours!r} but torch {theirs!r}")
        trainer = TorchCnnTrainer(X, y)
        cases["torch"] = lambda: _steps_of(trainer, STEPS)
    samples = alternate(cases, repeats)
    label = f"MNIST-1D CNN (ConvBase) cross-entropy + Adam, batch {BATCH}"
    row = Row(label, "ms/step", {n: median(s) * 1e3 for n, s in samples.items()}, samples=samples)
    row.api = "fit(compile=True)'s step vs torch nn.Conv1d float64"
    seconds = sorted(CompiledCnnTrainer(X, y).trace_seconds for _ in range(max(1, repeats // 3)))
    tracing = Row(f"tracing {label}", "s", {"chainrule": median(seconds)}, timed=False)
    tracing.api = "nn.train.compiled.CompiledTraining: trace the model and the loss, compile"
    return [row, tracing]


def cnn_target(row: Row) -> Any:
    """Issue 25's target: the compiled step within 3x of PyTorch's float64 step."""
    ours, theirs = row.values.get("chainrule", "n/a"), row.values.get("torch", "n/a")
    ratio = ours if isinstance(ours, str) else theirs if isinstance(theirs, str) else ours / theirs
    return at_most(f"MNIST-1D CNN, batch {BATCH}: compiled step / torch float64 step", ratio, 3)


def lenet() -> Any:
    """A LeNet-style Conv2d network for 1 x 8 x 8 digits."""
    from nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential

    return Sequential(
        Conv2d(1, 6, 3, padding=1, seed=0),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 16, 3, padding=1, seed=1),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(64, 10, seed=2),
    )


def per_position_rows(repeats: int) -> list[Row]:
    """A tape's training call (vjp and its pullback, for the parameters' gradients) at batch 100,
    each conv layer compiled as one shared-weight step against one step per position (as before
    `SharedMatmulStep`; `autograd.tape.levels.SHARE_WEIGHTS` off): the MNIST-1D CNN and the
    LeNet-style network. The row's columns: chainrule = one step a layer, floor = per position."""
    import numpy as np

    from autograd import trace
    from autograd.tape import levels

    rows = []
    for name, model, shape in (("MNIST-1D CNN", cnn(), (40,)), ("LeNet 8x8", lenet(), (8, 8))):
        n = int(np.prod(shape))
        tapes = {}
        for engine, share in (("chainrule", True), ("floor", False)):
            levels.SHARE_WEIGHTS = share
            try:
                tapes[engine] = trace(
                    lambda x, model=model, shape=shape: _flat(model(_nest(x, shape))),
                    [0.01 * i for i in range(n)],
                    parameters=model.parameters(),
                )
            finally:
                levels.SHARE_WEIGHTS = True
        X = np.random.default_rng(0).normal(size=(BATCH, n))
        cotangents = np.ones((BATCH, 10))

        cases = {e: lambda t=t, X=X, C=cotangents: _calls(t, X, C) for e, t in tapes.items()}
        samples = alternate(cases, repeats)
        steps = {e: len(t.levels) for e, t in tapes.items()}
        label = (
            f"{name} tape call, batch {BATCH}: {steps['chainrule']} steps (a layer each) vs "
            f"{steps['floor']} (a position each)"
        )
        rows.append(Row(label, "ms", {e: median(v) * 1e3 for e, v in samples.items()}))
    return rows


def _calls(tape: Any, X: Any, cotangents: Any) -> float:
    start = time.perf_counter()
    for _ in range(STEPS):
        pullback = tape.vjp(X)[1]
        pullback(cotangents, arguments=False)
    return (time.perf_counter() - start) / STEPS


def _nest(flat: list, shape: tuple[int, ...]) -> list:
    if len(shape) == 2:
        return [[flat[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]]
    return [flat]


def _flat(out: Any) -> list:
    return [v for part in out for v in _flat(part)] if isinstance(out, list) else [out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_missing = True
    else:
        torch_missing = False
    repeats = 5 if args.quick else 21
    with single_threaded():
        step, tracing = cnn_rows(torch_missing, repeats)
        positions = per_position_rows(repeats)
    for name, value in step.values.items():
        print(f"{name:>10}: {value:.3f} ms/step  ({step.label})")
    print(f"{'tracing':>10}: {tracing.values['chainrule']:.3f} s  (model and loss tapes, compiled)")
    for row in positions:
        one, each = row.values["chainrule"], row.values["floor"]
        print(f"{row.label}: {one:.3f} ms against {each:.3f} ms ({each / one:.2f}x)")
    print()
    print(targets_table([cnn_target(step)]))


if __name__ == "__main__":
    main()
