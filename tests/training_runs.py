"""Training runs that the checkpoint tests start, stop, kill and resume, in this process or another.

`python tests/training_runs.py KIND PATH EPOCHS` trains run KIND with its checkpoint at PATH,
resuming from PATH when the file exists, then prints the history and the parameters as JSON.
"""

import json
import random
import sys
from pathlib import Path

from nn import MLP, BatchNorm1d, Dropout, Linear, Module, ReLU, Sequential
from nn.data import make_moons
from nn.losses import binary_cross_entropy, hinge
from nn.optim import SGD, Adam, CosineAnnealingLR, StepLR
from nn.train import fit


class Noisy(Module):
    """Adds Gaussian noise to the inputs from its own generator: a stand-in for Dropout."""

    def __init__(self, inner: Module, seed: int) -> None:
        self.inner = inner
        self._rng = random.Random(seed)

    def forward(self, x):
        return self.inner([xi + self._rng.gauss(0.0, 0.1) for xi in x])


def _moons(n, seed):
    X, labels = make_moons(n, noise=0.15, seed=seed)
    return X, labels


def setup(kind: str):
    """The model, optimizer, scheduler and fit's other arguments of run `kind`."""
    X, labels = _moons(40, 0)
    if kind == "sgd":  # momentum, mini-batches, hinge loss: weights and data from seeds
        model = MLP(2, [16, 16, 1], seed=0)
        optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
        data = (X, [2 * t - 1 for t in labels])
        options = {"loss": hinge, "batch_size": 10, "seed": 1}
        return model, optimizer, None, data, options
    if kind == "adam":  # a schedule, validation and early stopping
        model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
        optimizer = Adam(model.parameters(), lr=0.05)
        scheduler = CosineAnnealingLR(optimizer, T_max=7, eta_min=0.001)
        options = {"loss": binary_cross_entropy, "batch_size": 16, "seed": 2}
        options |= {"validation": _moons(20, 1), "patience": 30}
        return model, optimizer, scheduler, (X, labels), options
    if kind == "global":  # no seeds: the global random stream, and a module's own generator
        random.seed(7)
        model = Noisy(MLP(2, [8, 1], activation="tanh"), seed=3)
        optimizer = Adam(model.parameters(), lr=0.05)
        scheduler = StepLR(optimizer, step_size=2, gamma=0.8)
        options = {"loss": binary_cross_entropy, "batch_size": 8}
        return model, optimizer, scheduler, (X, labels), options
    if kind == "compiled":  # through tapes: dropout masks, batch statistics, running statistics
        model = Sequential(
            Linear(2, 8, bias=False, seed=0), BatchNorm1d(8), ReLU(), Dropout(0.2, seed=3),
            Linear(8, 1, seed=1),
        )  # fmt: skip
        optimizer = Adam(model.parameters(), lr=0.02)
        options = {"loss": binary_cross_entropy, "batch_size": 10, "seed": 4, "compile": True}
        options |= {"validation": _moons(20, 1)}
        return model, optimizer, None, (X, labels), options
    raise ValueError(f"unknown run {kind!r}")


def train(kind: str, epochs: int, wrap_loss=None, **fit_options):
    """Run `kind` for `epochs` epochs, its loss wrapped by `wrap_loss`; returns (model, history)."""
    model, optimizer, scheduler, data, options = setup(kind)
    loss = options.pop("loss")
    if wrap_loss is not None:
        loss = wrap_loss(loss)
    options = {"progress": False} | options | fit_options
    history = fit(model, loss, optimizer, data, epochs, scheduler=scheduler, **options)
    return model, history


def bits(model) -> list[str]:
    return [p.data.hex() for p in model.parameters()]


if __name__ == "__main__":
    kind, path, epochs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    resume = path if path.exists() else None
    model, history = train(kind, epochs, checkpoint=path, resume=resume)
    print(
        json.dumps(
            {"epochs": len(history.loss), "interrupted": history.interrupted, "bits": bits(model)}
        ),
        flush=True,
    )
