"""micrograd programs run with only their imports changed, and build the very same networks."""

import random

import pytest

from autograd import Value
from nn import MLP, Layer, Neuron

# Two clusters either side of the line x + y = 0.2: label +1 above it, -1 below.
POINTS = [
    ([1.0, 0.8], 1),
    ([0.6, 1.4], 1),
    ([1.6, 0.2], 1),
    ([0.3, 0.9], 1),
    ([1.2, 1.1], 1),
    ([0.9, -0.1], 1),
    ([-1.0, -0.7], -1),
    ([-0.4, -1.3], -1),
    ([-1.5, 0.1], -1),
    ([-0.2, -0.8], -1),
    ([-1.1, -1.2], -1),
    ([0.1, -1.0], -1),
]


def micrograd_style_training(steps=15):
    """The classic micrograd demo, written the way its users write it."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    history = []
    for k in range(steps):
        inputs = [[Value(x) for x in point] for point, _ in POINTS]
        scores = list(map(model, inputs))
        # max-margin loss: penalise every score on the wrong side of a margin of 1
        losses = [(1 + -label * score).relu() for (_, label), score in zip(POINTS, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(label > 0) == (score.data > 0) for (_, label), score in zip(POINTS, scores)]
        history.append((total_loss.data, sum(accuracy) / len(accuracy)))

        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    return model, history


def test_the_micrograd_demo_runs_and_learns_a_separable_set_perfectly():
    model, history = micrograd_style_training()
    losses = [loss for loss, _ in history]
    assert losses[-1] < 0.5 * losses[0]
    assert min(losses[-5:]) < 0.05
    assert history[-1][1] == 1.0
    scores = [model([Value(x) for x in point]).data for point, _ in POINTS]
    assert all(score * label > 0 for score, (_, label) in zip(scores, POINTS))


def test_the_micrograd_demo_is_reproducible_from_random_seed():
    assert micrograd_style_training(steps=3)[1] == micrograd_style_training(steps=3)[1]


def test_micrograd_constructors_and_calls_are_accepted():
    random.seed(0)
    neuron = Neuron(3, nonlin=False)
    layer = Layer(3, 2, nonlin=True)
    assert isinstance(neuron([1.0, 2.0, 3.0]), Value)
    assert len(layer([1.0, 2.0, 3.0])) == 2
    assert len(neuron.parameters()) == 4 and len(layer.parameters()) == 8


def build_both(sizes, seed):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(seed)
    theirs = micrograd_nn.MLP(2, sizes)
    random.seed(seed)
    ours = MLP(2, sizes)
    return ours, theirs


@pytest.mark.parametrize("sizes", [[16, 16, 1], [3, 2], [1]])
def test_after_the_same_seed_micrograd_and_we_build_the_same_parameters_in_order(sizes):
    ours, theirs = build_both(sizes, seed=1337)
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]


def test_building_draws_as_many_numbers_from_the_global_stream_as_micrograd():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(5)
    micrograd_nn.MLP(2, [4, 3, 1])
    after_theirs = random.random()
    random.seed(5)
    MLP(2, [4, 3, 1])
    assert random.random() == after_theirs


def test_micrograd_and_we_compute_the_same_outputs_and_gradients():
    engine = pytest.importorskip("micrograd.engine")
    ours, theirs = build_both([16, 16, 1], seed=7)
    for point, _ in POINTS[:4]:
        ours.zero_grad()
        theirs.zero_grad()
        y_ours = ours([Value(x) for x in point])
        y_theirs = theirs([engine.Value(x) for x in point])
        assert y_ours.data == pytest.approx(y_theirs.data, rel=1e-12, abs=1e-12)
        (y_ours * y_ours).backward()
        (y_theirs * y_theirs).backward()
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-12)
