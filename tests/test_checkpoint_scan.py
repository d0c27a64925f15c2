"""checkpoint_scan and its binomial schedule: the plain loop's gradients, from k snapshots."""

import math
import random
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, checkpoint_scan, gradients, hessian, no_grad
from autograd.checkpointing import binomial_schedule, minimal_advances, repetitions
from nn import Linear, LSTMCell
from nn.data import sine_wave
from nn.losses import mse
from nn.optim import SGD
from nn.train import truncated_bptt


@lru_cache(None)
def fewest_advances(steps, snapshots):
    """The optimum by searching every first split (Griewank's recursion), for small cases."""
    if steps <= 1:
        return 0
    if snapshots == 1:
        return steps * (steps - 1) // 2
    return min(
        m + fewest_advances(steps - m, snapshots - 1) + fewest_advances(m, snapshots)
        for m in range(1, steps)
    )


def run_schedule(steps, snapshots):
    """Play the actions, checking each is possible; (advances, most snapshots held, turns)."""
    stack, working, advances, most, turns = [], 0, 0, 0, []
    for action in binomial_schedule(steps, snapshots):
        kind, i = action[0], action[1]
        if kind == "takeshot":
            assert working == i
            stack.append(i)
            most = max(most, len(stack))
        elif kind == "advance":
            assert working == i < action[2]
            advances += action[2] - i
            working = action[2]
        elif kind == "restore":
            while stack[-1] > i:
                stack.pop()
            assert stack[-1] == i
            working = i
        else:
            assert working == i and kind == ("firsturn" if not turns else "youturn")
            turns.append(i)
            working = None
    return advances, most, turns


@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("steps", [1, 2, 3, 5, 8, 13, 21, 34, 60])
def test_schedule_is_binomially_optimal_and_keeps_at_most_k_snapshots(steps, snapshots):
    advances, most, turns = run_schedule(steps, snapshots)
    assert turns == list(range(steps - 1, -1, -1))
    assert most <= snapshots
    assert advances == minimal_advances(steps, snapshots) == fewest_advances(steps, snapshots)


def test_binomial_counts_match_the_closed_form():
    assert repetitions(10_000, 100) == 3  # C(102, 2) < 10,000 <= C(103, 3)
    assert minimal_advances(10_000, 100) == 3 * 10_000 - math.comb(103, 2)
    assert minimal_advances(7, 1) == 21 and minimal_advances(7, 7) == 6


def test_schedule_of_a_long_loop_is_cheap_to_make_and_play():
    advances, most, turns = run_schedule(10_000, 100)
    assert advances == minimal_advances(10_000, 100) and most <= 100 and len(turns) == 10_000


@pytest.mark.parametrize("bad", [0, -2])
def test_schedule_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive int"):
        binomial_schedule(bad, 3)
    with pytest.raises(ValueError, match="positive int"):
        binomial_schedule(3, bad)


class Recurrence:
    """h' = tanh(w h + u x + b), output v h' + x: weights closed over, inputs Values."""

    def __init__(self, rng):
        self.w, self.u, self.b, self.v = (Value(rng.uniform(-1.2, 1.2)) for _ in range(4))
        self.calls = 0

    def step(self, h, x):
        self.calls += 1
        h = (self.w * h + self.u * x + self.b).tanh()
        return h, self.v * h + x

    def weights(self):
        return [self.w, self.u, self.b, self.v]


def loss_of(h, ys):
    return h * h + sum((y * y for y in ys), Value(0.0)) * 0.5


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.integers(0, 10_000))
def test_scan_gradients_equal_the_plain_loop_and_steps_are_binomial(steps, snapshots, seed):
    rng = random.Random(seed)
    net = Recurrence(rng)
    xs = [Value(rng.uniform(-1, 1)) for _ in range(steps)]
    h0 = Value(rng.uniform(-1, 1))
    leaves = [*net.weights(), h0, *xs]
    h, ys = h0, []
    for x in xs:
        h, y = net.step(h, x)
        ys.append(y)
    plain = gradients(loss_of(h, ys), leaves)
    net.calls = 0
    h, ys = checkpoint_scan(net.step, h0, xs, snapshots=snapshots)
    scanned = gradients(loss_of(h, ys), leaves)
    assert net.calls == steps + minimal_advances(steps, snapshots)
    assert all(abs(a - b) <= 1e-12 * max(1.0, abs(a)) for a, b in zip(plain, scanned))


