"""autograd.batch_mean: a mean over the batch a tape runs on, with gradients spread back."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import reals

from autograd import Value, batch_mean, dot, gradients, sum_values, trace

np = pytest.importorskip("numpy")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def normalise(x, w, eps=1e-3):
    """One example of a batch normalisation of w * x, as a tape replays it on a batch."""
    y = w * x
    mean = batch_mean(y)
    centred = y - mean
    variance = batch_mean(centred * centred)
    return (centred * (variance + eps) ** -0.5).tanh()


def normalise_batch(xs, w, eps=1e-3):
    """The same computation written eagerly over the whole batch."""
    ys = [w * x for x in xs]
    mean = sum_values(ys) / len(ys)
    centred = [y - mean for y in ys]
    variance = dot(centred, centred) / len(ys)
    return [(c * (variance + eps) ** -0.5).tanh() for c in centred]


@settings(deadline=None)
@given(
    xs=st.lists(reals(-3.0, 3.0), min_size=1, max_size=6),
    w=reals(0.5, 2.0),
    data=st.data(),
)
def test_a_tape_with_batch_means_equals_the_eager_batch_computation_values_and_gradients(
    xs, w, data
):
    cotangents = data.draw(st.lists(reals(-2.0, 2.0), min_size=len(xs), max_size=len(xs)))
    weight = Value(w)
    tape = trace(lambda x: normalise(x, weight), 0.5)
    outputs, pullback = tape.vjp(np.array(xs))
    found = pullback(np.array(cotangents))

    leaves = [Value(x) for x in xs]
    eager = normalise_batch(leaves, weight)
    objective = sum_values([c * y for c, y in zip(cotangents, eager)])
    expected = gradients(objective, [*leaves, weight])
    assert all(map(close, outputs.tolist(), [y.data for y in eager]))
    assert all(map(close, found.arguments[0].tolist(), expected[:-1]))
    assert close(float(found.parameters[0]), expected[-1])


def test_on_one_example_the_mean_is_the_example_itself_with_derivative_one():
    x = Value(3.0)
    y = batch_mean(x)
    y.backward()
    assert (y.data, x.grad, y.op) == (3.0, 1.0, "batch mean")
    tape = trace(lambda x: x * batch_mean(x), 2.0)
    assert tape.value_and_grad(5.0) == (25.0, (10.0,))


def test_each_example_receives_one_over_b_of_the_adjoint_of_the_mean():
    tape = trace(lambda x: batch_mean(x), 0.0)
    outputs, pullback = tape.vjp(np.array([1.0, 2.0, 6.0]))
    assert outputs.tolist() == [3.0, 3.0, 3.0]
    # the mean reaches every output: its adjoint is the sum of the cotangents, 6, shared by 3
    assert pullback(np.array([1.0, 2.0, 3.0])).arguments[0].tolist() == [2.0, 2.0, 2.0]


def test_a_mean_over_the_batch_is_computed_once_per_call_in_the_static_table():
    tape = trace(lambda x: x - batch_mean(x), 1.0)
    (mean,) = [level for level in tape.levels if level.rule == "batch_mean"]
    assert not mean.batched and mean.inputs == ("arguments",)


def test_a_batch_mean_feeding_a_dot_with_batch_operands_passes_gradients_to_the_arguments():
    # the static mean is copied across the batch for the n-ary dot; its adjoint comes back
    tape = trace(lambda x: dot([batch_mean(x), x], [x, x]), 1.0)
    values, (gradient,) = tape.value_and_grad(np.array([1.0, 2.0, 3.0]))
    # f_i = m x_i + x_i^2 with m = 2: d(sum f)/dx_j = m + 2 x_j + (sum x) / 3
    assert values.tolist() == [3.0, 8.0, 15.0]
    assert gradient.tolist() == [6.0, 8.0, 10.0]


def test_an_empty_batch_has_no_mean_and_says_so():
    tape = trace(lambda x: batch_mean(x), 0.0)
    with pytest.raises(ValueError, match="empty batch"):
        tape(np.array([]))


def test_batch_mean_takes_a_value_or_a_number():
    assert batch_mean(2).data == 2.0
    with pytest.raises(TypeError, match="batch_mean: takes a Value or a number, got str"):
        batch_mean("x")
    assert math.isnan(batch_mean(float("nan")).data)
