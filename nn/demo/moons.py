"""The moons demo of `python -m nn.demo`: train micrograd's moons classifier, then draw what it
learned.

Trains `MLP(2, [16, 16, 1])` on 100 moons points with the hinge loss on -1/+1 labels, a 1e-4 L2
penalty and full-batch SGD whose rate anneals from 1.0 to 0.1 (micrograd's demo, seeded), then
writes into the output folder (default `chainrule-output/`):

- `decision_boundary.png`: the regions the model assigns to each class, and the points;
- `model_graph.svg`: the model's graph on one input after `backward()`, one box per neuron,
  coloured by gradient; `model_graph.dot` instead when the Graphviz program `dot` is missing;
- `backprop.html`: a tanh neuron's forward pass and backward sweep, step by step, in a page
  that opens from disk in any browser (it needs `dot` too).

Options: `--out DIR`, `--epochs N` (default 100), `--seed S` (default 0; data and weights),
`--no-progress` (no progress bar). `--digits` runs the digits demo instead (`nn.demo.digits`,
20 epochs by default), `--lenet` the digits demo with a LeNet-style convolutional network (30),
`--mnist1d` the MNIST-1D CNN (`nn.demo.mnist1d`, 150); `--gpt` trains microgpt's model on the
census names and samples new ones (`nn.demo.gpt`, `--steps N`, 1000 by default).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from autograd import Value, no_grad, save_graph, step_through
from nn import MLP
from nn.data.toy import make_moons
from nn.demo.digits import run_digits
from nn.demo.gpt import run_gpt
from nn.demo.mnist1d import run_mnist1d
from nn.losses import hinge, l2
from nn.optim import SGD, CosineAnnealingLR
from nn.train.loop import evaluate, fit

NO_DOT = """\
The Graphviz program `dot` is not installed, so the graph is saved as DOT text: {dot_path}
Render it with:  dot -Tsvg {dot_path} -o {svg_path}
The step-through page backprop.html needs `dot` as well, so it is not written.
Install Graphviz with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS),
`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/"""


def main(argv: Sequence[str] | None = None) -> None:
    """Run the demo with command-line arguments `argv` (default: `sys.argv[1:]`).

    >>> import tempfile
    >>> main(["--epochs", "1", "--out", tempfile.mkdtemp(), "--no-progress"])  # doctest: +ELLIPSIS
    writing into ...
    training accuracy: ...% on 100 points after 1 epoch
    ...
    """
    args = _parser().parse_args(argv)
    if args.mnist1d:
        return run_mnist1d(args)
    if args.digits or args.lenet:
        return run_digits(args)
    if args.gpt:
        return run_gpt(args)
    args.epochs = args.epochs or 100
    missing = [name for name in ("matplotlib", "graphviz") if not importlib.util.find_spec(name)]
    if missing:
        sys.exit(f"the demo needs {' and '.join(missing)}: pip install -e '.[demo]'")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing into {out}{os.sep}")

    X, labels = make_moons(100, noise=0.1, seed=args.seed)
    y = [2 * label - 1 for label in labels]  # the hinge loss scores -1/+1 labels
    model = MLP(2, [16, 16, 1], seed=args.seed)
    optimizer = SGD(model.parameters(), lr=1.0)
    fit(
        model,
        hinge,
        optimizer,
        (X, y),
        epochs=args.epochs,
        regularization=lambda parameters: 1e-4 * l2(parameters),
        scheduler=CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=0.1),
        seed=args.seed,
        progress=args.progress,
    )
    _, accuracy = evaluate(model, hinge, (X, y))
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    print(f"training accuracy: {accuracy:.1%} on {len(X)} points after {epochs}")

    plot_path = plot_decision_boundary(model, X, labels, out / "decision_boundary.png", accuracy)
    print(f"wrote {plot_path}")
    output = model(X[0])
    output.backward()
    options = {"collapse": "neuron", "color_by_grad": True}
    if shutil.which("dot"):
        print(f"wrote {save_graph(output, out / 'model_graph.svg', **options)}")
        print(f"wrote {step_through(tanh_neuron()).save(out / 'backprop.html')}")
    else:
        dot_path = save_graph(output, out / "model_graph.dot", **options)
        print(NO_DOT.format(dot_path=dot_path, svg_path=dot_path.with_suffix(".svg")))


def tanh_neuron() -> Value:
    """tanh(x1 w1 + x2 w2 + b) with labelled inputs, weights and bias, as the README draws it.

    >>> round(tanh_neuron().data, 4)
    -0.8005
    """
    x1, w1 = Value(1.5, label="x1"), Value(-0.8, label="w1")
    x2, w2 = Value(-0.5, label="x2"), Value(0.4, label="w2")
    o = (x1 * w1 + x2 * w2 + Value(0.3, label="b")).tanh()
    o.label = "o"
    return o


def plot_decision_boundary(
    model: MLP, X: list[list[float]], labels: list[int], path: Path, accuracy: float
) -> Path:
    """Save a PNG of the regions where the model's score is below and above 0, with the points
    coloured by their label; returns the path.

    >>> import tempfile
    >>> from nn.data import xor
    >>> X, y = xor()
    >>> path = Path(tempfile.mkdtemp()) / "xor.png"
    >>> plot_decision_boundary(MLP(2, [4, 1], seed=0), X, y, path, 0.5).read_bytes()[:4]
    b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    steps = 60
    xs, ys = _grid_axis([x for x, _ in X], steps), _grid_axis([y for _, y in X], steps)
    with no_grad():
        scores = [[model([x, y]).data for x in xs] for y in ys]
    bound = max(abs(score) for row in scores for score in row) + 1.0

    figure = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = ListedColormap(["#3b6fb6", "#d0453b"])
    axes.contourf(xs, ys, scores, levels=[-bound, 0.0, bound], cmap=colors, alpha=0.3)
    axes.scatter(*zip(*X), c=labels, cmap=colors, edgecolors="black", linewidths=0.5, s=30)
    axes.set(xlabel="$x_1$", ylabel="$x_2$")
    axes.set_title(f"moons: MLP(2, [16, 16, 1]), training accuracy {accuracy:.0%}")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _grid_axis(values: list[float], steps: int) -> list[float]:
    """`steps` evenly spaced numbers covering `values` with a margin of 0.5 on each side."""
    low, high = min(values) - 0.5, max(values) + 0.5
    return [low + (high - low) * i / (steps - 1) for i in range(steps)]


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nn.demo",
        description="Train an MLP on the moons data set; draw its decision boundary and graph.",
    )
    parser.add_argument("--out", default="chainrule-output", help="output folder")
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        help="training epochs (default 100; 20 with --digits, 30 with --lenet, 150 with --mnist1d)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )
    parser.add_argument(
        "--digits", action="store_true", help="train on the 8x8 digits through a tape instead"
    )
    parser.add_argument(
        "--gpt", action="store_true", help="train microgpt's GPT on names and sample new ones"
    )
    parser.add_argument(
        "--steps", type=_positive_int, default=1000, help="GPT training steps (default 1000)"
    )
    parser.add_argument(
        "--lenet", action="store_true", help="train a LeNet-style Conv2d network on the digits"
    )
    parser.add_argument(
        "--mnist1d", action="store_true", help="train the MNIST-1D CNN through a tape instead"
    )
    return parser
