"""The engines under test, behind one small interface, each used the way its own users write code.

An engine makes leaves, runs the backward pass and reads gradients; `GraphEngine` builds the chain
and wide workloads from those with Python operators, so every engine runs the same expressions.
Each engine's `trainer` writes micrograd's demo step in that engine's own idiom.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from problem import ALPHA, CHAIN_SCALE, CHAIN_SHIFT, LAYER_SIZES, LEARNING_RATE, Problem, pairwise


class Trainer(Protocol):
    """One model and its data: `step()` does one SGD step and returns the loss before it."""

    def step(self) -> float: ...

    def weights(self) -> list[float]: ...


class GraphEngine:
    """An engine that records a graph: subclasses say how to make a leaf and backpropagate."""

    name = ""
    api: dict[str, str] = {}  # workload -> the API it uses, for the table (chainrule's column)

    def leaf(self, x: float) -> Any:
        raise NotImplementedError

    def grad(self, node: Any) -> float:
        return node.grad

    def backward(self, node: Any) -> None:
        node.backward()

    def trainer(self, problem: Problem) -> Trainer:
        raise NotImplementedError

    def build_chain(self, x: Any, n: int) -> Any:
        """y <- y * CHAIN_SCALE + CHAIN_SHIFT, n times: 2n nodes in one line."""
        y = x
        for _ in range(n):
            y = y * CHAIN_SCALE + CHAIN_SHIFT
        return y

    def chain(self, n: int) -> tuple[float, float]:
        """Seconds for the chain's forward and backward passes (not freeing it), and dy/dx."""
        x = self.leaf(1.0)
        start = time.perf_counter()
        y = self.build_chain(x, n)
        self.backward(y)
        seconds = time.perf_counter() - start
        del y
        return seconds, self.grad(x)

    def wide(
        self, xs: Sequence[float], reduce: Callable[[list], Any] | None = None
    ) -> tuple[float, list[float]]:
        """Seconds for sum of x_i**2 (forward, backward) and the gradient; pairwise + by default."""
        reduce = reduce or (lambda terms: pairwise(terms, operator.add))
        leaves = [self.leaf(x) for x in xs]
        start = time.perf_counter()
        total = reduce([v * v for v in leaves])
        self.backward(total)
        seconds = time.perf_counter() - start
        del total
        return seconds, [self.grad(v) for v in leaves]


class ChainruleEngine(GraphEngine):
    name = "chainrule"
    api = {
        "mlp_step": "nn.MLP, nn.losses.hinge + l2 (dot), p.data -= lr * p.grad",
        "chain": "Value * float, Value + float",
        "wide": "Value * Value, Value + Value",
        "wide_sum": "Value * Value, autograd.sum_values",
    }

    def __init__(self) -> None:
        from autograd import Value, sum_values

        self.Value = Value
        self.sum_values = sum_values

    def leaf(self, x: float) -> Any:
        return self.Value(x)

    def wide_sum_values(self, xs: Sequence[float]) -> tuple[float, list[float]]:
        """The wide workload summed by one `sum_values` node instead of a tree of +."""
        return self.wide(xs, reduce=self.sum_values)

    def trainer(self, problem: Problem) -> Trainer:
        return ChainruleTrainer(problem)


class ChainruleTrainer:
    def __init__(self, problem: Problem) -> None:
        from nn import MLP
        from nn.losses import hinge, l2

        self.hinge, self.l2 = hinge, l2
        self.problem = problem
        self.model = MLP(LAYER_SIZES[0], list(LAYER_SIZES[1:]))
        self.params = self.model.parameters()
        for p, w in zip(self.params, problem.flat_weights(), strict=True):
            p.data = w

    def weights(self) -> list[float]:
        return [p.data for p in self.params]

    def loss(self) -> Any:
        scores = [self.model(x) for x in self.problem.X]
        return self.hinge(scores, self.problem.y) + ALPHA * self.l2(self.params)

    def step(self) -> float:
        model, params = self.model, self.params
        loss = self.loss()
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LEARNING_RATE * p.grad
        return loss.data


class MicrogradEngine(GraphEngine):
    name = "micrograd"

    def __init__(self) -> None:
        from micrograd.engine import Value

        self.Value = Value

    def leaf(self, x: float) -> Any:
        return self.Value(x)

    def trainer(self, problem: Problem) -> Trainer:
        return MicrogradTrainer(problem)


class MicrogradTrainer:
    def __init__(self, problem: Problem) -> None:
        from micrograd.nn import MLP

        self.problem = problem
        self.model = MLP(LAYER_SIZES[0], list(LAYER_SIZES[1:]))
        self.params = self.model.parameters()
        for p, w in zip(self.params, problem.flat_weights(), strict=True):
            p.data = w

    def weights(self) -> list[float]:
        return [p.data for p in self.params]

    def step(self) -> float:
        model, params = self.model, self.params
        scores = [model(list(x)) for x in self.problem.X]
        losses = [(1 + -y * s).relu() for y, s in zip(self.problem.y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LEARNING_RATE * p.grad
        return loss.data


class TorchEngine(GraphEngine):
    """PyTorch on 0-dim float64 tensors: the same scalar graph, built and swept by libtorch."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def leaf(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def grad(self, node: Any) -> float:
        return node.grad.item()

    def trainer(self, problem: Problem) -> Trainer:
        return TorchTrainer(self, problem)


class TorchTrainer:
    def __init__(self, engine: TorchEngine, problem: Problem) -> None:
        self.torch = engine.torch
        self.problem = problem
        self.layers = [
            [([engine.leaf(w) for w in n.w], engine.leaf(n.b)) for n in layer]
            for layer in problem.layers
        ]
        self.params = [p for layer in self.layers for w, b in layer for p in (*w, b)]

    def weights(self) -> list[float]:
        return [p.item() for p in self.params]

    def score(self, x: Sequence[float]) -> Any:
        relu, last = self.torch.relu, len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            outs = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = outs if i == last else [relu(z) for z in outs]
        return x[0]

    def loss(self) -> Any:
        scores = [self.score(x) for x in self.problem.X]
        losses = [self.torch.relu(1 - y * s) for y, s in zip(self.problem.y, scores)]
        return sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in self.params)

    def step(self) -> float:
        torch, params = self.torch, self.params
        loss = self.loss()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
        return loss.item()


def available_engines() -> tuple[list[Any], dict[str, str]]:
    """The engines that import here, and for each missing one, why it is missing."""
    from floor import FloorEngine

    engines: list[Any] = []
    missing: dict[str, str] = {}
    for cls in (ChainruleEngine, MicrogradEngine, TorchEngine):
        try:
            engines.append(cls())
        except ImportError as error:
            missing[cls.name] = f"not importable ({error})"
    engines.append(FloorEngine())
    return engines, missing
