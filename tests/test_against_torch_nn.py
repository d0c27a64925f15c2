"""Every layer of nn against torch.nn in float64, with the same weights: outputs and all gradients.

Our parameters are named as PyTorch names them, one scalar per entry (`weight_ih_l0.3.1` is
`weight_ih_l0[3][1]`), so one helper copies any of our modules into its torch twin by name and
compares every gradient by name: the test also checks the names and layouts match.
"""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, sum_values
from nn import (
    GELU,
    GRU,
    LSTM,
    RNN,
    BatchNorm1d,
    Dropout,
    Embedding,
    GRUCell,
    Identity,
    LeakyReLU,
    Linear,
    LSTMCell,
    ReLU,
    RNNCell,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    from_torch,
)

torch = pytest.importorskip("torch")

TOLERANCE = 1e-10
sizes = st.integers(1, 4)
seeds = st.integers(0, 2**16)


def close(ours, theirs) -> bool:
    """Entry by entry within 1e-10, relative to the size of the entry (absolute below 1)."""
    theirs = [float(t) for t in theirs]
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    return all(abs(a - b) <= TOLERANCE * max(1.0, abs(b)) for a, b in zip(ours, theirs))


def entries(prefix: str, shape: tuple[int, ...]) -> list[str]:
    """Our names of a tensor's entries, row-major: `weight.0.0`, `weight.0.1`, ..."""
    return [".".join([prefix, *map(str, index)]) for index in itertools.product(*map(range, shape))]


def twin(ours, theirs):
    """`theirs` (a torch module) in float64 with every parameter and buffer copied from ours."""
    theirs = theirs.double()
    state = ours.state_dict()
    with torch.no_grad():
        for name, tensor in itertools.chain(theirs.named_parameters(), theirs.named_buffers()):
            values = [state[key] for key in entries(name, tuple(tensor.shape))]
            tensor.copy_(torch.tensor(values, dtype=tensor.dtype).reshape(tensor.shape))
    return theirs


def assert_same_gradients(ours, theirs):
    named = dict(ours.named_parameters())
    torch_names = [name for name, _ in theirs.named_parameters()]
    assert len(named) == sum(p.numel() for p in theirs.parameters()), torch_names
    for name, parameter in theirs.named_parameters():
        grads = [named[key].grad for key in entries(name, tuple(parameter.shape))]
        assert close(grads, parameter.grad.flatten()), name


def leaves(values):
    return [Value(v) for v in values]


def tensor(values, grad=True):
    return torch.tensor(values, dtype=torch.float64, requires_grad=grad)


def weighted_sum(values):
    """A loss that gives every output its own gradient: sum_k (k + 1) y_k / n."""
    return sum_values([(k + 1.0) * v for k, v in enumerate(values)]) / len(values)


def torch_weighted_sum(t):
    flat = t.flatten()
    return (torch.arange(1, len(flat) + 1, dtype=torch.float64) * flat).sum() / len(flat)


def data(rng, *shape):
    if len(shape) == 1:
        return [rng.uniform(-2.0, 2.0) for _ in range(shape[0])]
    return [data(rng, *shape[1:]) for _ in range(shape[0])]


