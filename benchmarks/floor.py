"""The floor: each workload written by hand on plain floats, forward and backward, with no graph.

No engine that builds a graph node per operation in pure Python can beat this; the ratio to it says
how much the graph costs.
"""

from __future__ import annotations

import time

from problem import ALPHA, CHAIN_SCALE, CHAIN_SHIFT, LEARNING_RATE, Problem


class FloorEngine:
    """The workloads on floats, with the chain rule applied by hand."""

    name = "floor"

    def chain(self, n: int) -> tuple[float, float]:
        """Seconds for y <- y * CHAIN_SCALE + CHAIN_SHIFT n times from 1.0 and dy/dx, and dy/dx.

        The forward pass keeps every intermediate result, as a reverse pass in general needs them.
        """
        start = time.perf_counter()
        tape = []
        y = 1.0
        for _ in range(n):
            scaled = y * CHAIN_SCALE
            y = scaled + CHAIN_SHIFT
            tape.append(scaled)
            tape.append(y)
        g = 1.0
        for _ in range(n):
            g = CHAIN_SCALE * g  # d(y * c + s)/dy = c
        seconds = time.perf_counter() - start
        return seconds, g

    def wide(self, xs: list[float]) -> tuple[float, list[float]]:
        """Seconds for sum of x_i**2 added pairwise, and its gradient by hand, and the gradient."""
        start = time.perf_counter()
        levels = [[x * x for x in xs]]
        while len(levels[-1]) > 1:
            level = levels[-1]
            paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                paired.append(level[-1])
            levels.append(paired)
        # Each + passes its adjoint unchanged to both of its terms; an odd one out is carried up.
        adjoint = [1.0]
        for level in reversed(levels[:-1]):
            adjoint = [adjoint[i // 2] for i in range(len(level))]
        grads = [2.0 * x * g for x, g in zip(xs, adjoint)]
        seconds = time.perf_counter() - start
        return seconds, grads

    def trainer(self, problem: Problem) -> FloorTrainer:
        """A trainer starting from the problem's initial weights."""
        return FloorTrainer(problem)


class FloorTrainer:
    """micrograd's demo step (see problem.py) with backpropagation written out by hand."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.layers = [[[list(n.w), n.b] for n in layer] for layer in problem.layers]

    def weights(self) -> list[float]:
        """The current weights in micrograd's parameter order."""
        return [p for layer in self.layers for w, b in layer for p in (*w, b)]

    def step(self) -> float:
        """One SGD step on the whole data set; returns the loss before the update."""
        layers = self.layers
        grads = [[[0.0] * len(w), 0.0] for layer in layers for w, _ in layer]
        n_points = len(self.problem.X)
        hinge_total = 0.0
        last = len(layers) - 1
        for x, y in zip(self.problem.X, self.problem.y):
            activations = [list(x)]
            for i, layer in enumerate(layers):
                inputs = activations[-1]
                outs = []
                for w, b in layer:
                    z = b
                    for wi, xi in zip(w, inputs):
                        z += wi * xi
                    outs.append(z if i == last or z > 0.0 else 0.0)
                activations.append(outs)
            margin = 1.0 - y * activations[-1][0]
            if margin <= 0.0:
                continue  # relu'(margin) = 0: this point adds nothing to the gradient
            hinge_total += margin
            deltas = [-y / n_points]  # d(loss)/d(score) = -y / n while the margin is positive
            row = sum(len(layer) for layer in layers)
            for i in range(last, -1, -1):
                inputs = activations[i]
                row -= len(layers[i])
                upstream = [0.0] * len(inputs)
                for j, (w, _) in enumerate(layers[i]):
                    d = deltas[j]
                    if d == 0.0:
                        continue
                    gw = grads[row + j]
                    gw[1] += d
                    g = gw[0]
                    for k, xi in enumerate(inputs):
                        g[k] += d * xi
                        upstream[k] += d * w[k]
                # relu' of the layer below: 1 where its output was positive
                deltas = [u if a > 0.0 else 0.0 for u, a in zip(upstream, inputs)]
        penalty = 0.0
        flat = 0
        for layer in layers:
            for neuron in layer:
                w, b = neuron
                gw, gb = grads[flat]
                flat += 1
                for k, wk in enumerate(w):
                    penalty += wk * wk
                    w[k] = wk - LEARNING_RATE * (gw[k] + 2.0 * ALPHA * wk)
                penalty += b * b
                neuron[1] = b - LEARNING_RATE * (gb + 2.0 * ALPHA * b)
        return hinge_total / n_points + ALPHA * penalty
