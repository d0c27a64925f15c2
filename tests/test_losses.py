"""nn.losses: hand-computed values, finite differences, PyTorch (float64), extremes, bad input."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import central_difference, close_to_difference, reals

from autograd import Value, no_grad, topological_order
from nn.losses import (
    binary_cross_entropy,
    cross_entropy,
    hinge,
    l1,
    l2,
    log_softmax,
    mse,
    softmax,
)

EXTREMES = [1e3, -1e3, 1e4, -1e4]


def _gradient(f, xs: list[float]) -> list[float]:
    """d f / d x_i by backward(), f taking a list of Values to a Value."""
    leaves = [Value(x) for x in xs]
    f(leaves).backward()
    return [leaf.grad for leaf in leaves]


def _assert_gradient_matches_central_difference(f, xs: list[float]) -> None:
    def at(point: list[float]) -> float:
        with no_grad():
            return f([Value(x) for x in point]).data

    scale = max(1.0, *(abs(x) for x in xs))
    for i, derivative in enumerate(_gradient(f, xs)):
        difference = central_difference(at, xs, i)
        assert close_to_difference(derivative, difference, scale), (i, derivative, difference)


def _logit_rows(min_classes: int = 1):
    return st.integers(min_classes, 5).flatmap(
        lambda k: st.lists(
            st.lists(reals(-5.0, 5.0), min_size=k, max_size=k), min_size=1, max_size=4
        )
    )


# --- mse ------------------------------------------------------------------------------------------
def test_mse_of_one_output_is_the_squared_error_and_its_slope_is_twice_the_error():
    y = Value(3.0)
    loss = mse(y, 1.0)
    loss.backward()
    assert (loss.data, y.grad) == (4.0, 4.0)


def test_mse_of_a_batch_is_the_mean_of_the_squared_errors():
    ys = [Value(1.0), Value(3.0)]
    loss = mse(ys, [0.0, 1.0])
    loss.backward()
    assert loss.data == 2.5  # (1 + 4) / 2
    assert [y.grad for y in ys] == [1.0, 2.0]  # 2 (y - t) / n


def test_mse_of_a_batch_of_vectors_averages_over_every_entry():
    ys = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    assert mse(ys, [[1.0, 1.0], [1.0, 1.0]]).data == 3.5  # (0 + 1 + 4 + 9) / 4


def test_mse_is_the_same_for_a_vector_output_and_the_batch_of_its_entries():
    flat = [1.5, -2.0, 0.25, 4.0]
    targets = [0.0, 1.0, -1.0, 2.0]
    as_batch = mse([Value(x) for x in flat], targets).data
    as_rows = mse(
        [[Value(x) for x in flat[:2]], [Value(x) for x in flat[2:]]], [targets[:2], targets[2:]]
    )
    assert as_batch == pytest.approx(as_rows.data, rel=1e-15)


def test_mse_differentiates_targets_given_as_values():
    y, t = Value(3.0), Value(1.0)
    mse([y], [t]).backward()
    assert (y.grad, t.grad) == (4.0, -4.0)


def test_mse_sums_the_squares_in_one_node_not_a_chain():
    ys = [Value(float(i)) for i in range(50)]
    loss = mse(ys, [0.0] * 50)
    # 50 leaves, 50 differences, one dot node, one division
    assert len(topological_order(loss)) == 102


@given(st.lists(st.tuples(reals(-5.0, 5.0), reals(-5.0, 5.0)), min_size=1, max_size=6))
def test_mse_gradient_matches_central_difference(pairs):
    targets = [t for _, t in pairs]
    _assert_gradient_matches_central_difference(lambda ys: mse(ys, targets), [y for y, _ in pairs])


def test_mse_with_lengths_that_differ_names_both_lengths():
    with pytest.raises(ValueError, match="3 outputs but 2 targets"):
        mse([Value(1.0)] * 3, [0.0, 0.0])


def test_mse_with_a_row_of_the_wrong_length_names_the_row():
    with pytest.raises(ValueError, match=r"2 outputs\[1\] but 1 targets\[1\]"):
        mse([[Value(1.0)], [Value(1.0), Value(2.0)]], [[0.0], [0.0]])


def test_mse_with_structures_that_differ_says_which_is_a_list():
    with pytest.raises(ValueError, match="a list of outputs but a scalar of targets"):
        mse([Value(1.0)], 1.0)


@pytest.mark.parametrize("outputs, targets", [([], []), ([[]], [[]])])
def test_mse_of_nothing_is_refused(outputs, targets):
    with pytest.raises(ValueError, match="empty"):
        mse(outputs, targets)


def test_mse_refuses_a_target_that_is_not_a_number():
    with pytest.raises(TypeError, match=r"target\[0\] must be a Value or a real number, got 'a'"):
        mse([Value(1.0)], ["a"])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_mse_refuses_a_target_that_is_not_finite(bad):
    with pytest.raises(ValueError, match=rf"target\[1\] is {bad}"):
        mse([Value(1.0), Value(2.0)], [0.0, bad])


# --- binary cross-entropy -------------------------------------------------------------------------
def test_binary_cross_entropy_at_logit_zero_is_log_two_for_any_target():
    for t in (0.0, 0.3, 1.0):
        assert binary_cross_entropy(Value(0.0), t).data == pytest.approx(math.log(2.0), rel=1e-15)


@given(reals(-15.0, 15.0), reals(0.0, 1.0))
def test_binary_cross_entropy_is_the_log_loss_of_the_sigmoid(z, t):
    p = 1.0 / (1.0 + math.exp(-z))
    log_loss = -(t * math.log(p) + (1.0 - t) * math.log1p(-p))
    assert binary_cross_entropy(Value(z), t).data == pytest.approx(log_loss, rel=1e-9, abs=1e-12)


@given(st.lists(st.tuples(reals(-8.0, 8.0), reals(0.0, 1.0)), min_size=1, max_size=6))
def test_binary_cross_entropy_gradient_is_sigmoid_minus_target_over_n(pairs):
    zs = [Value(z) for z, _ in pairs]
    binary_cross_entropy(zs, [t for _, t in pairs]).backward()
    for z, (x, t) in zip(zs, pairs):
        assert z.grad == pytest.approx((1.0 / (1.0 + math.exp(-x)) - t) / len(pairs), abs=1e-12)
    targets = [t for _, t in pairs]
    _assert_gradient_matches_central_difference(
        lambda zs: binary_cross_entropy(zs, targets), [z for z, _ in pairs]
    )


@pytest.mark.parametrize("z", EXTREMES)
@pytest.mark.parametrize("t", [0.0, 0.5, 1.0])
def test_binary_cross_entropy_is_finite_and_exact_at_extreme_logits(z, t):
    logit = Value(z)
    loss = binary_cross_entropy(logit, t)
    loss.backward()
    assert loss.data == pytest.approx(
        max(z, 0.0) - t * z, rel=1e-15
    )  # softplus(z) = max(z, 0) here
    assert logit.grad == (1.0 if z > 0 else 0.0) - t


@pytest.mark.parametrize("bad", [-0.1, 1.5, 2])
def test_binary_cross_entropy_refuses_targets_outside_zero_one(bad):
    with pytest.raises(ValueError, match=rf"target 1 is {float(bad)}; targets must be in \[0, 1\]"):
        binary_cross_entropy([Value(0.0), Value(1.0)], [1.0, bad])


# --- hinge ----------------------------------------------------------------------------------------
def test_hinge_is_zero_past_the_margin_and_linear_inside_it():
    scores = [Value(2.0), Value(0.5)]
    loss = hinge(scores, [1, -1])
    loss.backward()
    assert loss.data == 0.75  # (max(0, 1 - 2) + max(0, 1 + 0.5)) / 2
    assert [s.grad for s in scores] == [0.0, 0.5]


def test_hinge_agrees_with_micrograds_demo_loss():
    engine = pytest.importorskip("micrograd.engine")
    xs, ys = [0.3, -1.2, 2.5, 0.9], [1, 1, -1, -1]
    ours = [Value(x) for x in xs]
    theirs = [engine.Value(x) for x in xs]
    loss = hinge(ours, ys)
    demo = sum((1 + -y * s).relu() for y, s in zip(ys, theirs)) * (1.0 / len(ys))
    loss.backward()
    demo.backward()
    assert loss.data == pytest.approx(demo.data, rel=1e-15)
    assert [v.grad for v in ours] == pytest.approx([v.grad for v in theirs], rel=1e-15)


@pytest.mark.parametrize("bad", [0, 0.5, 2, -2])
def test_hinge_refuses_labels_other_than_plus_or_minus_one(bad):
    with pytest.raises(ValueError, match=rf"target 0 is {float(bad)}; targets must be \+1 or -1"):
        hinge([Value(1.0)], [bad])


# --- softmax and log_softmax ----------------------------------------------------------------------
def test_softmax_of_zero_and_log_two_is_one_third_and_two_thirds():
    probabilities = softmax([Value(0.0), Value(math.log(2.0))])
    assert [p.data for p in probabilities] == pytest.approx([1 / 3, 2 / 3], rel=1e-15)


@given(st.lists(reals(-30.0, 30.0), min_size=1, max_size=6), reals(-1e3, 1e3))
def test_softmax_sums_to_one_and_ignores_a_shift_of_every_logit(zs, shift):
    probabilities = [p.data for p in softmax(zs)]
    assert math.fsum(probabilities) == pytest.approx(1.0, rel=1e-12)
    shifted = [p.data for p in softmax([z + shift for z in zs])]
    assert shifted == pytest.approx(probabilities, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "zs", [[1e3, 1e3], [-1e3, -1e3], [1e3, -1e3, 0.0], [1e4, -1e4], [-1e4, -1e4, -1e4]]
)
def test_log_softmax_is_finite_at_extreme_logits_with_finite_gradients(zs):
    leaves = [Value(z) for z in zs]
    outs = log_softmax(leaves)
    top = max(zs)
    expected = [z - top - math.log(sum(1.0 for w in zs if w == top)) for z in zs]
    assert [o.data for o in outs] == pytest.approx(expected, rel=1e-12)
    outs[0].backward()
    assert all(math.isfinite(leaf.grad) for leaf in leaves)
    assert sum(leaf.grad for leaf in leaves) == pytest.approx(0.0, abs=1e-12)  # rows of I - softmax


@given(st.lists(st.tuples(reals(-5.0, 5.0), reals(-2.0, 2.0)), min_size=1, max_size=5))
def test_log_softmax_and_softmax_gradients_match_central_difference(pairs):
    weights = [w for _, w in pairs]
    logits = [z for z, _ in pairs]
    for fn in (log_softmax, softmax):
        weighted = lambda zs, fn=fn: sum(w * out for w, out in zip(weights, fn(zs)))
        _assert_gradient_matches_central_difference(weighted, logits)


def test_softmax_accepts_plain_numbers():
    assert [p.data for p in softmax([1.0, 1.0])] == [0.5, 0.5]


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_softmax_refuses_empty_non_list_and_non_finite_logits(fn):
    with pytest.raises(ValueError, match="logits is empty"):
        fn([])
    with pytest.raises(TypeError, match="logits must be a list of Values"):
        fn(Value(1.0))
    with pytest.raises(ValueError, match=r"logits\[1\] is inf"):
        fn([Value(0.0), Value(math.inf)])


# --- cross-entropy --------------------------------------------------------------------------------
def test_cross_entropy_of_two_equal_logits_is_log_two():
    assert cross_entropy([Value(0.0), Value(0.0)], 1).data == pytest.approx(
        math.log(2.0), rel=1e-15
    )


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = [Value(2.0), Value(0.0), Value(-1.0)]
    loss = cross_entropy(logits, 0)
    loss.backward()
    total = math.exp(2.0) + 1.0 + math.exp(-1.0)
    assert loss.data == pytest.approx(math.log(total) - 2.0, rel=1e-15)
    expected = [math.exp(2.0) / total - 1.0, 1.0 / total, math.exp(-1.0) / total]
    assert [z.grad for z in logits] == pytest.approx(expected, rel=1e-12)


@given(_logit_rows(), st.data())
def test_cross_entropy_of_a_batch_is_the_mean_over_its_examples(rows, data):
    targets = [data.draw(st.integers(0, len(rows[0]) - 1)) for _ in rows]
    batch = cross_entropy(rows, targets).data
    singles = [cross_entropy(row, t).data for row, t in zip(rows, targets)]
    assert batch == pytest.approx(sum(singles) / len(singles), rel=1e-12, abs=1e-15)


@given(_logit_rows(min_classes=2), st.data())
def test_cross_entropy_gradient_matches_central_difference(rows, data):
    k = len(rows[0])
    targets = [data.draw(st.integers(0, k - 1)) for _ in rows]
    flat = [z for row in rows for z in row]
    as_rows = lambda zs: [zs[i : i + k] for i in range(0, len(zs), k)]
    _assert_gradient_matches_central_difference(
        lambda zs: cross_entropy(as_rows(zs), targets), flat
    )


@pytest.mark.parametrize("z", [1e3, 1e4])
def test_cross_entropy_is_finite_when_the_wrong_class_has_an_extreme_logit(z):
    logits = [Value(z), Value(-z)]
    loss = cross_entropy(logits, 1)
    loss.backward()
    assert loss.data == 2 * z
    assert [v.grad for v in logits] == [1.0, -1.0]


@pytest.mark.parametrize("target", [3, -1, 10])
def test_cross_entropy_with_a_class_out_of_range_names_it_and_the_number_of_classes(target):
    with pytest.raises(IndexError, match=rf"target is {target}, out of range for 3 classes"):
        cross_entropy([Value(0.0)] * 3, target)


@pytest.mark.parametrize("target", [1.0, True, "1", None])
def test_cross_entropy_refuses_a_class_that_is_not_an_int(target):
    with pytest.raises(TypeError, match="must be an int class index"):
        cross_entropy([Value(0.0)] * 3, target)


def test_cross_entropy_batch_errors_name_the_problem():
    with pytest.raises(ValueError, match="2 rows of logits but 3 targets"):
        cross_entropy([[0.0, 1.0], [1.0, 0.0]], [0, 1, 1])
    with pytest.raises(ValueError, match=r"logits\[1\] has 3 classes but logits\[0\] has 2"):
        cross_entropy([[0.0, 1.0], [1.0, 0.0, 2.0]], [0, 1])
    with pytest.raises(IndexError, match=r"target\[1\] is 2, out of range for 2 classes"):
        cross_entropy([[0.0, 1.0], [1.0, 0.0]], [0, 2])
    with pytest.raises(TypeError, match="a list of targets is a batch"):
        cross_entropy([0.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match="the batch is empty"):
        cross_entropy([], [])


# --- PyTorch, float64 -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    """PyTorch, imported outside any hypothesis example so its import time meets no deadline."""
    return pytest.importorskip("torch")


@given(_logit_rows(min_classes=2), st.data())
def test_losses_match_pytorch_in_float64(torch, rows, data):
    F = torch.nn.functional
    targets = [data.draw(st.integers(0, len(rows[0]) - 1)) for _ in rows]
    probabilities = [data.draw(reals(0.0, 1.0)) for _ in rows]
    labels = [data.draw(st.sampled_from([-1.0, 1.0])) for _ in rows]
    their_targets = torch.tensor(targets)
    cases = [
        (lambda zs: cross_entropy(zs, targets), lambda z: F.cross_entropy(z, their_targets)),
        (lambda zs: log_softmax(zs[0])[-1], lambda z: F.log_softmax(z[0], dim=0)[-1]),
        (lambda zs: softmax(zs[0])[0], lambda z: F.softmax(z[0], dim=0)[0]),
        (
            lambda zs: mse([row[0] for row in zs], probabilities),
            lambda z: F.mse_loss(z[:, 0], torch.tensor(probabilities, dtype=torch.float64)),
        ),
        (
            lambda zs: binary_cross_entropy([row[0] for row in zs], probabilities),
            lambda z: F.binary_cross_entropy_with_logits(
                z[:, 0], torch.tensor(probabilities, dtype=torch.float64)
            ),
        ),
        (
            lambda zs: hinge([row[1] for row in zs], labels),
            lambda z: torch.relu(1 - torch.tensor(labels, dtype=torch.float64) * z[:, 1]).mean(),
        ),
    ]
    for ours_fn, theirs_fn in cases:
        ours = [[Value(z) for z in row] for row in rows]
        theirs = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
        loss, reference = ours_fn(ours), theirs_fn(theirs)
        loss.backward()
        reference.backward()
        assert loss.data == pytest.approx(reference.item(), rel=1e-9, abs=1e-12)
        grads = [v.grad for row in ours for v in row]
        assert grads == pytest.approx(theirs.grad.flatten().tolist(), rel=1e-9, abs=1e-12)


# --- l1 and l2 penalties --------------------------------------------------------------------------
def test_l1_is_the_sum_of_magnitudes_and_its_gradient_the_signs():
    ps = [Value(-2.0), Value(3.0), Value(0.0)]
    penalty = l1(ps)
    penalty.backward()
    assert penalty.data == 5.0
    assert [p.grad for p in ps] == [-1.0, 1.0, 0.0]


def test_l2_is_the_sum_of_squares_in_one_node_and_its_gradient_twice_the_weights():
    ps = [Value(-2.0), Value(3.0)]
    penalty = l2(ps)
    penalty.backward()
    assert (penalty.data, penalty.op) == (13.0, "dot")
    assert [p.grad for p in ps] == [-4.0, 6.0]


def test_a_penalty_scaled_by_its_strength_adds_to_a_loss():
    w = Value(3.0)
    loss = mse(w, 1.0) + 0.5 * l2(iter([w]))  # a generator, as model.parameters() may be
    loss.backward()
    assert (loss.data, w.grad) == (8.5, 7.0)  # 4 + 0.5 * 9; 2 * 2 + 0.5 * 2 * 3


@pytest.mark.parametrize("penalty", [l1, l2])
def test_penalties_refuse_empty_or_wrong_parameters(penalty):
    with pytest.raises(ValueError, match="parameters is empty"):
        penalty([])
    with pytest.raises(TypeError, match=r"such as model.parameters\(\)"):
        penalty(Value(1.0))
    with pytest.raises(TypeError, match=r"parameters\[1\] must be a Value, got 2.0"):
        penalty([Value(1.0), 2.0])


def test_in_a_batch_an_output_list_of_one_matches_a_number_target():
    outputs = [[Value(1.0)], [Value(3.0)]]  # what a Linear(n, 1) layer returns per example
    assert mse(outputs, [0.0, 1.0]).data == mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    assert (
        binary_cross_entropy(outputs, [1, 0]).data
        == binary_cross_entropy([Value(1.0), Value(3.0)], [1, 0]).data
    )
    with pytest.raises(ValueError, match="a list of outputs but a scalar of targets"):
        mse([Value(1.0), Value(2.0)], 1.0)  # outside a batch, shapes must still agree
