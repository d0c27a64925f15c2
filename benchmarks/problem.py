"""The work every engine is timed on: the same data, the same initial weights, the same constants.

The training step is micrograd's demo: an MLP(2, [16, 16, 1]) with ReLU hidden layers scores 100
two-moons points, and the loss is the mean hinge loss plus an L2 penalty,

    loss = (1/n) sum_i max(0, 1 - y_i s_i) + ALPHA sum_p p**2,      y_i in {-1, +1},

followed by one plain SGD update p <- p - LEARNING_RATE dloss/dp.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nn.data import make_moons

SEED = 1337
POINTS = 100
LAYER_SIZES = (2, 16, 16, 1)  # inputs, then the width of each layer
ALPHA = 1e-4  # strength of the L2 penalty
LEARNING_RATE = 0.1

CHAIN_SCALE = 1.0001  # the chain workload is y <- y * CHAIN_SCALE + CHAIN_SHIFT, n times
CHAIN_SHIFT = 0.5


@dataclass(frozen=True)
class NeuronWeights:
    """The initial weights w and bias b of one neuron."""

    w: tuple[float, ...]
    b: float


@dataclass(frozen=True)
class Problem:
    """Inputs X, labels y in {-1, +1}, and the initial weights of each layer's neurons."""

    X: tuple[tuple[float, float], ...]
    y: tuple[float, ...]
    layers: tuple[tuple[NeuronWeights, ...], ...]

    def flat_weights(self) -> list[float]:
        """Every weight in micrograd's order: layer by layer, neuron by neuron, w then b."""
        return [p for layer in self.layers for neuron in layer for p in (*neuron.w, neuron.b)]


def make_problem(seed: int = SEED, points: int = POINTS) -> Problem:
    """The seeded two-moons data (`points` of them) and MLP initial weights (uniform in [-1, 1],
    zero biases).

    >>> problem = make_problem()
    >>> len(problem.X), len(problem.flat_weights())
    (100, 337)
    """
    X, labels = make_moons(points, noise=0.1, seed=seed)
    rng = random.Random(seed)
    layers = tuple(
        tuple(
            NeuronWeights(tuple(rng.uniform(-1.0, 1.0) for _ in range(fan_in)), 0.0)
            for _ in range(fan_out)
        )
        for fan_in, fan_out in zip(LAYER_SIZES, LAYER_SIZES[1:])
    )
    return Problem(
        X=tuple((float(a), float(b)) for a, b in X),
        y=tuple(2.0 * label - 1.0 for label in labels),
        layers=layers,
    )


def wide_inputs(n: int, seed: int = SEED) -> list[float]:
    """The n inputs of the wide workload, uniform in [-1, 1]."""
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0) for _ in range(n)]


def pairwise(terms: list, add) -> object:
    """terms[0] + ... + terms[-1] as a balanced tree of `add`: neighbours first, level by level.

    >>> pairwise([1, 2, 3, 4, 5], lambda a, b: a + b)
    15
    """
    level = list(terms)
    while len(level) > 1:
        paired = [add(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
