"""Truncated BPTT: the gradient of each update, the state carried between windows, memory."""

import math

import pytest

from autograd import gradients, topological_order
from nn import RNN, Linear, Module
from nn.data import sine_wave
from nn.losses import mse
from nn.optim import SGD, Adam
from nn.train import BPTTHistory, detach, truncated_bptt


class Predictor(Module):
    """An RNN read out by a linear layer: one prediction per step, the state carried."""

    def __init__(self, hidden=3, seed=0):
        self.rnn = RNN(1, hidden, seed=seed)
        self.head = Linear(hidden, 1, seed=seed + 1)

    def forward(self, inputs, state):
        output, state = self.rnn(inputs, state)
        return [self.head(h)[0] for h in output], state


class Watching:
    """An optimizer that records the gradients it is given and leaves the weights alone."""

    def __init__(self, params):
        self.params = list(params)
        self.seen = []

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        self.seen.append([p.grad for p in self.params])


def by_hand(model, inputs, targets, first, newest, k1):
    """d/dw of the loss of steps newest..newest+k1, run from the (detached) state before `first`."""
    state = None
    if first:
        _, state = model(inputs[:first], None)
    outputs, _ = model(inputs[first : newest + k1], detach(state))
    loss = mse(outputs[newest - first :], targets[newest : newest + k1])
    return gradients(loss, model.parameters())


@pytest.mark.parametrize("k1, k2", [(4, 4), (5, 5), (3, 6), (2, 8)])
def test_each_update_gets_the_gradient_of_its_window_through_k2_steps(k1, k2):
    model = Predictor()
    inputs, targets = sine_wave(17, period=7.0)
    watching = Watching(model.parameters())
    history = truncated_bptt(model, mse, watching, (inputs, targets), k1=k1, k2=k2)
    assert len(history.loss) == len(watching.seen) == math.ceil(17 / k1)
    for update, seen in enumerate(watching.seen):
        newest = update * k1
        expected = by_hand(model, inputs, targets, max(0, newest - (k2 - k1)), newest, k1)
        assert seen == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_state_goes_on_detached_and_the_last_one_is_returned():
    model = Predictor()
    inputs, targets = sine_wave(12)
    history = truncated_bptt(model, mse, Watching(model.parameters()), (inputs, targets), k1=5)
    _, final = model(inputs, None)
    assert [v.data for v in history.state[0]] == pytest.approx([v.data for v in final[0]])
    assert all(v.parents == () for v in history.state[0])


def test_the_graph_alive_grows_with_k2_and_not_with_the_length_of_the_sequence():
    def peak(length, k1, k2):
        model = Predictor()
        history = truncated_bptt(
            model, mse, Watching(model.parameters()), sine_wave(length), k1, k2, count_nodes=True
        )
        return max(history.nodes)

    window = peak(40, 5, 5)
    assert peak(80, 5, 5) == window  # twice the sequence, the same graph per update
    longer, longest = peak(40, 5, 10), peak(40, 5, 15)
    assert window < longer and longest - longer == longer - window  # the same nodes per step
    model = Predictor()
    inputs, targets = sine_wave(80)
    outputs, _ = model(inputs, None)
    whole = len(topological_order(mse(outputs, targets)))
    assert whole > 12 * window  # full backpropagation through time holds all 80 steps


def test_without_count_nodes_no_graph_walk_is_made_and_nothing_is_recorded():
    model = Predictor()
    history = truncated_bptt(model, mse, Watching(model.parameters()), sine_wave(10), k1=5)
    assert isinstance(history, BPTTHistory) and history.nodes == []
    assert repr(history).startswith("BPTTHistory(updates=2, loss=")


