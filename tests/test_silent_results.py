"""Issue 23: wrong or unclear results that went unnoticed, each now refused or right.

A Value compared with a number, an optimizer step that overflows, a negative running variance,
sin of an infinity, gradcheck at a NaN point, a torch Softplus whose threshold nn lacks, a Layer
given a seed, and gradient clipping just either side of its threshold.
"""

import math

import numpy as np
import pytest

from autograd import Value, gradients, hessian

# --- == and != between a Value and a number ------------------------------------------------------
NUMBERS = [0, 0.0, False, np.float64(0.0), np.int64(0)]


@pytest.mark.parametrize("number", NUMBERS, ids=repr)
def test_a_value_compared_with_a_number_raises_pointing_to_data(number):
    x = Value(0.0)
    comparisons = [
        lambda: x == number,
        lambda: number == x,
        lambda: x != number,
        lambda: number != x,
    ]
    for compare in comparisons:
        with pytest.raises(TypeError, match=r"compare the numbers instead: x\.data (==|!=)"):
            compare()


def test_values_compare_by_identity_and_other_objects_are_unequal_as_before():
    a, b = Value(1.0), Value(1.0)
    assert a == a and not (a != a) and a != b and not (a == b)
    assert a != "1.0" and not (a == None)  # noqa: E711 (the operator itself is under test)
    nodes = [b, a]
    assert a in nodes and nodes.index(a) == 1 and nodes.count(a) == 1
    assert {a: 1, b: 2}[a] == 1 and len({a, b, a}) == 2
    assert sorted(nodes, key=lambda v: v.data) == nodes
    assert [v.data for v in sorted([Value(3.0), Value(-1.0)])] == [-1.0, 3.0]


def test_second_derivatives_at_zero_take_the_branch_the_first_derivatives_take():
    # The rules' `x == 0` on the Value path was always False, so d/dy x**y at x = 0 took
    # log(x) and raised, though the first derivative there is 0
    assert hessian(lambda x, y: x**y)(0.0, 2.0) == [[2.0, 0.0], [0.0, 0.0]]
    x = Value(0.0)
    [slope] = gradients(x.sqrt(), [x], create_graph=True)
    assert slope.data == math.inf
