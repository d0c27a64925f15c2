"""A tape replays the graph it traced: values and gradients equal the eager engine's, example by
example, for random graphs over every rule and random batches (sizes 0 and 1 included)."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import GRAPH_OPS, build, graphs_with_points, reals

from autograd import Value, adjoints, rules, trace

np = pytest.importorskip("numpy")

# Tape and eager agree to 1e-12 of the largest number in the graph, not always of the result:
# NumPy's exp, tanh and sums round differently from math's and fsum in the last bit, and where a
# formula cancels (1 - tanh(x)**2 near saturation, x - y for x close to y) that bit is what is left.
TOLERANCE = 1e-12


def eager(graph, xs):
    """The output and its gradient with respect to each input, and the graph's largest number."""
    inputs = [Value(x) for x in xs]
    nodes = build(graph, inputs)
    found = adjoints(nodes[-1])
    scale = max([1.0] + [abs(n.data) for n in nodes] + [abs(g) for g in found.values()])
    return nodes[-1].data, [found.get(x, 0.0) for x in inputs], scale


def agree(found: float, expected: float, scale: float) -> bool:
    return abs(found - expected) <= TOLERANCE * max(abs(expected), scale)


def traced(graph, xs):
    return trace(lambda *inputs: build(graph, list(inputs))[-1], *xs)


def test_the_graph_strategy_covers_every_rule_in_the_table():
    # The shared graph strategy makes every rule but max and dot of two Values (tested below).
    made = set()
    for name, op in GRAPH_OPS.items():
        xs = [Value(0.7), Value(-0.3), Value(1.1), Value(0.2)]
        constant = 2 if name == "pow_integer" else (0.5, -1.0) if name == "dot" else 0.5
        node = op.make(__import__("strategies").VALUE_FUNCTIONS, xs[: op.arity or 2], constant)
        stack = [node]
        while stack:
            n = stack.pop()
            if n.rule is not None:
                made.add(n.rule.name)
            stack.extend(n.parents)
    table = {r.name for r in vars(rules).values() if isinstance(r, rules.Rule)}
    assert table - made == {"max", "dot"}


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=graphs_with_points(), data=st.data())
def test_a_tape_equals_the_eager_engine_on_floats_and_on_random_batches(case, data):
    graph, xs = case
    tape = traced(graph, xs)
    value, gradient, scale = eager(graph, xs)
    found_value, found_gradient = tape.value_and_grad(*xs)
    assert agree(found_value, value, scale) and agree(tape(*xs), value, scale)
    assert all(map(agree, found_gradient, gradient, [scale] * len(xs)))

    size = data.draw(st.sampled_from([0, 1, data.draw(st.integers(2, 6))]), label="batch size")
    points = [
        data.draw(st.lists(reals(-2.0, 2.0), min_size=len(xs), max_size=len(xs)))
        for _ in range(size)
    ]
    expected = [eager(graph, point) for point in points]
    assume(all(math.isfinite(s) and s < 1e6 for _, _, s in expected))
    columns = [np.array([p[i] for p in points], dtype=float) for i in range(len(xs))]
    values, gradients = tape.value_and_grad(*columns)
    assert values.shape == (size,) and all(g.shape == (size,) for g in gradients)
    for j, (value, gradient, scale) in enumerate(expected):
        assert agree(values[j], value, scale)
        assert all(agree(gradients[i][j], gradient[i], scale) for i in range(len(xs)))


@given(xs=st.lists(st.integers(-20, 20), min_size=1, max_size=5, unique=True))
def test_max_values_in_a_tape_sends_the_gradient_to_the_largest_input_of_each_example(xs):
    from autograd import max_values

    tape = trace(lambda v: max_values(v) * 2.0, [float(x) for x in xs])
    batch = np.array([[float(x) for x in xs], [float(-x) for x in xs]])
    values, (gradient,) = tape.value_and_grad(batch)
    assert values.tolist() == [2.0 * max(xs), 2.0 * max(-x for x in xs)]
    assert gradient[0].tolist() == [2.0 if x == max(xs) else 0.0 for x in xs]
    assert gradient[1].tolist() == [2.0 if -x == max(-y for y in xs) else 0.0 for x in xs]


