"""nn.to_torch and nn.from_torch: round trips exact to the bit, and the two engines agreeing on
outputs and every gradient to 1e-12 in float64, in training and in eval mode.

The gradients of a torch model are read under nn's names by `from_torch` of a copy whose weights
are the gradients: the round-trip tests check that mapping entry for entry.
"""

import copy
import random
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import feed_forward_models, model_seeds, outputs_of, randomized, small_sizes

from autograd import Value, sum_values, topological_order
from nn import (
    GRU,
    LSTM,
    MLP,
    RNN,
    BatchNorm1d,
    Dropout,
    Embedding,
    GRUCell,
    Linear,
    LSTMCell,
    Module,
    RNNCell,
    Sequential,
    Tanh,
    from_torch,
    to_torch,
)

torch = pytest.importorskip("torch", reason='PyTorch is an extra: pip install "chainrule[torch]"')

TOLERANCE = 1e-12


def close(ours, theirs, scale: float = 1.0) -> bool:
    """Two vectors (nested lists) within 1e-12 of each other, entry by entry, relative to their
    largest entry or to `scale`, whichever is larger: rounding errors are relative to the
    largest numbers a computation handles, not to each result (a gradient that is 0 exactly, as
    a bias's before batch normalisation, comes out as rounding noise)."""
    ours, theirs = flat(ours), flat(theirs)
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    scale = max([1.0, scale, *map(abs, theirs)])
    return all(abs(a - b) <= TOLERANCE * scale for a, b in zip(ours, theirs))


def flat(values) -> list[float]:
    if isinstance(values, (list, tuple)):
        return [x for v in values for x in flat(v)]
    return [float(values)]


def weighted_sum(values: list) -> Value:
    """A loss giving each output its own gradient: sum_i (1 + i / n) y_i."""
    n = len(values)
    return sum_values([(1.0 + i / n) * v for i, v in enumerate(values)])


def torch_weighted_sum(tensors) -> "torch.Tensor":
    flat_ = torch.cat([t.flatten() for t in tensors])
    n = len(flat_)
    return ((1.0 + torch.arange(n, dtype=torch.float64) / n) * flat_).sum()


def torch_gradients_by_nn_name(twin) -> dict[str, float]:
    """The gradient of each parameter of `twin`, under nn's names (0 where none reached it)."""
    holder = copy.deepcopy(twin)
    with torch.no_grad():
        for held, parameter in zip(holder.parameters(), twin.parameters(), strict=True):
            held.copy_(0.0 if parameter.grad is None else parameter.grad)
    return from_torch(holder).state_dict()


def assert_same_gradients(model: Module, twin, scale: float = 1.0) -> None:
    theirs = torch_gradients_by_nn_name(twin)
    names = [name for name, _ in model.named_parameters()]
    ours = [parameter.grad for _, parameter in model.named_parameters()]
    assert close(ours, [theirs[name] for name in names], scale), names


def largest_gradient(root: Value) -> float:
    """The largest |gradient| that backward() passed through any node of root's graph: the
    scale of its rounding errors (large where batch norm divides by a tiny batch variance)."""
    return max(abs(node.grad) for node in topological_order(root))


def batch_of(rng: random.Random, *shape: int) -> list:
    if len(shape) == 1:
        return [rng.uniform(-2.0, 2.0) for _ in range(shape[0])]
    return [batch_of(rng, *shape[1:]) for _ in range(shape[0])]


def leaves(nested):
    """Nested lists of numbers as the same nesting of Values."""
    return [leaves(v) for v in nested] if isinstance(nested, list) else Value(nested)


def grads(nested):
    return [grads(v) for v in nested] if isinstance(nested, list) else nested.grad


def tensor(nested) -> "torch.Tensor":
    return torch.tensor(nested, dtype=torch.float64, requires_grad=True)


