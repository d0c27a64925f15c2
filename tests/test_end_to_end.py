"""Training end to end, seeded and deterministic: XOR, micrograd's moons demo, three spirals.

Every run here is seeded (data, weights, batch order), so each reaches the same numbers every time;
the thresholds sit a few points below what was measured, to allow for the last bits of `math.exp`
differing between platforms. Together they take about 15 s on two shared cores.
"""

import pytest

from nn import MLP
from nn.data import make_moons, make_spirals, xor
from nn.losses import binary_cross_entropy, cross_entropy, hinge, l2
from nn.optim import SGD, Adam
from nn.train import evaluate, fit


@pytest.mark.parametrize(
    ("make_optimizer", "batch_size", "epochs"),
    [
        (lambda ps: Adam(ps, lr=0.1), None, 100),  # batch training
        (lambda ps: SGD(ps, lr=0.5), 1, 150),  # stochastic: one example per step, as in 1986
    ],
    ids=["adam-full-batch", "sgd-stochastic"],
)
def test_xor_is_learned_to_full_accuracy(make_optimizer, batch_size, epochs):
    X, y = xor()
    model = MLP(2, [4, 1], activation="tanh", seed=1)
    history = fit(
        model,
        binary_cross_entropy,
        make_optimizer(model.parameters()),
        (X, y),
        epochs,
        batch_size,
        seed=0,
        progress=False,
    )
    assert evaluate(model, binary_cross_entropy, (X, y))[1] == 1.0
    probabilities = [model(x).sigmoid().data for x in X]
    assert probabilities == pytest.approx(y, abs=0.05)  # measured: within 0.013 of the labels
    assert history.loss[-1] < history.loss[0] / 20


@pytest.mark.parametrize(
    "make_optimizer",
    [lambda ps: SGD(ps, lr=1.0), lambda ps: Adam(ps, lr=0.02)],
    ids=["sgd", "adam"],
)
def test_moons_mlp_reaches_97_percent_training_accuracy(make_optimizer):
    # micrograd's demo: MLP(2, [16, 16, 1]), hinge loss on -1/+1 labels, 1e-4 L2, full batch
    X, labels = make_moons(100, noise=0.1, seed=0)
    y = [2 * label - 1 for label in labels]
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(
        model,
        hinge,
        make_optimizer(model.parameters()),
        (X, y),
        epochs=60,
        regularization=lambda ps: 1e-4 * l2(ps),
        seed=0,
        progress=False,
    )
    loss, accuracy = evaluate(model, hinge, (X, y))
    assert accuracy >= 0.97  # measured: 100% with either optimizer
    assert loss < 0.05 and history.loss[-1] < history.loss[0] / 20  # measured: 0.003, / 100


def test_three_spirals_are_separated_by_adam_on_mini_batches():
    X, y = make_spirals(120, classes=3, noise=0.2, seed=0)
    held_out = make_spirals(120, classes=3, noise=0.2, seed=1)
    model = MLP(2, [16, 16, 3], seed=1)
    history = fit(
        model,
        cross_entropy,
        Adam(model.parameters(), lr=0.02),
        (X, y),
        epochs=60,
        batch_size=20,
        seed=0,
        validation=held_out,
        progress=False,
    )
    assert evaluate(model, cross_entropy, (X, y))[1] >= 0.95  # measured: 100%
    assert history.val_accuracy[-1] >= 0.9  # measured: 99.2% on points it never trained on
    assert history.val_loss[-1] < history.val_loss[0] / 5
