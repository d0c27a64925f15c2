"""Griewank's binomial checkpointing schedule: reversing n steps keeping at most k states.

Reversing a recurrence s_{t+1} = step(s_t, x_t) (backpropagating through it) visits the states
in the reverse order to the one that computes them. Keeping all n is the plain graph's memory;
keeping k "snapshots" means recomputing the others from the nearest one before them. Griewank
(1992; Griewank and Walther, *Evaluating Derivatives*, 2nd ed., ch. 12) found the schedule that
recomputes least. With beta(k, r) = C(k + r, k): k snapshots and r repetitions (no step
advanced more than r times) reverse at most beta(k, r) steps, and the fewest advances for n
steps, with r the least repetition number with beta(k, r) >= n, are

    T(n, k) = r n - beta(k + 1, r - 1)          (T(1, k) = 0; T(n, 1) = n (n - 1) / 2).

The schedule here is the recursive one of the proof: to reverse l steps from a snapshot with s
snapshots free (that one included), advance m steps, snapshot there, reverse the last l - m
steps with s - 1, then the first m steps with s again (the snapshot at m no longer needed). It
costs m + T(l - m, s - 1) + T(m, s), which equals T(l, s) exactly when both parts stay within
their repetition budgets: with r = r(l, s),

    max(beta(s, r - 2), l - beta(s - 1, r)) <= m <= min(beta(s, r - 1), l - beta(s - 1, r - 1)),

the first part taking r - 1 repetitions beyond the first sweep, the last part r (Pascal's rule,
beta(s, r) = beta(s, r - 1) + beta(s - 1, r), says the two budgets add up to l's). We take the
largest such m. tests/test_checkpoint_scan.py checks the count against T(n, k), and against a
search over every split for small n and k, and that no more than k snapshots are ever held.
Snapshots are used last in, first out, so they form a stack.

Actions, in order: ("takeshot", i): store the working state s_i; ("advance", i, j): step the
working state from s_i to s_j (j - i step calls); ("restore", i): the working state is the
snapshot of s_i again (snapshots after i are dropped); ("firsturn", i) and ("youturn", i):
run step i recording and backpropagate through it (firsturn: the first, step n - 1).
"""

from __future__ import annotations

from math import comb


def _beta(s: int, r: int) -> int:
    return comb(s + r, s) if r >= 0 else 0


def repetitions(steps: int, snapshots: int) -> int:
    """The least r with C(snapshots + r, r) >= steps: how often the worst step is advanced.

    >>> repetitions(10_000, 100)
    3
    """
    r = 0
    while _beta(snapshots, r) < steps:
        r += 1
    return r


def minimal_advances(steps: int, snapshots: int) -> int:
    """T(n, k): the fewest step calls, besides the n recorded ones, to reverse n steps.

    >>> minimal_advances(10, 1), minimal_advances(10, 3), minimal_advances(10, 10)
    (45, 15, 9)
    """
    if steps <= 1:
        return 0
    r = repetitions(steps, snapshots)
    return r * steps - _beta(snapshots + 1, r - 1)


def _split(steps: int, snapshots: int) -> int:
    r = repetitions(steps, snapshots)
    return max(1, min(steps - 1, _beta(snapshots, r - 1), steps - _beta(snapshots - 1, r - 1)))


def binomial_schedule(steps: int, snapshots: int) -> list[tuple]:
    """The actions that reverse `steps` steps keeping at most `snapshots` states (module doc).

    >>> binomial_schedule(3, 2)
    [('takeshot', 0), ('advance', 0, 1), ('takeshot', 1), ('advance', 1, 2), ('firsturn', 2), \
('restore', 1), ('youturn', 1), ('restore', 0), ('youturn', 0)]
    """
    if type(steps) is not int or steps < 1:
        raise ValueError(f"binomial_schedule: steps must be a positive int, got {steps!r}")
    if type(snapshots) is not int or snapshots < 1:
        raise ValueError(f"binomial_schedule: snapshots must be a positive int, got {snapshots!r}")
    actions: list[tuple] = [("takeshot", 0)]
    working: int | None = 0  # where the working state is (None: consumed by a turn)
    segments = [(0, steps, snapshots)]  # (start, length, snapshots free): a stack, last first

    def go_to(start: int, target: int) -> None:
        nonlocal working
        if working != start:
            actions.append(("restore", start))
        if target > start:
            actions.append(("advance", start, target))
        working = target

    def turn(i: int) -> None:
        nonlocal working
        actions.append(("firsturn" if working == steps - 1 else "youturn", i))
        working = None

    while segments:
        start, length, free = segments.pop()
        if length == 1 or free == 1:
            for i in range(start + length - 1, start - 1, -1):
                go_to(start, i)
                turn(i)
            continue
        m = _split(length, free)
        go_to(start, start + m)
        actions.append(("takeshot", start + m))
        segments.append((start, m, free))
        segments.append((start + m, length - m, free - 1))
    return actions
