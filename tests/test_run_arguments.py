"""What a checkpoint records of fit's arguments: names of callables and fingerprints of data."""

import functools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from nn.losses import hinge, l2, mse
from nn.train.run_arguments import (
    callable_name,
    check_run_arguments,
    data_fingerprint,
    run_arguments,
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def test_the_same_numbers_give_the_same_fingerprint_whatever_holds_them():
    X, y = [[0.0, 1.5], [2.0, -3.0]], [0, 1]
    as_tuples = ([(0, 1.5), (2, -3)], (0.0, True))
    as_values = ([[Value(0.0), Value(1.5)], [Value(2.0), Value(-3.0)]], [0, 1])
    assert data_fingerprint((X, y)) == data_fingerprint(as_tuples) == data_fingerprint(as_values)
    assert data_fingerprint((X, y)) == {"examples": 2, "digest": data_fingerprint((X, y))["digest"]}


def test_a_numpy_array_and_the_lists_it_holds_have_the_same_fingerprint():
    np = pytest.importorskip("numpy")
    X, y = [[0.25, 1.0], [3.0, -2.5], [1e-300, 7.0]], [1, 0, 1]
    expected = data_fingerprint((X, y))
    assert data_fingerprint((np.array(X), np.array(y))) == expected
    halves = [[0.25, 1.0], [3.0, -2.5]]  # exact in float32, as 1e-300 is not
    expected = data_fingerprint((halves, [1, 0]))
    float32 = np.array(halves, dtype=np.float32), np.array([1, 0], dtype=np.int8)
    assert data_fingerprint(float32) == expected
    column = [[0.5], [1.5]]
    assert data_fingerprint((np.array(column), [0, 1])) == data_fingerprint((column, [0, 1]))


@given(st.lists(st.lists(finite, min_size=2, max_size=2), min_size=1, max_size=8), st.data())
def test_changing_one_number_changes_the_fingerprint(X, draw):
    row, column = draw.draw(st.integers(0, len(X) - 1)), draw.draw(st.integers(0, 1))
    y = [0] * len(X)
    changed = [list(x) for x in X]
    changed[row][column] = math.nextafter(X[row][column], math.inf)
    assert data_fingerprint((changed, y)) != data_fingerprint((X, y))
    assert data_fingerprint((X, y)) == data_fingerprint(([list(x) for x in X], list(y)))


def test_order_structure_strings_and_labels_all_count():
    X = [[1.0, 2.0], [3.0, 4.0]]
    seen = {
        str(data_fingerprint(data))
        for data in [
            (X, [0, 1]),
            (X[::-1], [1, 0]),  # the same examples in another order
            ([[1.0], [2.0, 3.0, 4.0]], [0, 1]),  # the same numbers, split differently
            (X, [1, 0]),
            ([["a", "b"], ["c"]], [0, 1]),
            ([["ab"], ["c"]], [0, 1]),
            ([[1, [2.0, "x"]], [3.0, 4.0]], [0, 1]),  # numbers, lists and text mixed
        ]
    }
    assert len(seen) == 7


def test_callables_are_recorded_by_their_qualified_names():
    def penalty(parameters):
        return 1e-4 * l2(parameters)

    class Loss:
        def __call__(self, outputs, targets):
            return mse(outputs, targets)

    assert callable_name(hinge) == "hinge"
    assert callable_name(penalty).endswith("<locals>.penalty")
    assert callable_name(Loss()).endswith("<locals>.Loss")
    assert callable_name(functools.partial(mse)) == "partial(mse)"
    assert callable_name(lambda p: l2(p)).endswith("<lambda>")


def test_the_recorded_arguments_are_plain_json_and_a_mismatch_names_both_values():
    np = pytest.importorskip("numpy")
    data = ([[0.0], [1.0]], [0, 1])
    recorded = run_arguments(
        mse, data, np.int64(1), 1, 3, None, data, np.int64(2), True, False
    )  # a NumPy int is an int to fit; JSON needs it as one
    assert recorded["batch_size"] == 1 and type(recorded["batch_size"]) is int
    assert type(recorded["patience"]) is int and recorded["shuffle"] is True
    assert recorded["validation"] == recorded["data"]
    check_run_arguments(recorded, dict(recorded), "fit")
    other = recorded | {"seed": 4}
    with pytest.raises(ValueError, match=r"^fit: the checkpointed run had seed=3, .* seed=4;"):
        check_run_arguments(recorded, other, "fit")
