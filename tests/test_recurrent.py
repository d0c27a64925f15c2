"""Recurrent cells and the sequence models built from them: formulas, layouts, graphs, errors."""

import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import central_difference, close_to_difference

from autograd import Value, draw_graph, no_grad, sum_values
from nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def set_all(cell, value_of):
    """Give every parameter the value `value_of(name)`."""
    cell.load_state_dict({name: value_of(name) for name in cell.state_dict()})


# --- layouts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cell, gates", [(RNNCell, 1), (LSTMCell, 4), (GRUCell, 3)])
def test_cells_hold_pytorch_shaped_weights_stacked_by_gate(cell, gates):
    c = cell(3, 5, seed=0)
    assert (len(c.weight_ih), len(c.weight_ih[0])) == (gates * 5, 3)
    assert (len(c.weight_hh), len(c.weight_hh[0])) == (gates * 5, 5)
    assert len(c.bias_ih) == len(c.bias_hh) == gates * 5
    assert len(c.parameters()) == gates * 5 * (3 + 5 + 2)
    names = [name for name, _ in c.named_parameters()]
    assert names[0] == "weight_ih.0.0" and names[-1] == f"bias_hh.{gates * 5 - 1}"


@given(st.integers(1, 9), st.integers(0, 1000))
def test_cells_start_uniform_within_one_over_root_hidden_size(hidden, seed):
    cell = LSTMCell(2, hidden, seed=seed)
    bound = 1.0 / math.sqrt(hidden)
    assert all(abs(p.data) <= bound for p in cell.parameters())


def test_a_cell_without_bias_has_only_weights():
    cell = GRUCell(2, 3, bias=False, seed=0)
    assert cell.bias_ih is None and len(cell.parameters()) == 3 * 3 * (2 + 3)
    assert repr(cell) == "GRUCell(2, 3, bias=False)"


# --- formulas, by hand, with one hidden unit ----------------------------------------------------
def test_rnn_cell_is_tanh_or_relu_of_both_affine_maps():
    for nonlinearity, function in (("tanh", math.tanh), ("relu", lambda z: max(z, 0.0))):
        cell = RNNCell(1, 1, nonlinearity=nonlinearity, seed=0)
        set_all(
            cell,
            {"weight_ih.0.0": 0.5, "weight_hh.0.0": -2.0, "bias_ih.0": 0.1, "bias_hh.0": 0.2}.get,
        )
        assert cell([3.0], [0.25])[0].data == pytest.approx(function(1.5 - 0.5 + 0.3))


def test_lstm_cell_gates_come_in_the_order_input_forget_cell_output():
    cell = LSTMCell(1, 1, seed=0)
    # Row r of each weight matrix belongs to gate r: i, f, g, o. Give each gate its own input.
    pre = {"i": 0.3, "f": -0.7, "g": 1.1, "o": 0.4}
    state = {f"weight_ih.{r}.0": value for r, value in enumerate(pre.values())}
    set_all(cell, lambda name: state.get(name, 0.0))
    h, c = cell([1.0], ([0.0], [2.0]))
    i, f, g, o = sigmoid(0.3), sigmoid(-0.7), math.tanh(1.1), sigmoid(0.4)
    assert c[0].data == pytest.approx(f * 2.0 + i * g, rel=1e-14)
    assert h[0].data == pytest.approx(o * math.tanh(f * 2.0 + i * g), rel=1e-14)