def test_clipping_caps_the_gradient_the_optimizer_sees_and_the_history_keeps_the_raw_norm():
    model = Predictor(hidden=4, seed=3)
    for row in model.rnn.weight_hh_l0:  # large recurrent weights: large gradients
        for w in row:
            w.data *= 6.0
    watching = Watching(model.parameters())
    history = truncated_bptt(model, mse, watching, sine_wave(30), k1=10, max_norm=0.5)
    seen_norms = [math.hypot(*grads) for grads in watching.seen]
    assert max(history.grad_norm) > 0.5
    assert all(norm <= 0.5 + 1e-9 for norm in seen_norms)
    for raw, seen in zip(history.grad_norm, seen_norms):
        assert seen == pytest.approx(min(raw, 0.5 * raw / (raw + 1e-6)), rel=1e-9)


def test_every_epoch_starts_again_from_the_given_state():
    model = Predictor()
    data = sine_wave(10)
    start = ([0.5, -0.5, 0.25],)
    watching = Watching(model.parameters())
    history = truncated_bptt(model, mse, watching, data, k1=10, epochs=2, state=start)
    assert watching.seen[0] == watching.seen[1] and history.loss[0] == history.loss[1]


def test_training_on_a_sine_wave_brings_the_loss_down():
    model = Predictor(hidden=4)
    history = truncated_bptt(
        model, mse, Adam(model.parameters(), lr=0.02), sine_wave(100), k1=10, epochs=8
    )
    assert sum(history.loss[-10:]) < 0.1 * sum(history.loss[:10])


def test_a_plain_function_model_trains_the_optimizer_parameters():
    rnn = RNN(1, 1, seed=0)

    def model(inputs, state):
        output, state = rnn(inputs, state)
        return [h[0] for h in output], state

    before = [p.data for p in rnn.parameters()]
    truncated_bptt(model, mse, SGD(rnn.parameters(), lr=0.1), sine_wave(20), k1=5)
    assert [p.data for p in rnn.parameters()] != before


def test_detach_copies_values_as_constants_and_keeps_the_structure():
    model = Predictor()
    _, (h,) = model([[1.0]], None)
    copied = detach(((h, None), [2.0]))
    assert [v.data for v in copied[0][0]] == [v.data for v in h]
    assert all(v.parents == () for v in copied[0][0]) and copied[0][1] is None
    assert copied[1] == [2.0]


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"data": ([[1.0]] * 3, [0.0] * 2)}, ValueError, "inputs has 3 steps and targets 2"),
        ({"data": "text"}, TypeError, "data must be a pair"),
        ({"k1": 0}, ValueError, "k1 must be positive, got 0"),
        ({"k1": 2, "k2": 3}, ValueError, "k2=3 must be a multiple of k1=2"),
        ({"k1": 2, "k2": 2.0}, TypeError, "k2 must be an int"),
        ({"epochs": 0}, ValueError, "epochs must be positive"),
    ],
)
def test_bad_arguments_are_refused_naming_them(options, error, message):
    model = Predictor()
    arguments = {"data": sine_wave(6), "k1": 2} | options
    with pytest.raises(error, match=message):
        truncated_bptt(model, mse, Watching(model.parameters()), **arguments)


def test_the_memory_figures_the_layers_guide_quotes():
    # docs/layers.md: an RNN of six units and a linear read-out predicting a sine wave of 200
    # steps, as in notebook 5: 108 nodes per update with windows of 1, 39 more per step of
    # window, 7,863 in the one graph of full BPTT. Node counts depend on the architecture, not on
    # the weights.
    class SixUnits(Module):
        def __init__(self):
            self.rnn = RNN(1, 6, seed=0)
            self.head = Linear(6, 1, seed=1)

        def forward(self, inputs, state):
            output, state = self.rnn(inputs, state)
            return [self.head(h)[0] for h in output], state

    wave = sine_wave(200, period=20.0)
    for k, nodes in ((1, 108), (8, 381)):
        model = SixUnits()
        history = truncated_bptt(
            model, mse, Watching(model.parameters()), wave, k1=k, count_nodes=True
        )
        assert max(history.nodes) == nodes == 108 + 39 * (k - 1)
    outputs, _ = SixUnits()(wave[0], None)
    assert len(topological_order(mse(outputs, wave[1]))) == 7863