def test_lstm_state_pair_from_none_gets_plain_gradients_bit_for_bit():
    cell, head = LSTMCell(2, 3, seed=0), Linear(3, 1, seed=1)
    weights = cell.parameters() + head.parameters()
    xs = [[math.sin(t), math.cos(0.3 * t)] for t in range(25)]

    def step(state, x):
        h, c = cell(x, state)
        return (h, c), head(h)[0]

    state, ys = None, []
    for x in xs:
        state, y = step(state, x)
        ys.append(y)
    plain = gradients(mse(ys, [0.1] * 25) + state[1][0], weights)
    (h, c), ys = checkpoint_scan(step, None, xs, snapshots=3)
    assert plain == gradients(mse(ys, [0.1] * 25) + c[0], weights)


def test_a_second_backward_replays_the_whole_schedule():
    net = Recurrence(random.Random(1))
    h, ys = checkpoint_scan(net.step, Value(0.2), [0.5, -0.1, 0.3, 0.9, -0.7], snapshots=2)
    loss = loss_of(h, ys)
    first = gradients(loss, net.weights())
    net.calls = 0
    assert gradients(loss, net.weights()) == first
    assert net.calls == 5 + minimal_advances(5, 2)


def test_outputs_may_be_none_and_state_may_hold_numbers():
    w = Value(0.5)
    (h, count), ys = checkpoint_scan(
        lambda s, x: ((s[0] * w + x, s[1] + 1), None), (Value(1.0), 0), [1.0, 2.0, 3.0], snapshots=2
    )
    assert ys == [None, None, None] and count == 3
    h.backward()
    assert w.grad == 3 * 0.5**2 + 2 * 0.5 + 2  # h = w**3 + w**2 + 2 w + 3


def test_under_no_grad_the_steps_just_run():
    with no_grad():
        h, ys = checkpoint_scan(lambda h, x: (h * x, h), Value(2.0), [3.0, 4.0], snapshots=1)
    assert h.data == 24.0 and h.parents == () and [y.data for y in ys] == [2.0, 6.0]


def test_empty_inputs_give_back_the_state():
    h = Value(1.0)
    assert checkpoint_scan(lambda h, x: (h, None), h, [], snapshots=1) == (h, [])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"snapshots": 0}, ValueError, ">= 1"),
        ({"snapshots": 2.0}, TypeError, "snapshots must be an int"),
        ({"snapshots": True}, TypeError, "snapshots must be an int"),
        ({"snapshots": 2, "inputs": 5}, TypeError, "inputs must be a sequence"),
        ({"snapshots": 2, "state": {"h": 1.0}}, TypeError, "holds dict"),
        ({"snapshots": 2, "step": "tanh"}, TypeError, "callable"),
        ({"snapshots": 2, "step": lambda h, x: h}, TypeError, "pair"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, match):
    arguments = {"step": lambda h, x: (h * x, None), "state": Value(1.0), "inputs": [1.0, 2.0]}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        checkpoint_scan(**arguments)


def test_higher_derivatives_through_a_scan_are_refused():
    def f(w):
        h, _ = checkpoint_scan(lambda h, x: ((h * w).tanh(), None), w, [1.0, 2.0], snapshots=1)
        return h

    with pytest.raises(TypeError, match="higher derivatives"):
        hessian(f)(0.5)


def test_a_step_that_changes_before_backward_is_refused():
    w = Value(0.5)
    step = lambda h, x: ((h * w).tanh(), h * x)  # noqa: E731
    h, ys = checkpoint_scan(step, Value(1.0), [1.0] * 4, snapshots=1)
    w.data = 0.6  # an optimizer step between the scan and backward()
    with pytest.raises(RuntimeError, match="same values each time"):
        (h + ys[0] + ys[2]).backward()


def test_truncated_bptt_with_snapshots_is_exact_full_bptt():
    inputs, targets = sine_wave(30, period=9.0)

    def trained(snapshots):
        cell, head = LSTMCell(1, 3, seed=0), Linear(3, 1, seed=1)

        def model(window, state):
            outputs = []
            for x in window:
                state = cell(x, state)
                outputs.append(head(state[0])[0])
            return outputs, state

        weights = cell.parameters() + head.parameters()
        optimizer = SGD(weights, lr=0.1)
        history = truncated_bptt(
            model, mse, optimizer, (inputs, targets), k1=30, epochs=2, snapshots=snapshots
        )
        return history, [w.data for w in weights]

    plain, plain_weights = trained(None)
    scanned, scanned_weights = trained(4)
    assert all(abs(a - b) <= 1e-12 for a, b in zip(plain.grad_norm, scanned.grad_norm))
    assert all(abs(a - b) <= 1e-12 for a, b in zip(plain_weights, scanned_weights))


def test_truncated_bptt_refuses_bad_snapshots():
    with pytest.raises(ValueError, match="snapshots"):
        truncated_bptt(
            lambda w, s: ([Value(0.0)] * len(w), s), mse, SGD([Value(1.0)], lr=0.1),
            ([1.0, 2.0], [1.0, 2.0]), k1=2, snapshots=0,
        )  # fmt: skip
