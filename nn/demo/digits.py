"""`python -m nn.demo --digits`: an MLP learns scikit-learn's 8x8 digits, trained through a tape.

Splits the 1,797 digits (`nn.data.load_digits`) into 1,437 for training and 360 held out (seeded),
trains `MLP(64, [32, 10])` with cross-entropy and Adam on mini-batches of 32 with
`fit(..., compile=True)` (20 epochs unless `--epochs` says otherwise), prints the held-out
accuracy, and saves the held-out digits it got wrong as `digits_misclassified.png` in the output
folder, each titled with the model's answer and the truth ("said 5, is 6").
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from autograd import trace
from nn import MLP
from nn.data.digits import load_digits
from nn.losses import cross_entropy
from nn.optim.optimizers import Adam
from nn.train.loop import evaluate, fit

HELD_OUT = 360


def run_digits(args: argparse.Namespace) -> None:
    """Train, report and draw, with the demo's options (`--out`, `--epochs`, `--seed`)."""
    epochs = args.epochs or 20
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits()
    order = list(range(len(X)))
    random.Random(args.seed).shuffle(order)
    test, train = order[:HELD_OUT], order[HELD_OUT:]
    X_train, y_train = [X[i] for i in train], [y[i] for i in train]
    X_test, y_test = [X[i] for i in test], [y[i] for i in test]

    model = MLP(64, [32, 10], seed=args.seed)
    optimizer = Adam(model.parameters(), lr=0.01)
    fit(
        model, cross_entropy, optimizer, (X_train, y_train), epochs=epochs, batch_size=32,
        seed=args.seed, progress=args.progress, compile=True,
    )  # fmt: skip
    _, accuracy = evaluate(model, cross_entropy, (X_test, y_test), compile=True)
    print(f"held-out accuracy: {accuracy:.1%} on {HELD_OUT} digits after {epochs} epochs")
    path = plot_misclassified(model, X_test, y_test, out / "digits_misclassified.png")
    print(f"wrote {path}")


def mistake_title(guess: int, truth: int) -> str:
    """The title of one wrong digit: what the model said, then what the digit is.

    >>> mistake_title(5, 6)
    'said 5, is 6'
    """
    return f"said {guess}, is {truth}"


def plot_misclassified(model: MLP, X: list, y: list, path: Path, most: int = 10) -> Path:
    """Save a PNG of up to `most` digits the model gets wrong, each titled with the model's answer
    and the true digit (`mistake_title`: "said 5, is 6"); returns the path.

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
    figure.suptitle(f"{len(wrong)} of the held-out digits the MLP got wrong", fontsize=9)
    for k, i in enumerate(wrong):
        axes = figure.add_subplot(1, max(len(wrong), 1), k + 1)
        axes.imshow(np.array(X[i]).reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
        axes.set_title(mistake_title(guesses[i], y[i]), fontsize=9)
        axes.set_axis_off()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path