@given(st.data())
def test_a_list_result_gives_one_column_per_value_and_vjp_matches_eager(data):
    a, b = data.draw(reals(-2, 2)), data.draw(reals(-2, 2))
    f = lambda x, ys: [x * ys[0], (x + ys[1]).tanh(), ys[0] - ys[1]]  # noqa: E731
    tape = trace(f, a, [b, a])
    batch = data.draw(st.integers(0, 4))
    X = np.array([data.draw(reals(-2, 2)) for _ in range(batch)])
    Y = np.array([[data.draw(reals(-2, 2)) for _ in range(2)] for _ in range(batch)])
    C = np.array([[data.draw(reals(-1, 1)) for _ in range(3)] for _ in range(batch)])
    Y, C = Y.reshape(batch, 2), C.reshape(batch, 3)
    outputs, pullback = tape.vjp(X, Y)
    (dx, dy), _ = pullback(C)
    assert outputs.shape == (batch, 3) and dx.shape == (batch,) and dy.shape == (batch, 2)
    for j in range(batch):
        x, ys = Value(X[j]), [Value(Y[j, 0]), Value(Y[j, 1])]
        outs = f(x, ys)
        total = sum(c * o for c, o in zip(C[j].tolist(), outs))
        found = adjoints(total) if isinstance(total, Value) else {}
        assert np.allclose(outputs[j], [o.data for o in outs], rtol=1e-12, atol=1e-15)
        assert math.isclose(dx[j], found.get(x, 0.0), rel_tol=1e-12, abs_tol=1e-15)
        assert np.allclose(dy[j], [found.get(y, 0.0) for y in ys], rtol=1e-12, atol=1e-15)


def test_batch_sizes_one_and_zero_give_arrays_of_that_length():
    w = Value(0.5)
    tape = trace(lambda x, ys: (w * x + ys[0] * ys[1]).sigmoid(), 1.0, [2.0, 3.0])
    for size in (0, 1):
        X, Y = np.ones(size), np.ones((size, 2))
        values, (dx, dy) = tape.value_and_grad(X, Y)
        assert values.shape == dx.shape == (size,) and dy.shape == (size, 2)
    one = tape(np.array([0.25]), np.array([[1.5, -2.0]]))
    assert one.tolist() == [tape(0.25, [1.5, -2.0])]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dot_products_of_every_mix_of_parameters_and_inputs_equal_eager(data):
    # Parameter weights and shared inputs (a layer: one matmul), inputs on both sides (the
    # general n-ary step), weights from inputs and parameters mixed (static rows copied across).
    from autograd import dot

    n = data.draw(st.integers(1, 4))
    W = [[Value(data.draw(reals(-2, 2))) for _ in range(n)] for _ in range(3)]

    def f(xs, ys):
        layer = [dot(w, xs) for w in W]
        both = dot(xs, ys)
        mixed = dot([xs[0], *W[0][1:]], [W[1][0], *ys[1:]])
        backwards = dot(ys, W[2])
        return [*layer, both, mixed, backwards]

    batch = data.draw(st.integers(0, 4))
    X = np.array(data.draw(st.lists(reals(-2, 2), min_size=n * batch, max_size=n * batch)))
    Y = np.array(data.draw(st.lists(reals(-2, 2), min_size=n * batch, max_size=n * batch)))
    X, Y = X.reshape(batch, n), Y.reshape(batch, n)
    tape = trace(f, [0.5] * n, [0.25] * n)
    assert "matmul" in {level.kind for level in tape.levels}
    C = np.ones((batch, 6))
    outputs, pullback = tape.vjp(X, Y)
    (dx, dy), dW = pullback(C)
    expected_dW = {id(p): 0.0 for p in tape.parameters}
    for j in range(batch):
        xs, ys = [Value(x) for x in X[j].tolist()], [Value(y) for y in Y[j].tolist()]
        outs = f(xs, ys)
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        found = adjoints(total)
        scale = max(1.0, *(abs(g) for g in found.values()), *(abs(o.data) for o in outs))
        assert all(agree(a, o.data, scale) for a, o in zip(outputs[j], outs))
        assert all(agree(a, found.get(x, 0.0), scale) for a, x in zip(dx[j], xs))
        assert all(agree(a, found.get(y, 0.0), scale) for a, y in zip(dy[j], ys))
        for p in tape.parameters:
            expected_dW[id(p)] += found.get(p, 0.0)
    assert all(agree(a, expected_dW[id(p)], 10.0 * n) for a, p in zip(dW, tape.parameters))