# --- Linear, Sequential, activations ---------------------------------------------------------
ACTIVATIONS = [
    (ReLU(), torch.nn.ReLU()),
    (Tanh(), torch.nn.Tanh()),
    (Sigmoid(), torch.nn.Sigmoid()),
    (LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (Softplus(), torch.nn.Softplus(threshold=40.0)),  # exact in float64 at 40, as ours
    (SiLU(), torch.nn.SiLU()),
    (GELU(), torch.nn.GELU()),
    (Identity(), torch.nn.Identity()),
]


@given(inputs=sizes, outputs=sizes, bias=st.booleans(), seed=seeds)
def test_linear_matches_torch_in_float64(inputs, outputs, bias, seed):
    ours = Linear(inputs, outputs, bias, seed=seed)
    theirs = twin(ours, torch.nn.Linear(inputs, outputs, bias))
    x_values = data(random.Random(seed), inputs)
    x, x_torch = leaves(x_values), tensor(x_values)
    y, y_torch = ours(x), theirs(x_torch)
    weighted_sum(y).backward()
    torch_weighted_sum(y_torch).backward()
    assert close([v.data for v in y], y_torch.detach())
    assert close([v.grad for v in x], x_torch.grad)
    assert_same_gradients(ours, theirs)


@pytest.mark.parametrize("pair", ACTIVATIONS, ids=lambda pair: repr(pair[0]))
@given(seed=seeds)
def test_a_sequential_with_each_activation_matches_torch_in_float64(pair, seed):
    activation, torch_activation = pair
    ours = Sequential(Linear(3, 4, seed=seed), activation, Linear(4, 2, seed=seed + 1))
    theirs = twin(
        ours, torch.nn.Sequential(torch.nn.Linear(3, 4), torch_activation, torch.nn.Linear(4, 2))
    )
    x_values = data(random.Random(seed), 3)
    x, x_torch = leaves(x_values), tensor(x_values)
    weighted_sum(ours(x)).backward()
    y_torch = theirs(x_torch)
    torch_weighted_sum(y_torch).backward()
    assert close([v.data for v in ours(x)], y_torch.detach())
    assert close([v.grad for v in x], x_torch.grad)
    assert_same_gradients(ours, theirs)


# --- BatchNorm1d -----------------------------------------------------------------------------
@settings(max_examples=25)
@given(
    batch=st.integers(2, 5),
    features=sizes,
    affine=st.booleans(),
    momentum=st.sampled_from([0.1, 0.5, None]),
    seed=seeds,
)
def test_batch_norm_matches_torch_in_training_then_eval_mode(
    batch, features, affine, momentum, seed
):
    rng = random.Random(seed)
    ours = BatchNorm1d(features, momentum=momentum, affine=affine)
    for p in ours.parameters():  # away from the 1 and 0 they start at
        p.data = rng.uniform(-2.0, 2.0)
    theirs = twin(ours, torch.nn.BatchNorm1d(features, momentum=momentum, affine=affine))
    for _ in range(2):  # two training batches: the running statistics move twice
        ours.zero_grad()
        theirs.zero_grad()
        x_values = data(rng, batch, features)
        x = [leaves(row) for row in x_values]
        x_torch = tensor(x_values)
        y, y_torch = ours(x), theirs(x_torch)
        weighted_sum([v for row in y for v in row]).backward()
        torch_weighted_sum(y_torch).backward()
        assert close([v.data for row in y for v in row], y_torch.detach().flatten())
        assert close([v.grad for row in x for v in row], x_torch.grad.flatten())
        assert_same_gradients(ours, theirs)
    assert close(ours.running_mean, theirs.running_mean)
    assert close(ours.running_var, theirs.running_var)
    assert ours.num_batches_tracked == theirs.num_batches_tracked.item() == 2

    ours.eval()
    theirs.eval()
    ours.zero_grad()
    theirs.zero_grad()
    x_values = data(rng, batch, features)
    x, x_torch = [leaves(row) for row in x_values], tensor(x_values)
    y, y_torch = ours(x), theirs(x_torch)
    weighted_sum([v for row in y for v in row]).backward()
    torch_weighted_sum(y_torch).backward()
    assert close([v.data for row in y for v in row], y_torch.detach().flatten())
    assert close([v.grad for row in x for v in row], x_torch.grad.flatten())
    assert_same_gradients(ours, theirs)


def test_a_batch_goes_through_a_sequential_with_batch_norm_as_torch_sends_it():
    ours = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Sigmoid(), Linear(3, 1, seed=1))
    theirs = twin(
        ours,
        torch.nn.Sequential(
            torch.nn.Linear(2, 3),
            torch.nn.BatchNorm1d(3),
            torch.nn.Sigmoid(),
            torch.nn.Linear(3, 1),
        ),
    )
    x_values = data(random.Random(0), 4, 2)
    x, x_torch = [leaves(row) for row in x_values], tensor(x_values)
    y, y_torch = ours.forward_batch(x), theirs(x_torch)
    weighted_sum([row[0] for row in y]).backward()
    torch_weighted_sum(y_torch).backward()
    assert close([row[0].data for row in y], y_torch.detach().flatten())
    assert close([v.grad for row in x for v in row], x_torch.grad.flatten())
    assert_same_gradients(ours, theirs)


