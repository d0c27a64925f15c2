"""Newton's method with the engine's exact Hessian against gradient descent, on Rosenbrock's valley.

    python examples/newton_rosenbrock.py

f(x, y) = (1 - x)**2 + 100 (y - x**2)**2 has its minimum 0 at (1, 1) at the end of a long curved
valley. Gradient descent crawls along the valley floor; Newton's method, which rescales the step by
the inverse Hessian (second-order backpropagation: reverse over reverse, same rules), does not.
"""

from __future__ import annotations

from autograd import Value
from autograd.functional import hessian, value_and_grad

START = (-1.2, 1.0)
TOLERANCE = 1e-8  # stop when the gradient's largest entry falls below this


def rosenbrock(x: Value, y: Value) -> Value:
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting: the x with matrix @ x = rhs."""
    n = len(rhs)
    rows = [list(row) + [b] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if rows[pivot][col] == 0.0:
            raise ZeroDivisionError("solve: the Hessian is singular")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (rows[r][n] - sum(rows[r][c] * x[c] for c in range(r + 1, n))) / rows[r][r]
    return x


def newton(f, start, max_steps: int = 100) -> tuple[list[float], int]:
    """Newton's method: x <- x - H(x)^-1 grad f(x). Returns the point and the steps taken."""
    point, gradient_of = list(start), value_and_grad(f, argnums=tuple(range(len(start))))
    for step in range(max_steps):
        _, gradient = gradient_of(*point)
        if max(abs(g) for g in gradient) < TOLERANCE:
            return point, step
        delta = solve(hessian(f)(*point), [-g for g in gradient])
        point = [p + d for p, d in zip(point, delta)]
    return point, max_steps


def gradient_descent(f, start, lr: float = 1e-3, max_steps: int = 200_000):
    """Plain gradient descent with a fixed step. Returns the point and the steps taken."""
    point, gradient_of = list(start), value_and_grad(f, argnums=tuple(range(len(start))))
    for step in range(max_steps):
        _, gradient = gradient_of(*point)
        if max(abs(g) for g in gradient) < TOLERANCE:
            return point, step
        point = [p - lr * g for p, g in zip(point, gradient)]
    return point, max_steps


def main() -> None:
    for name, method in (("Newton", newton), ("gradient descent", gradient_descent)):
        point, steps = method(rosenbrock, START)
        print(f"{name:>16}: {steps:>6} steps to ({point[0]:.6f}, {point[1]:.6f})")


if __name__ == "__main__":
    main()