def test_gru_cell_gates_come_in_the_order_reset_update_new():
    cell = GRUCell(1, 1, seed=0)
    state = {"weight_ih.0.0": 0.3, "weight_ih.1.0": -0.5, "weight_ih.2.0": 0.8}
    state |= {"weight_hh.2.0": 1.5, "bias_hh.2": 0.25}
    set_all(cell, lambda name: state.get(name, 0.0))
    x, h = 1.0, 0.6
    r, z = sigmoid(0.3), sigmoid(-0.5)
    n = math.tanh(0.8 + r * (1.5 * h + 0.25))  # the reset gate scales W_hn h + b_hn
    assert cell([x], [h])[0].data == pytest.approx((1 - z) * n + z * h, rel=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@given(inputs=st.integers(1, 3), hidden=st.integers(1, 3), seed=st.integers(0, 1000))
@settings(max_examples=15)
def test_cell_gradients_match_central_differences(kind, inputs, hidden, seed):
    cell = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}[kind](inputs, hidden, seed=seed)
    rng = random.Random(seed)
    x = [Value(rng.uniform(-2, 2)) for _ in range(inputs)]
    h = [Value(rng.uniform(-1, 1)) for _ in range(hidden)]
    c = [Value(rng.uniform(-1, 1)) for _ in range(hidden)]
    state = (h, c) if kind == "lstm" else h
    leaves = cell.parameters() + x + h + (c if kind == "lstm" else [])

    def loss() -> Value:
        out = cell(x, state)
        out = out[0] + out[1] if kind == "lstm" else out
        return sum_values([(k + 1.0) * v for k, v in enumerate(out)])

    loss().backward()
    at = [leaf.data for leaf in leaves]

    def loss_at(values):
        for leaf, value in zip(leaves, values):
            leaf.data = value
        with no_grad():
            result = loss().data
        for leaf, value in zip(leaves, at):
            leaf.data = value
        return result

    for i, leaf in enumerate(leaves):
        assert close_to_difference(leaf.grad, central_difference(loss_at, at, i), scale=10.0)


# --- sequence models ---------------------------------------------------------------------------
def test_a_sequence_model_runs_its_cell_step_by_step():
    rnn = RNN(2, 3, seed=0)
    xs = [[0.5, -1.0], [1.0, 0.0], [-0.2, 0.3]]
    output, h_n = rnn(xs)
    h = None
    for x, out in zip(xs, output):
        h = rnn.cells[0](x, h)
        assert [v.data for v in h] == [v.data for v in out]
    assert h_n == [output[-1]]


def test_layers_are_stacked_each_reading_the_hidden_states_of_the_one_below():
    lstm = LSTM(2, 3, num_layers=2, seed=0)
    xs = [[0.5, -1.0], [1.0, 0.0]]
    output, (h_n, c_n) = lstm(xs)
    states = [None, None]
    for x, out in zip(xs, output):
        states[0] = lstm.cells[0](x, states[0])
        states[1] = lstm.cells[1](states[0][0], states[1])
        assert [v.data for v in states[1][0]] == [v.data for v in out]
    assert [len(h_n), len(c_n)] == [2, 2]
    assert [v.data for v in c_n[1]] == [v.data for v in states[1][1]]


def test_sequence_models_name_parameters_as_pytorch_layer_by_layer():
    names = [name for name, _ in GRU(2, 3, num_layers=2, seed=0).named_parameters()]
    prefixes = list(dict.fromkeys(name.split(".")[0] for name in names))
    assert prefixes == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_ih_l1",
        "weight_hh_l1",
        "bias_ih_l1",
        "bias_hh_l1",
    ]
    assert len(names) == 3 * 3 * (2 + 3 + 2) + 3 * 3 * (3 + 3 + 2)


def test_an_initial_state_is_read_by_every_layer():
    gru = GRU(1, 2, num_layers=2, seed=0)
    h0 = [[0.5, -0.5], [1.0, 0.25]]
    output, h_n = gru([[1.0]], h0)
    first = gru.cells[0]([1.0], h0[0])
    assert [v.data for v in output[0]] == [v.data for v in gru.cells[1](first, h0[1])]
    assert len(h_n) == 2


def test_a_seeded_sequence_model_is_repeatable_and_leaves_the_global_stream_alone():
    random.seed(3)
    expected = random.random()
    random.seed(3)
    first, second = LSTM(2, 3, num_layers=2, seed=4), LSTM(2, 3, num_layers=2, seed=4)
    assert random.random() == expected
    assert first.state_dict() == second.state_dict()
    assert first.state_dict() != LSTM(2, 3, num_layers=2, seed=5).state_dict()


