"""BatchNorm1d: batch statistics while training, running statistics in eval, gradients, errors."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import central_difference, close_to_difference

from autograd import Value, no_grad, sum_values
from nn import BatchNorm1d, Linear, Sequential, Sigmoid
from nn.losses import mse
from nn.optim import Adam
from nn.train import evaluate, fit


def columns(batch):
    return [[float(row[j]) for row in batch] for j in range(len(batch[0]))]


def test_training_output_has_mean_zero_and_biased_variance_one_per_feature():
    batch = [[1.0, 10.0], [2.0, -4.0], [4.0, 3.0], [9.0, 0.5]]
    out = BatchNorm1d(2, eps=0.0 + 1e-12)(batch)
    for column in columns(out):
        mean = sum(column) / 4
        assert abs(mean) < 1e-12
        assert abs(sum((y - mean) ** 2 for y in column) / 4 - 1.0) < 1e-9


def test_weight_and_bias_scale_and_shift_each_feature():
    norm = BatchNorm1d(2)
    norm.load_state_dict(norm.state_dict() | {"weight.1": 3.0, "bias.1": -1.0})
    plain = BatchNorm1d(2)(([0.0, 1.0], [2.0, 5.0]))
    shifted = norm(([0.0, 1.0], [2.0, 5.0]))
    assert [row[1].data for row in shifted] == [3.0 * row[1].data - 1.0 for row in plain]


def test_running_statistics_move_by_momentum_with_the_unbiased_variance():
    norm = BatchNorm1d(1, momentum=0.25)
    norm([[1.0], [2.0], [6.0]])  # mean 3, unbiased variance (4 + 1 + 9) / 2 = 7
    assert norm.running_mean == [0.75] and norm.running_var == [0.75 + 0.25 * 7]
    assert norm.num_batches_tracked == 1


def test_momentum_none_keeps_a_cumulative_average_of_the_batch_statistics():
    norm = BatchNorm1d(1, momentum=None)
    for batch in ([[1.0], [3.0]], [[5.0], [7.0]], [[0.0], [0.0]]):
        norm(batch)
    assert norm.running_mean == pytest.approx([(2.0 + 6.0 + 0.0) / 3])
    assert norm.running_var == pytest.approx([(2.0 + 2.0 + 0.0) / 3])


def test_eval_mode_normalises_with_the_running_statistics_example_by_example():
    norm = BatchNorm1d(1)
    norm.load_state_dict(norm.state_dict() | {"running_mean.0": 2.0, "running_var.0": 4.0})
    norm.eval()
    alone = norm([[6.0]])[0][0].data
    together = norm([[6.0], [100.0]])[0][0].data
    assert alone == together == pytest.approx(2.0, rel=1e-5)  # (6 - 2) / sqrt(4 + eps)
    assert norm.num_batches_tracked == 0 and norm.running_mean == [2.0]


def test_the_gradient_flows_through_the_batch_mean_and_variance():
    # Each output depends on every example through the statistics: with a batch of two, the
    # normalised outputs are -1 and +1 whatever the inputs (up to eps), so their sum does not
    # depend on the inputs at all and its gradient is zero, not 1 / std as constant statistics
    # would give.
    x = [[Value(1.0)], [Value(5.0)]]
    out = BatchNorm1d(1)(x)
    sum_values([row[0] for row in out]).backward()
    assert abs(x[0][0].grad) < 1e-9 and abs(x[1][0].grad) < 1e-9


@given(st.integers(2, 5), st.integers(1, 3), st.integers(0, 1000), st.booleans())
def test_input_and_parameter_gradients_match_central_differences(batch, features, seed, eval_mode):
    rng = random.Random(seed)
    norm = BatchNorm1d(features)
    for p in norm.parameters():
        p.data = rng.uniform(-2.0, 2.0)
    if eval_mode:
        norm.running_mean = [rng.uniform(-1, 1) for _ in range(features)]
        norm.running_var = [rng.uniform(0.5, 2) for _ in range(features)]
        norm.eval()
    x = [[Value(rng.uniform(-3.0, 3.0)) for _ in range(features)] for _ in range(batch)]
    leaves = norm.parameters() + [v for row in x for v in row]

    def loss() -> Value:
        outputs = [v for row in norm(x) for v in row]
        return sum_values([(k + 1.0) * y.tanh() for k, y in enumerate(outputs)])

    loss().backward()
    at = [leaf.data for leaf in leaves]

    def loss_at(values):
        saved = norm.state_dict()  # a training call moves the running statistics
        for leaf, value in zip(leaves, values):
            leaf.data = value
        with no_grad():
            result = loss().data
        norm.load_state_dict(saved)
        for leaf, value in zip(leaves, at):
            leaf.data = value
        return result

    for i, leaf in enumerate(leaves):
        difference = central_difference(loss_at, at, i)
        assert close_to_difference(leaf.grad, difference, scale=100.0), (i, leaf.grad, difference)


def test_buffers_are_in_the_state_dict_after_the_parameters_and_load_back():
    norm = BatchNorm1d(2)
    norm([[1.0, 2.0], [3.0, 5.0]])
    state = norm.state_dict()
    assert list(state) == [
        "weight.0",
        "weight.1",
        "bias.0",
        "bias.1",
        "running_mean.0",
        "running_mean.1",
        "running_var.0",
        "running_var.1",
        "num_batches_tracked",
    ]
    fresh = BatchNorm1d(2)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state and type(fresh.num_batches_tracked) is int


def test_without_affine_there_are_no_parameters_but_the_buffers_remain():
    norm = BatchNorm1d(3, affine=False)
    assert norm.parameters() == [] and len(norm.buffers()) == 7


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: BatchNorm1d(-2), ValueError, "num_features must be a positive int, got -2"),
        (lambda: BatchNorm1d(2, eps=0.0), ValueError, r"eps must be in \(0, 1\], got 0.0"),
        (lambda: BatchNorm1d(2, momentum=1.5), ValueError, r"momentum must be in \[0, 1\]"),
        (lambda: BatchNorm1d(2, momentum="0.1"), TypeError, "momentum must be a real number"),
        (lambda: BatchNorm1d(2, affine=None), TypeError, "affine must be True or False"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_a_training_batch_of_one_is_refused_but_eval_mode_takes_it():
    norm = BatchNorm1d(2)
    with pytest.raises(ValueError, match="at least 2 examples .* got a batch of 1; call .eval()"):
        norm([[1.0, 2.0]])
    assert len(norm.eval()([[1.0, 2.0]])) == 1


def test_one_example_instead_of_a_batch_is_refused_pointing_to_forward_batch():
    net = Sequential(Linear(2, 2, seed=0), BatchNorm1d(2))
    with pytest.raises(
        TypeError,
        match=r"got one example \(taken only in eval mode\); .*model.forward_batch\(batch\)",
    ):
        net([1.0, 2.0])
    assert len(net.forward_batch([[1.0, 2.0], [0.0, 1.0]])) == 2


@pytest.mark.parametrize(
    "batch, error, message",
    [
        ([[1.0, 2.0], [3.0]], ValueError, r"batch\[1\] must be a list of 2 features, got 1"),
        ([], TypeError, "takes a batch: a non-empty list of examples"),
        ([[1.0, 2.0], 3.0], ValueError, r"batch\[1\] must be a list of 2 features, got float"),
    ],
)
def test_a_batch_of_the_wrong_shape_is_refused_naming_the_example(batch, error, message):
    with pytest.raises(error, match=message):
        BatchNorm1d(2)(batch)


# --- inside fit and evaluate ----------------------------------------------------------------
def deep_sigmoid(seed: int) -> Sequential:
    return Sequential(
        Linear(2, 4, seed=seed), BatchNorm1d(4), Sigmoid(), Linear(4, 1, seed=seed + 1)
    )


def test_fit_hands_each_batch_whole_to_batch_norm_and_evaluate_uses_running_statistics():
    X = [[math.cos(t), math.sin(t)] for t in range(12)]
    y = [a * b for a, b in X]
    model = deep_sigmoid(0)
    history = fit(
        model,
        mse,
        Adam(model.parameters(), lr=0.05),
        (X, y),
        epochs=5,
        batch_size=4,
        seed=0,
        progress=False,
        validation=(X, y),
    )
    norm = model[1]
    assert norm.num_batches_tracked == 5 * 3  # one update per training batch, none in evaluate
    assert model.training and norm.training  # evaluate put the model back in its own mode
    assert history.loss[-1] < history.loss[0]
    model.eval()
    with no_grad():
        by_hand = mse(model.forward_batch(X[:1]), y[:1]).data
    model.train()
    assert evaluate(model, mse, (X[:1], y[:1]))[0] == by_hand
    assert model.training


def test_in_eval_mode_one_example_goes_through_as_in_a_batch_of_its_own():
    net = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Sigmoid())
    net.forward_batch([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])  # running statistics move
    net.eval()
    alone = [v.data for v in net([1.0, 2.0])]
    assert alone == [v.data for v in net.forward_batch([[1.0, 2.0], [5.0, 5.0]])[0]]
