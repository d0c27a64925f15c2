"""The vectorised floors: micrograd's demo step written by hand in NumPy, and PyTorch's float64
`nn.Linear` step, a whole batch at a time; the MNIST-sized step in PyTorch.

No engine that replays a graph can beat a hand-written array program of the same maths by much;
the ratio to it says what the tape's generality costs.
"""

from __future__ import annotations

from typing import Any

from problem import ALPHA, LEARNING_RATE, Problem


class NumpyTrainer:
    """micrograd's demo step (problem.py) on arrays, backpropagation written out by hand."""

    def __init__(self, problem: Problem) -> None:
        import numpy as np

        self.np = np
        self.X = np.array(problem.X, dtype=float)  # (B, 2)
        self.y = np.array(problem.y, dtype=float)
        self.W = [np.array([n.w for n in layer]) for layer in problem.layers]  # (out, in)
        self.b = [np.array([n.b for n in layer]) for layer in problem.layers]

    def weights(self) -> list[float]:
        return [p for W, b in zip(self.W, self.b) for w, bj in zip(W, b) for p in (*w, bj)]

    def step(self) -> float:
        np, W, b = self.np, self.W, self.b
        h0 = self.X
        z1 = h0 @ W[0].T + b[0]
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W[1].T + b[1]
        h2 = np.maximum(z2, 0.0)
        s = (h2 @ W[2].T + b[2])[:, 0]
        margin = 1.0 - self.y * s
        n = len(s)
        penalty = sum((w * w).sum() + (c * c).sum() for w, c in zip(W, b))
        loss = np.maximum(margin, 0.0).sum() / n + ALPHA * penalty
        d_s = np.where(margin > 0.0, -self.y / n, 0.0)[:, None]  # (B, 1)
        d_z2 = (d_s @ W[2]) * (z2 > 0.0)
        d_z1 = (d_z2 @ W[1]) * (z1 > 0.0)
        grads = [(d_z1.T @ h0, d_z1.sum(0)), (d_z2.T @ h1, d_z2.sum(0)), (d_s.T @ h2, d_s.sum(0))]
        for i, (gW, gb) in enumerate(grads):
            W[i] -= LEARNING_RATE * (gW + 2.0 * ALPHA * W[i])
            b[i] -= LEARNING_RATE * (gb + 2.0 * ALPHA * b[i])
        return float(loss)


class TorchLinearTrainer:
    """The same step in PyTorch as its users write it: nn.Linear layers in float64, one batch."""

    def __init__(self, problem: Problem) -> None:
        import torch

        self.torch = torch
        layers = []
        for layer in problem.layers:
            linear = torch.nn.Linear(len(layer[0].w), len(layer), dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([n.w for n in layer], dtype=torch.float64))
                linear.bias.copy_(torch.tensor([n.b for n in layer], dtype=torch.float64))
            layers.append(linear)
        self.model = torch.nn.Sequential(
            layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2]
        )
        self.X = torch.tensor(problem.X, dtype=torch.float64)
        self.y = torch.tensor(problem.y, dtype=torch.float64)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)

    def weights(self) -> list[float]:
        found = []
        linears = [m for m in self.model if hasattr(m, "weight")]
        for linear in linears:
            for w, b in zip(linear.weight.tolist(), linear.bias.tolist()):
                found += [*w, b]
        return found

    def step(self) -> float:
        torch = self.torch
        scores = self.model(self.X)[:, 0]
        penalty = sum((p * p).sum() for p in self.model.parameters())
        loss = torch.relu(1.0 - self.y * scores).mean() + ALPHA * penalty
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()


class TorchMnistTrainer:
    """PyTorch's float64 step of MLP(784, [128, 10]) with cross-entropy: the MNIST-sized target."""

    def __init__(self, data: Any) -> None:
        import torch

        self.torch = torch
        X, y, weights = data
        first = torch.nn.Linear(784, 128, dtype=torch.float64)
        second = torch.nn.Linear(128, 10, dtype=torch.float64)
        with torch.no_grad():
            for linear, (W, b) in zip((first, second), weights):
                linear.weight.copy_(torch.tensor(W, dtype=torch.float64))
                linear.bias.copy_(torch.tensor(b, dtype=torch.float64))
        self.model = torch.nn.Sequential(first, torch.nn.ReLU(), second)
        self.X = torch.tensor(X, dtype=torch.float64)
        self.y = torch.tensor(y)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01)

    def step(self) -> float:
        loss = self.torch.nn.functional.cross_entropy(self.model(self.X), self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()