def test_draw_graph_unrolls_a_sequence_model_in_time_one_box_per_step():
    rnn = RNN(1, 2, seed=0)
    output, _ = rnn([[Value(0.5, label="x0")], [Value(-1.0, label="x1")], [Value(2.0, label="x2")]])
    y = sum_values(output[-1])
    y.backward()
    steps = re.findall(r'label="RNN/(step \d)', draw_graph(y, collapse="step").source)
    assert sorted(steps) == ["step 0", "step 1", "step 2"]
    cells = re.findall(r'label="RNN/(step \d/layer 0)', draw_graph(y, collapse="layer").source)
    assert len(cells) == 3


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: RNNCell(2, 3)([1.0]),
            ValueError,
            "input must be a list of input_size=2, got 1 entries",
        ),
        (
            lambda: GRUCell(2, 3)([1.0, 2.0], [0.0]),
            ValueError,
            "hx must be a list of hidden_size=3",
        ),
        (lambda: LSTMCell(1, 2)([1.0], [0.0, 0.0]), TypeError, r"hx\[0\] \(h\) must be a list"),
        (lambda: LSTMCell(1, 2)([1.0], [0.0]), ValueError, "hx must be a pair"),
        (lambda: RNN(1, 2)([]), ValueError, "input must be a non-empty list of steps"),
        (
            lambda: RNN(1, 2)([[1.0], [1.0, 2.0]]),
            ValueError,
            r"input\[1\] must be a list of input_size=1",
        ),
        (
            lambda: LSTM(1, 2)([1.0]),
            TypeError,
            r"input\[0\] must be a list of input_size=1 numbers, got float 1.0",
        ),
        (lambda: RNNCell(2, 3)(5.0), TypeError, "input must be a list of input_size=2, got float"),
        (lambda: GRUCell(1, 2)([1.0], 0.0), TypeError, "hx must be a list of hidden_size=2"),
        (lambda: LSTMCell(1, 2)([1.0], 5), TypeError, "hx must be a pair .*, got int"),
        (lambda: RNN(1, 2)(5.0), TypeError, "input must be a non-empty list of steps.*got float"),
        (lambda: GRU(1, 2)([[1.0]], 0.0), TypeError, "hx must hold one state per layer"),
        (lambda: LSTM(1, 2)([[1.0]], 0.0), TypeError, "hx must be a pair"),
        (
            lambda: GRU(1, 2, num_layers=2)([[1.0]], [[0.0, 0.0]]),
            ValueError,
            "one state per layer, num_layers=2",
        ),
        (lambda: LSTM(1, 2)([[1.0]], [[0.0, 0.0]]), ValueError, "hx must be a pair"),
    ],
)
def test_inputs_and_states_of_the_wrong_shape_are_refused_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: RNNCell(0, 2), ValueError, "input_size must be a positive int, got 0"),
        (lambda: LSTMCell(2, -1), ValueError, "hidden_size must be a positive int, got -1"),
        (
            lambda: RNNCell(1, 1, nonlinearity="sigmoid"),
            ValueError,
            "nonlinearity must be 'tanh' or 'relu'",
        ),
        (lambda: GRU(1, 1, num_layers=0), ValueError, "num_layers must be a positive int, got 0"),
        (lambda: LSTM(1, 1, bias="no"), TypeError, "bias must be True or False"),
        (lambda: RNN(1.5, 1), TypeError, "input_size must be a positive int, got float"),
    ],
)
def test_bad_sizes_and_options_are_refused_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_reprs_read_like_the_calls_that_build_them():
    assert repr(RNNCell(2, 3, nonlinearity="relu")) == "RNNCell(2, 3, nonlinearity='relu')"
    assert repr(LSTM(2, 3, num_layers=2)) == "LSTM(2, 3, num_layers=2)"
    assert repr(RNN(1, 4, nonlinearity="relu", bias=False)) == (
        "RNN(1, 4, bias=False, nonlinearity='relu')"
    )
