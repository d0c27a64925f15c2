"""Run before any timing: every engine must compute the same numbers, so none times wrong work."""

from __future__ import annotations

from typing import Any

from problem import Problem

LOSS_TOLERANCE = 1e-9  # absolute, on the first step's loss and on the weights after it
GRADIENT_TOLERANCE = 1e-12  # relative, on the chain's and the wide sum's gradients


class Disagreement(AssertionError):
    """An engine computed a different result from chainrule's (or from the floor's)."""


def _check(what: str, name: str, got: float, want: float, tolerance: float) -> None:
    if not abs(got - want) <= tolerance:
        raise Disagreement(
            f"{what}: {name} gives {got!r}, chainrule {want!r} (tolerance {tolerance:g})"
        )


def check_mlp_step(engines: list[Any], problem: Problem) -> float:
    """The first step's loss and the weights after it agree to LOSS_TOLERANCE; returns the loss."""
    results = {}
    for engine in engines:
        trainer = engine.trainer(problem)
        results[engine.name] = (trainer.step(), trainer.weights())
    loss, weights = results["chainrule"]
    for name, (other_loss, other_weights) in results.items():
        _check("mlp_step loss", name, other_loss, loss, LOSS_TOLERANCE)
        worst = max(range(len(weights)), key=lambda i: abs(other_weights[i] - weights[i]))
        _check(
            f"mlp_step weight {worst}", name, other_weights[worst], weights[worst], LOSS_TOLERANCE
        )
    return loss


def check_chain(engines: list[Any], n: int) -> float:
    """dy/dx of the chain agrees on every engine that survives length n; returns it."""
    grads = {}
    for engine in engines:
        try:
            grads[engine.name] = engine.chain(n)[1]
        except RecursionError:
            continue
    want = grads["chainrule"]
    for name, got in grads.items():
        _check(f"chain n={n} dy/dx", name, got, want, GRADIENT_TOLERANCE * abs(want))
    return want


def check_wide(engines: list[Any], xs: list[float]) -> None:
    """The gradient 2 x_i of the wide sum agrees on every engine, and with `sum_values`."""
    results = {engine.name: engine.wide(xs)[1] for engine in engines}
    results["chainrule sum_values"] = engines[0].wide_sum_values(xs)[1]
    want = results["chainrule"]
    for name, grads in results.items():
        for i, (got, expected) in enumerate(zip(grads, want, strict=True)):
            _check(f"wide d/dx[{i}]", name, got, expected, GRADIENT_TOLERANCE * abs(expected))


def check_vectorised(problem: Problem, trainers: dict[str, Any]) -> float:
    """The vectorised trainers (compiled tapes, NumPy by hand, torch nn.Linear) take the same
    first step as the floor's plain floats, loss and weights to LOSS_TOLERANCE; returns the loss."""
    from floor import FloorTrainer

    reference = FloorTrainer(problem)
    loss, weights = reference.step(), reference.weights()
    for name, trainer_class in trainers.items():
        trainer = trainer_class(problem)
        what = f"vectorised mlp_step, batch {len(problem.X)}"
        _check(f"{what}, loss", name, trainer.step(), loss, LOSS_TOLERANCE)
        found = trainer.weights()
        worst = max(range(len(weights)), key=lambda i: abs(found[i] - weights[i]))
        _check(f"{what}, weight {worst}", name, found[worst], weights[worst], LOSS_TOLERANCE)
    return loss
