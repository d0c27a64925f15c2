"""`python -m nn.demo --digits`: an MLP learns scikit-learn's 8x8 digits, trained through a tape;
`python -m nn.demo --lenet`: a LeNet-style convolutional network does.

Splits the 1,797 digits (`nn.data.load_digits`) into 1,437 for training and 360 held out (seeded),
trains with cross-entropy and Adam at 0.01 on mini-batches of 32 with `fit(..., compile=True)`,
prints the held-out accuracy, and saves the held-out digits it got wrong as
`digits_misclassified.png` in the output folder, each titled with the model's answer and the truth
("said 5, is 6"). The MLP is `MLP(64, [32, 10])`, 20 epochs; LeNet is `lenet()`, 30 epochs, the
rate a tenth for the last 9 (`StepLR`). `--epochs` overrides either count.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

from autograd import trace
from nn import MLP
from nn.data.digits import load_digits
from nn.layers.activation import ReLU
from nn.layers.conv import Conv2d
from nn.layers.linear import Linear, Sequential
from nn.layers.pooling import Flatten, MaxPool2d
from nn.losses import cross_entropy
from nn.optim.optimizers import Adam
from nn.optim.schedules import StepLR
from nn.train.loop import evaluate, fit

HELD_OUT = 360


def run_digits(args: argparse.Namespace) -> None:
    """Train, report and draw, with the demo's options (`--out`, `--epochs`, `--seed`; `--lenet`
    for the convolutional network)."""
    conv = getattr(args, "lenet", False)
    epochs = args.epochs or (30 if conv else 20)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits()
    order = list(range(len(X)))
    random.Random(args.seed).shuffle(order)
    test, train = order[:HELD_OUT], order[HELD_OUT:]
    X_train, y_train = [X[i] for i in train], [y[i] for i in train]
    X_test, y_test = [X[i] for i in test], [y[i] for i in test]

    model = lenet(args.seed) if conv else MLP(64, [32, 10], seed=args.seed)
    inputs = image if conv else list
    optimizer = Adam(model.parameters(), lr=0.01)
    cut = StepLR(optimizer, step_size=max(1, round(0.7 * epochs)), gamma=0.1) if conv else None
    fit(
        model, cross_entropy, optimizer, ([inputs(x) for x in X_train], y_train), epochs=epochs,
        batch_size=32, scheduler=cut, seed=args.seed, progress=args.progress, compile=True,
    )  # fmt: skip
    test_set = ([inputs(x) for x in X_test], y_test)
    _, accuracy = evaluate(model, cross_entropy, test_set, compile=True)
    print(f"held-out accuracy: {accuracy:.1%} on {HELD_OUT} digits after {epochs} epochs")
    name = "LeNet" if conv else "MLP"
    scores = (lambda x: model(image(x))) if conv else model
    path = plot_misclassified(scores, X_test, y_test, out / "digits_misclassified.png", name=name)
    print(f"wrote {path}")


def lenet(seed: int = 0) -> Sequential:
    """A LeNet-style network for one 8x8 digit (1 x 8 x 8): two 3x3 convolutions, padded, of 16
    then 32 channels, each followed by ReLU and 2x2 max pooling (8x8 -> 4x4 -> 2x2), then
    Linear(128, 10); 6,090 parameters, its weights drawn from `seed`.

    >>> model = lenet(seed=0)
    >>> len(model(image([0.5] * 64))), len(model.parameters())
    (10, 6090)
    """
    rng = random.Random(seed)
    return Sequential(
        Conv2d(1, 16, 3, padding=1, seed=rng.getrandbits(32)), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, seed=rng.getrandbits(32)), ReLU(), MaxPool2d(2),
        Flatten(), Linear(128, 10, seed=rng.getrandbits(32)),
    )  # fmt: skip


def image(pixels: list) -> list:
    """64 pixels, row by row, as one digit for `Conv2d`: 1 channel of 8 rows of 8.

    >>> image(list(range(64)))[0][1][:3]
    [8, 9, 10]
    """
    return [[pixels[row : row + 8] for row in range(0, 64, 8)]]


def mistake_title(guess: int, truth: int) -> str:
    """The title of one wrong digit: what the model said, then what the digit is.

    >>> mistake_title(5, 6)
    'said 5, is 6'
    """
    return f"said {guess}, is {truth}"


def plot_misclassified(
    model: Callable, X: list, y: list, path: Path, most: int = 10, name: str = "MLP"
) -> Path:
    """Save a PNG of up to `most` digits the model (called on 64 pixels; `name` in the title) gets
    wrong, each titled with the model's answer and the true digit (`mistake_title`: "said 5, is
    6"); returns the path.

    >>> import tempfile
    >>> digits = [[0.0] * 64, [1.0] * 64]
    >>> path = Path(tempfile.mkdtemp()) / "wrong.png"
    >>> plot_misclassified(MLP(64, [3, 10], seed=0), digits, [1, 2], path).read_bytes()[:4]
    b'\\x89PNG'
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scores = trace(lambda x: model(x), X[0])(np.array(X))
    guesses = scores.argmax(axis=1)
    wrong = [i for i, (guess, label) in enumerate(zip(guesses, y)) if guess != label][:most]
    figure = Figure(figsize=(1.4 * max(len(wrong), 1), 1.9))
    FigureCanvasAgg(figure)
    figure.suptitle(f"{len(wrong)} of the held-out digits the {name} got wrong", fontsize=9)
    for k, i in enumerate(wrong):
        axes = figure.add_subplot(1, max(len(wrong), 1), k + 1)
        axes.imshow(np.array(X[i]).reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
        axes.set_title(mistake_title(guesses[i], y[i]), fontsize=9)
        axes.set_axis_off()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path