def equal(a, b) -> bool:
    """Tensors, or tuples of them (a recurrent model's output and state), equal to the bit."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return torch.equal(a, b)


def set_modes(module: Module, flags) -> None:
    """Train or eval mode, drawn for each part of every Sequential (and the model itself)."""
    if type(module) is Sequential:
        module.training = next(flags)
        for part in module:
            set_modes(part, flags)
    else:
        module.train(next(flags))


# --- round trips --------------------------------------------------------------------------------
@given(model=feed_forward_models(), modes=st.lists(st.booleans(), min_size=40, max_size=40))
def test_a_round_trip_through_torch_gives_back_the_same_model_to_the_bit(model, modes):
    model, _ = model
    set_modes(model, iter(modes))
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model)
    assert back.config() == model.config()
    assert list(back.state_dict().items()) == list(model.state_dict().items())
    assert [m.training for m in back.modules()] == [m.training for m in model.modules()]


@given(model=feed_forward_models())
def test_a_round_trip_from_torch_gives_back_the_same_tensors(model):
    twin = to_torch(model[0])
    again = to_torch(from_torch(twin))
    assert repr(again) == repr(twin)
    assert type(again) is type(twin)
    for (name, tensor), (name_again, tensor_again) in zip(
        twin.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert name == name_again
        assert tensor.dtype == tensor_again.dtype and torch.equal(tensor, tensor_again), name
    assert [m.training for m in again.modules()] == [m.training for m in twin.modules()]


@given(model=feed_forward_models())
def test_float32_holds_each_number_rounded_and_comes_back_as_that_float(model):
    model, _ = model
    twin = to_torch(model, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in twin.parameters())
    back = from_torch(twin)
    for name, value in model.state_dict().items():
        rounded = value if type(value) is int else torch.tensor(value, dtype=torch.float32).item()
        assert back.state_dict()[name] == rounded, name
    again = to_torch(back, dtype=torch.float32)
    for key, tensor in twin.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[key]), key


# --- the same numbers in both engines -----------------------------------------------------------
def run_both(model: Module, twin, batch: list[list[float]]):
    """Outputs and input gradients of a batch in both engines, after backward of the same loss,
    and the largest gradient in our graph."""
    x = [[Value(v) for v in row] for row in batch]
    y = [outputs_of(output) for output in model.forward_batch(x)]
    loss = weighted_sum([v for row in y for v in row])
    loss.backward()
    x_torch = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    y_torch = twin(x_torch)
    torch_weighted_sum([y_torch]).backward()
    ours = ([[v.data for v in row] for row in y], [[v.grad for v in row] for row in x])
    return ours, (y_torch.tolist(), x_torch.grad.tolist()), largest_gradient(loss)


@given(model=feed_forward_models(), size=st.integers(1, 4), seed=model_seeds)
def test_outputs_and_gradients_match_torch_in_eval_mode(model, size, seed):
    model, nin = model
    model.eval()
    twin = to_torch(model)
    batch = batch_of(random.Random(seed), size, nin)
    (y, x_grad), (y_torch, x_grad_torch), scale = run_both(model, twin, batch)
    assert close(y, y_torch)
    assert close(x_grad, x_grad_torch, scale)
    assert_same_gradients(model, twin, scale)


@given(model=feed_forward_models(dropout_ps=(0.0,)), size=st.integers(2, 4), seed=model_seeds)
def test_outputs_gradients_and_running_statistics_match_torch_in_training_mode(model, size, seed):
    model, nin = model
    model.train()
    twin = to_torch(model)
    batch = batch_of(random.Random(seed), size, nin)
    (y, x_grad), (y_torch, x_grad_torch), scale = run_both(model, twin, batch)
    assert close(y, y_torch)
    assert close(x_grad, x_grad_torch, scale)
    assert_same_gradients(model, twin, scale)
    buffers = dict(model.named_buffers())  # batch norm's running statistics moved in both
    theirs = from_torch(twin).state_dict()
    assert all(close(value, theirs[name]) for name, value in buffers.items())


def test_dropout_in_training_mode_zeroes_or_scales_each_entry_in_torch_too():
    twin = to_torch(Sequential(Linear(3, 50, seed=0), Dropout(0.5)))
    assert twin[1].training
    x = torch.ones(4, 3, dtype=torch.float64)
    full = twin[0](x)
    dropped = twin(x)
    kept = dropped != 0
    assert 0 < kept.sum() < kept.numel()
    assert torch.allclose(dropped[kept], 2.0 * full[kept])
    assert torch.equal(twin.eval()(x), full)


# --- recurrent layers and embeddings ------------------------------------------------------------
@given(
    cell_class=st.sampled_from([RNNCell, LSTMCell, GRUCell]),
    sizes=st.tuples(small_sizes, small_sizes, st.integers(1, 3)),
    bias=st.booleans(),
    seed=model_seeds,
)
def test_cells_match_torch_on_a_batch_with_states(cell_class, sizes, bias, seed):
    inputs, hidden, batch = sizes
    rng = random.Random(seed)
    cell = cell_class(inputs, hidden, bias, seed=seed)
    lstm = cell_class is LSTMCell
    twin = to_torch(cell)
    x, h, c = (batch_of(rng, batch, n) for n in (inputs, hidden, hidden))
    x_v, h_v, c_v = leaves(x), leaves(h), leaves(c)
    outputs = []
    for b in range(batch):
        out = cell(x_v[b], (h_v[b], c_v[b])) if lstm else (cell(x_v[b], h_v[b]),)
        outputs += [v for state in out for v in state]
    weighted_sum(outputs).backward()
    x_t, h_t, c_t = (
        torch.tensor(rows, dtype=torch.float64, requires_grad=True) for rows in (x, h, c)
    )
    out_t = twin(x_t, (h_t, c_t)) if lstm else (twin(x_t, h_t),)
    torch_weighted_sum([torch.cat(out_t, dim=1)]).backward()
    assert close(outputs, torch.cat(out_t, dim=1).tolist())
    for ours, theirs in [(x_v, x_t), (h_v, h_t)] + [(c_v, c_t)] * lstm:
        assert close(grads(ours), theirs.grad.tolist())
    assert_same_gradients(cell, twin)


@given(
    model_class=st.sampled_from([RNN, LSTM, GRU]),
    sizes=st.tuples(small_sizes, small_sizes, st.integers(1, 2)),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 3)),
    options=st.tuples(st.booleans(), st.sampled_from(["tanh", "relu"])),
    seed=model_seeds,
)
def test_sequence_models_match_torch_sequence_first_with_initial_states(
    model_class, sizes, shape, options, seed
):
    inputs, hidden, layers = sizes
    (length, batch), (bias, nonlinearity) = shape, options
    extra = {"nonlinearity": nonlinearity} if model_class is RNN else {}
    model = model_class(inputs, hidden, layers, bias=bias, seed=seed, **extra)
    lstm = model_class is LSTM
    twin = to_torch(model)
    rng = random.Random(seed)
    x = batch_of(rng, length, batch, inputs)  # (seq, batch, input_size), torch's default
    h, c = batch_of(rng, layers, batch, hidden), batch_of(rng, layers, batch, hidden)
    x_v, h_v, c_v = leaves(x), leaves(h), leaves(c)
    outputs = []
    for b in range(batch):  # nn takes one sequence at a time
        steps = [x_v[t][b] for t in range(length)]
        h0, c0 = [h_v[k][b] for k in range(layers)], [c_v[k][b] for k in range(layers)]
        output, state = model(steps, (h0, c0) if lstm else h0)
        finals = [*state[0], *state[1]] if lstm else state
        outputs += [v for step in [*output, *finals] for v in step]
    weighted_sum(outputs).backward()
    x_t, h_t, c_t = tensor(x), tensor(h), tensor(c)
    output_t, state_t = twin(x_t, (h_t, c_t) if lstm else h_t)
    finals_t = [state_t[0], state_t[1]] if lstm else [state_t]
    per_example = [
        torch.cat([output_t[:, b].flatten()] + [s[:, b].flatten() for s in finals_t])
        for b in range(batch)
    ]
    torch_weighted_sum(per_example).backward()
    assert close(outputs, [t.tolist() for t in per_example])
    for ours, theirs in [(x_v, x_t), (h_v, h_t)] + [(c_v, c_t)] * lstm:
        assert close(grads(ours), theirs.grad.tolist())
    assert_same_gradients(model, twin)


@given(rows=st.integers(2, 6), dim=small_sizes, seed=model_seeds)
def test_embeddings_match_torch_on_a_batch_of_indices(rows, dim, seed):
    rng = random.Random(seed)
    model = Sequential(Embedding(rows, dim, seed=seed), Tanh(), Linear(dim, 2, seed=seed))
    twin = to_torch(model)
    indices = [rng.randrange(rows) for _ in range(5)]
    y = [model(i) for i in indices]
    weighted_sum([v for row in y for v in row]).backward()
    y_torch = twin(torch.tensor(indices))
    torch_weighted_sum([y_torch]).backward()
    assert close([[v.data for v in row] for row in y], y_torch.tolist())
    assert_same_gradients(model, twin)


def test_a_model_made_in_pytorch_comes_over_and_computes_the_same():
    torch.manual_seed(0)
    made_there = torch.nn.Sequential(
        OrderedDict(
            hidden=torch.nn.Linear(3, 8),
            norm=torch.nn.BatchNorm1d(8),
            act=torch.nn.GELU(),
            out=torch.nn.Linear(8, 2),
        )
    ).double()
    made_there(torch.randn(16, 3, dtype=torch.float64))  # running statistics move
    made_there.eval()
    here = from_torch(made_there)
    assert not here.training and here[1].num_batches_tracked == 1
    x = [[0.5, -1.0, 2.0], [0.0, 0.25, -0.75]]
    expected = made_there(torch.tensor(x, dtype=torch.float64)).tolist()
    assert close([[v.data for v in here(row)] for row in x], expected)


# --- modes, independence, devices ---------------------------------------------------------------
def test_conversion_leaves_every_random_stream_and_the_original_as_they_were():
    model = randomized(Sequential(Linear(3, 4), Dropout(0.5), MLP(4, [3, 2])), random.Random(0))
    before, torch_before = random.getstate(), torch.get_rng_state()
    twin = to_torch(model)
    back = from_torch(twin)
    assert random.getstate() == before and torch.equal(torch.get_rng_state(), torch_before)
    state = model.state_dict()
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    twin(torch.ones(2, 3, dtype=torch.float64)).sum().backward()
    optimizer.step()
    assert model.state_dict() == state == back.state_dict()
    assert from_torch(twin).state_dict() != state


def test_a_layer_used_twice_stays_one_layer_used_twice():
    shared = Linear(3, 3, seed=0)
    model = Sequential(shared, Tanh(), shared)
    twin = to_torch(model)
    assert twin[0] is twin[2] and len(list(twin.parameters())) == 2
    back = from_torch(twin)
    assert back[0] is back[2] and back.state_dict() == model.state_dict()
    x = [0.5, -1.0, 2.0]
    y = twin(torch.tensor([x], dtype=torch.float64))
    assert close([v.data for v in model(x)], y.tolist())


def test_the_eval_mode_of_each_part_crosses_over_both_ways():
    model = Sequential(Linear(2, 3), BatchNorm1d(3).eval(), Dropout(0.2), MLP(3, [2]).eval())
    twin = to_torch(model)
    assert [part.training for part in twin] == [True, False, True, False]
    assert not any(m.training for m in twin[3].modules())
    assert [part.training for part in from_torch(twin)] == [True, False, True, False]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_a_converted_model_runs_on_a_cuda_device_and_comes_back():
    model = randomized(MLP(3, [8, 2], activation="gelu", seed=0), random.Random(1))
    twin = to_torch(model).to("cuda")
    x = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]
    y = twin(torch.tensor(x, dtype=torch.float64, device="cuda")).cpu().tolist()
    assert close([[v.data for v in model(row)] for row in x], y)
    assert from_torch(twin).state_dict() == model.state_dict()


# --- checkpoints --------------------------------------------------------------------------------
CHECKPOINTED = [
    (lambda: MLP(3, [8, 1], activation="tanh", seed=0),
     lambda: torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))),
    (lambda: Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), Tanh(), Linear(4, 1, seed=1)),
     lambda: torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 1))),
    (lambda: LSTM(3, 4, num_layers=2, seed=0), lambda: torch.nn.LSTM(3, 4, num_layers=2)),
]  # fmt: skip


@pytest.mark.parametrize("make", CHECKPOINTED, ids=["MLP", "Sequential", "LSTM"])
def test_a_saved_state_dict_loads_into_a_fresh_torch_model(make, tmp_path):
    make_ours, make_torch = make
    model = randomized(make_ours(), random.Random(0))
    twin = to_torch(model).eval()
    torch.save(twin.state_dict(), tmp_path / "model.pt")
    fresh = make_torch().double().eval()
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    for key, tensor in twin.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], tensor), key
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]], dtype=torch.float64)
    assert equal(fresh(x), twin(x))


@pytest.mark.parametrize("make", CHECKPOINTED, ids=["MLP", "Sequential", "LSTM"])
def test_a_torch_checkpoint_loads_through_from_torch(make, tmp_path):
    _, make_torch = make
    torch.manual_seed(0)
    trained = make_torch().double()  # PyTorch's own initial weights
    torch.save(trained.state_dict(), tmp_path / "theirs.pt")
    fresh = make_torch().double().eval()
    fresh.load_state_dict(torch.load(tmp_path / "theirs.pt"))
    here = from_torch(fresh)
    assert here.state_dict() == from_torch(trained).state_dict()
    x = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]  # a batch, or for the LSTM a sequence of two steps
    theirs = fresh(torch.tensor(x, dtype=torch.float64))
    if isinstance(here, LSTM):
        ours, theirs = [[v.data for v in step] for step in here(x)[0]], theirs[0].tolist()
    else:
        ours, theirs = [[v.data for v in outputs_of(here(row))] for row in x], theirs.tolist()
    assert close(ours, theirs)


def test_a_whole_converted_mlp_pickles_and_loads_back_as_an_mlp(tmp_path):
    model = MLP(2, [4, 1], activation="silu", seed=3)
    torch.save(to_torch(model), tmp_path / "whole.pt")
    loaded = torch.load(tmp_path / "whole.pt", weights_only=False)
    back = from_torch(loaded)
    assert type(back) is MLP and back.state_dict() == model.state_dict()


def tied_language_model():
    """An Embedding and an output Linear sharing one weight table, as language models tie them."""
    table = Embedding(5, 3, seed=0)
    head = Linear(3, 5, bias=False, seed=1)
    head.weight = table.weight
    return Sequential(table, Tanh(), head)


def test_weights_tied_between_two_layers_stay_tied_both_ways():
    # each tensor was copied on its own: the tie was lost, and training moved two copies apart
    model = tied_language_model()
    twin = to_torch(model)
    assert twin[0].weight is twin[2].weight and len(list(twin.parameters())) == 1
    back = from_torch(twin)
    assert back[0].weight[4][2] is back[2].weight[4][2] and len(back.parameters()) == 15
    assert back.state_dict() == model.state_dict()
    y = sum_values([v for v in model(3)])  # the table is read twice: both uses add up
    y.backward()
    twin(torch.tensor(3)).sum().backward()
    assert close([[v.grad for v in row] for row in model[0].weight], twin[0].weight.grad.tolist())


def test_a_partial_tie_or_a_tied_mlp_bias_is_refused_naming_both_places():
    model = Sequential(Linear(2, 3, seed=0), Linear(2, 3, seed=1))
    model[1].weight[0] = model[0].weight[0]  # one row shared: torch ties whole tensors only
    with pytest.raises(ValueError, match=r"model\.1\.weight shares some .* model\.0\.weight"):
        to_torch(model)
    twin = torch.nn.Sequential(to_torch(MLP(2, [2], seed=0)), to_torch(MLP(2, [2], seed=1)))
    twin[1][0].bias = twin[0][0].bias
    with pytest.raises(ValueError, match=r"model\.1\.0\.bias is tied to model\.0\.0\.bias"):
        from_torch(twin)


def test_to_torch_draws_no_throwaway_embedding_table(monkeypatch):
    # torch.nn.Embedding drew one on the meta device, whose first draw imports torch's compiler:
    # a second or two, enough for the hypothesis test above to miss its deadline
    def refuse(*args, **kwargs):
        raise AssertionError("to_torch drew a table it then replaced")

    monkeypatch.setattr(torch.nn.init, "normal_", refuse)
    model = Embedding(4, 2, seed=0)
    twin = to_torch(model)
    assert twin.weight.tolist() == [[v.data for v in row] for row in model.weight]
    assert twin.weight.requires_grad and repr(twin) == "Embedding(4, 2)"