# --- Dropout: the same formula as torch, with our coin flips ----------------------------------
@given(p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_in_training_is_torch_formula_with_the_mask_it_drew(p, seed):
    x_values = [v or 1.0 for v in data(random.Random(seed), 6)]  # no zero input: masks show
    x = leaves(x_values)
    y = Dropout(p, seed=seed)(x)
    weighted_sum(y).backward()
    mask = [float(v.data != 0.0) for v in y]
    x_torch = tensor(x_values)
    y_torch = x_torch * torch.tensor(mask, dtype=torch.float64) / (1.0 - p)
    torch_weighted_sum(y_torch).backward()
    assert close([v.data for v in y], y_torch.detach())
    assert close([v.grad for v in x], x_torch.grad)


def test_dropout_with_p_one_zeroes_every_entry_and_gradient_as_torch_does():
    # nn refused p=1, which torch.nn.Dropout takes (and from_torch with it)
    x_values = [0.5, -1.5, 2.0]
    x, x_torch = leaves(x_values), tensor(x_values)
    ours, theirs = from_torch(torch.nn.Dropout(1.0)), torch.nn.Dropout(1.0)
    y, y_torch = ours(x), theirs(x_torch)
    weighted_sum(y).backward()
    torch_weighted_sum(y_torch).backward()
    assert [v.data for v in y] == y_torch.tolist() == [0.0, 0.0, 0.0]
    assert [v.grad for v in x] == x_torch.grad.tolist() == [0.0, 0.0, 0.0]
    assert ours.eval()(x_values) == theirs.eval()(tensor(x_values, False)).tolist() == x_values


def test_dropout_in_eval_mode_is_the_identity_as_in_torch():
    x_values = [0.5, -1.5, 2.0]
    theirs = torch.nn.Dropout(0.5).eval()
    assert Dropout(0.5, seed=0).eval()(x_values) == theirs(tensor(x_values, False)).tolist()


# --- recurrent cells ---------------------------------------------------------------------------
def cell_pair(kind, inputs, hidden, bias, seed, nonlinearity="tanh"):
    if kind == "rnn":
        ours = RNNCell(inputs, hidden, bias, nonlinearity, seed=seed)
        return ours, twin(ours, torch.nn.RNNCell(inputs, hidden, bias, nonlinearity))
    ours_class, theirs_class = {
        "lstm": (LSTMCell, torch.nn.LSTMCell),
        "gru": (GRUCell, torch.nn.GRUCell),
    }[kind]
    ours = ours_class(inputs, hidden, bias, seed=seed)
    return ours, twin(ours, theirs_class(inputs, hidden, bias))


@pytest.mark.parametrize("kind", ["rnn", "relu rnn", "lstm", "gru"])
@given(inputs=sizes, hidden=sizes, bias=st.booleans(), seed=seeds, steps=st.integers(1, 3))
def test_each_cell_matches_torch_over_a_few_steps_in_float64(
    kind, inputs, hidden, bias, seed, steps
):
    nonlinearity = "relu" if kind == "relu rnn" else "tanh"
    ours, theirs = cell_pair(kind.split()[-1], inputs, hidden, bias, seed, nonlinearity)
    rng = random.Random(seed)
    xs_values = data(rng, steps, inputs)
    h_values, c_values = data(rng, hidden), data(rng, hidden)
    xs, h, c = [leaves(x) for x in xs_values], leaves(h_values), leaves(c_values)
    xs_torch, h_torch, c_torch = tensor(xs_values), tensor(h_values), tensor(c_values)
    state, state_torch = ((h, c), (h_torch, c_torch)) if kind == "lstm" else (h, h_torch)
    outputs, outputs_torch = [], []
    for x, x_torch in zip(xs, xs_torch):
        state, state_torch = ours(x, state), theirs(x_torch, state_torch)
        outputs += state[0] + state[1] if kind == "lstm" else state
        outputs_torch.append(torch.cat(state_torch) if kind == "lstm" else state_torch)
    outputs_torch = torch.cat(outputs_torch)
    weighted_sum(outputs).backward()
    torch_weighted_sum(outputs_torch).backward()
    assert close([v.data for v in outputs], outputs_torch.detach())
    assert close([v.grad for x in xs for v in x], xs_torch.grad.flatten())
    assert close([v.grad for v in h], h_torch.grad)
    if kind == "lstm":
        assert close([v.grad for v in c], c_torch.grad)
    assert_same_gradients(ours, theirs)


@pytest.mark.parametrize("kind", [RNNCell, LSTMCell, GRUCell])
def test_a_cell_without_a_state_starts_from_zeros_as_torch_does(kind):
    ours = kind(2, 3, seed=0)
    theirs = twin(ours, getattr(torch.nn, kind.__name__)(2, 3))
    y, y_torch = ours([0.5, -1.0]), theirs(tensor([0.5, -1.0]))
    if kind is LSTMCell:
        y, y_torch = y[0] + y[1], torch.cat(y_torch)
    weighted_sum(y).backward()
    torch_weighted_sum(y_torch).backward()
    assert close([v.data for v in y], y_torch.detach())
    assert_same_gradients(ours, theirs)


# --- sequence wrappers ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [RNN, LSTM, GRU])
@pytest.mark.parametrize("length", [1, 2, 5])
@given(
    inputs=sizes,
    hidden=sizes,
    layers=st.integers(1, 2),
    bias=st.booleans(),
    initial_state=st.booleans(),
    seed=seeds,
)
@settings(max_examples=10)
def test_each_sequence_model_matches_torch_for_several_lengths(
    kind, length, inputs, hidden, layers, bias, initial_state, seed
):
    ours = kind(inputs, hidden, num_layers=layers, bias=bias, seed=seed)
    theirs = twin(
        ours, getattr(torch.nn, kind.__name__)(inputs, hidden, num_layers=layers, bias=bias)
    )
    rng = random.Random(seed)
    xs_values = data(rng, length, inputs)
    xs, xs_torch = [leaves(x) for x in xs_values], tensor(xs_values)
    lstm = kind is LSTM
    state = state_torch = None
    if initial_state:
        h_values, c_values = data(rng, layers, hidden), data(rng, layers, hidden)
        h, c = [leaves(row) for row in h_values], [leaves(row) for row in c_values]
        h_torch, c_torch = tensor(h_values), tensor(c_values)
        state, state_torch = ((h, c), (h_torch, c_torch)) if lstm else (h, h_torch)
    output, final = ours(xs, state)
    output_torch, final_torch = theirs(xs_torch, state_torch)
    finals = final[0] + final[1] if lstm else final
    finals_torch = torch.cat(final_torch) if lstm else final_torch
    weighted_sum([v for row in output + finals for v in row]).backward()
    torch_weighted_sum(torch.cat([output_torch, finals_torch])).backward()
    assert close([v.data for row in output for v in row], output_torch.detach().flatten())
    assert close([v.data for row in finals for v in row], finals_torch.detach().flatten())
    assert close([v.grad for x in xs for v in x], xs_torch.grad.flatten())
    if initial_state:
        assert close([v.grad for row in h for v in row], h_torch.grad.flatten())
        if lstm:
            assert close([v.grad for row in c for v in row], c_torch.grad.flatten())
    assert_same_gradients(ours, theirs)


# --- Embedding ---------------------------------------------------------------------------------
@given(rows=st.integers(1, 6), dim=sizes, seed=seeds, data_=st.data())
def test_embedding_matches_torch_including_repeated_indices(rows, dim, seed, data_):
    indices = data_.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=6))
    ours = Embedding(rows, dim, seed=seed)
    theirs = twin(ours, torch.nn.Embedding(rows, dim))
    y, y_torch = ours(indices), theirs(torch.tensor(indices))
    weighted_sum([v * v for row in y for v in row]).backward()
    torch_weighted_sum(y_torch * y_torch).backward()
    assert close([v.data for row in y for v in row], y_torch.detach().flatten())
    assert_same_gradients(ours, theirs)


def test_every_name_in_our_state_dicts_is_an_entry_of_a_torch_state_dict_entry():
    pairs = [
        (LSTM(2, 3, num_layers=2, seed=0), torch.nn.LSTM(2, 3, num_layers=2)),
        (BatchNorm1d(3), torch.nn.BatchNorm1d(3)),
        (
            Sequential(Linear(2, 3, seed=0), ReLU()),
            torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()),
        ),
    ]
    for ours, theirs in pairs:
        expected = [
            key
            for name, value in theirs.state_dict().items()
            for key in entries(name, tuple(value.shape))
        ]
        assert sorted(ours.state_dict()) == sorted(expected)
        assert not math.isnan(sum(ours.state_dict().values()))
