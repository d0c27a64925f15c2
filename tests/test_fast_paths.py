"""The inlined +, * and relu of Value agree with their entries in the rule table."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, dot, matvec, no_grad, rules, sum_values

finite = st.floats(-1e6, 1e6, allow_nan=False)
constants = st.one_of(finite, st.integers(-1000, 1000))

CASES = {
    "value + value": (lambda a, b: a + b, rules.ADD, True),
    "value * value": (lambda a, b: a * b, rules.MUL, True),
    "value + number": (lambda a, c: a + c, rules.ADD_CONSTANT, False),
    "number + value": (lambda a, c: c + a, rules.ADD_CONSTANT, False),
    "value * number": (lambda a, c: a * c, rules.MUL_CONSTANT, False),
    "number * value": (lambda a, c: c * a, rules.MUL_CONSTANT, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
@given(x=finite, other=constants)
def test_fast_path_matches_the_rule_table_forward_and_locals(case, x, other):
    op, rule, both_values = CASES[case]
    a = Value(x)
    b = Value(float(other)) if both_values else other
    out = op(a, b)
    inputs = (x, float(other))
    expected = rule.forward(*inputs)
    assert out.data == expected
    assert out.rule is rule
    assert out.parents == ((a, b) if both_values else (a,))
    assert out.local_derivatives == rule.derivatives(expected, *inputs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_records_nothing_under_no_grad(case):
    op, _, both_values = CASES[case]
    a = Value(1.5)
    with no_grad():
        out = op(a, Value(2.0) if both_values else 2.0)
    assert out.parents == () and out.rule is None


@given(x=st.one_of(st.floats(), st.sampled_from([0.0, -0.0, 1e-320, -1e-320])))
def test_relu_fast_path_matches_the_rule_table_nan_and_infinities_included(x):
    out = Value(x).relu()
    expected = rules.RELU.forward(x)
    assert out.data == expected or (out.data != out.data and expected != expected)
    assert out.rule is rules.RELU
    assert out.local_derivatives == rules.RELU.derivatives(expected, x)
    with no_grad():
        assert Value(x).relu().parents == ()


@pytest.mark.parametrize("op", [lambda a: a + "x", lambda a: a * None, lambda a: [1] * a])
def test_fast_path_refuses_non_numbers_with_type_error(op):
    with pytest.raises(TypeError):
        op(Value(1.0))


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=8))
def test_dot_with_number_inputs_matches_its_table_entry_and_keeps_only_weights_as_parents(pairs):
    weights = [Value(w) for w, _ in pairs]
    inputs = [x for _, x in pairs]
    out = dot(weights, inputs)
    assert out.rule is rules.DOT_CONSTANT
    assert out.data == rules.DOT_CONSTANT.forward(*(w.data for w in weights), inputs)
    assert out.parents == tuple(weights)
    assert out.local_derivatives == rules.DOT_CONSTANT.derivatives(
        out.data, *weights, tuple(inputs)
    )


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=8))
def test_dot_of_values_matches_its_table_entry(pairs):
    weights = [Value(w) for w, _ in pairs]
    inputs = [Value(x) for _, x in pairs]
    out = dot(weights, inputs)
    data = [node.data for node in weights + inputs]
    assert out.rule is rules.DOT
    assert out.data == rules.DOT.forward(*data)
    assert out.parents == tuple(weights + inputs)
    assert out.local_derivatives == rules.DOT.derivatives(out.data, *data)


NODE_MAKERS = {
    **{name: (lambda op=op: op(Value(1.5), Value(2.0))) for name, (op, _, _) in CASES.items()},
    "tanh (rule table, one parent)": lambda: Value(0.3).tanh(),
    "Value - Value (rule table, two parents)": lambda: Value(1.5) - Value(2.0),
    "Value ** number (bound rule)": lambda: Value(1.5) ** 3,
    "dot (n-ary)": lambda: dot([Value(1.5), Value(2.0)], [0.5, -1.0]),
}


@pytest.mark.parametrize("maker", sorted(NODE_MAKERS))
def test_nodes_made_without_init_set_every_slot_as_init_does(maker):
    node = NODE_MAKERS[maker]()
    reference = Value(node.data, "", node._op)
    for slot in Value.__slots__:
        if slot not in ("_a", "_da", "_b", "_db"):  # the parents differ by design
            assert getattr(node, slot) == getattr(reference, slot), slot
    assert type(node.data) is float and node.parents and node.grad == 0.0


@given(x=finite, c=constants)
def test_subtracting_a_number_is_adding_its_negative_as_the_table_says(x, c):
    a = Value(x)
    out = a - c
    assert out.rule is rules.ADD_CONSTANT and out.parents == (a,)
    assert out.data == rules.ADD_CONSTANT.forward(x, -float(c)) == x - c
    assert out.local_derivatives == rules.ADD_CONSTANT.derivatives(out.data, x, -float(c))
    assert out._db == -float(c) and type(out._db) is float  # the constant a tape reads


def test_sum_over_values_starts_with_a_node_for_the_int_zero_holding_a_float():
    a, b = Value(1.5), Value(2.5)
    total = sum([a, b])
    first = total.parents[0]
    assert first.rule is rules.ADD_CONSTANT and first.parents == (a,)
    assert first._db == 0.0 and type(first._db) is float
    total.backward()
    assert (a.grad, b.grad) == (1.0, 1.0)


@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(finite, min_size=n, max_size=n), min_size=1, max_size=4),
            st.lists(finite, min_size=n, max_size=n),
        )
    )
)
def test_matvec_makes_the_nodes_dot_makes_row_by_row(case):
    rows, x = case
    W, inputs = [[Value(w) for w in row] for row in rows], [Value(v) for v in x]
    ours, theirs = matvec(W, inputs), [dot(row, inputs) for row in W]
    for a, b in zip(ours, theirs, strict=True):
        assert a.data == b.data and a.op == b.op
        assert a.parents == b.parents and a.local_derivatives == b.local_derivatives
    sum_values(ours).backward()
    first = [p.grad for p in inputs + [w for row in W for w in row]]
    for p in inputs + [w for row in W for w in row]:
        p.grad = 0.0
    sum_values(theirs).backward()
    assert [p.grad for p in inputs + [w for row in W for w in row]] == first


def test_matvec_takes_numbers_and_mixtures_as_dot_does_and_records_nothing_under_no_grad():
    W = [[Value(1.0), Value(2.0)], [Value(3.0), 4.0]]
    assert [y.data for y in matvec(W, [1.0, -1.0])] == [-1.0, -1.0]
    assert [y.data for y in matvec(W, [Value(1.0), Value(1.0)])] == [3.0, 7.0]
    with no_grad():
        assert all(not y.parents for y in matvec(W, [Value(1.0), Value(1.0)]))
    with pytest.raises(ValueError, match="dot: 3 weights but 2 inputs"):
        matvec([[Value(1.0)] * 3], [Value(1.0), Value(2.0)])
