"""A tape's parameters: read afresh at every call, their gradients summed or averaged into .grad;
its levels (a layer is one matrix product); what its arguments must look like."""

import pytest

from autograd import Tape, Value, sum_values, trace
from nn import MLP
from nn.losses import cross_entropy
from nn.optim import SGD

np = pytest.importorskip("numpy")


def eager_gradients(model, X, loss=lambda out: out):
    model.zero_grad()
    for x in X:
        loss(model(list(x))).backward()
    return [p.grad for p in model.parameters()]


def test_parameters_are_read_afresh_after_an_optimizer_step_without_tracing_again():
    model = MLP(3, [5, 1], seed=0)
    tape = trace(lambda x: model(x), [0.1, 0.2, 0.3])
    X = np.random.default_rng(0).normal(size=(6, 3))
    optimizer = SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        model.zero_grad()
        tape.value_and_grad(X, accumulate="mean")
        optimizer.step()
        assert np.allclose(tape(X), [model(list(x)).data for x in X], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("accumulate", ["sum", "mean"])
def test_parameter_gradients_accumulate_into_grad_summed_or_averaged_as_eager(accumulate):
    model = MLP(4, [6, 3], seed=1)
    tape = trace(lambda x: cross_entropy(model(x), 1), [0.0] * 4)
    X = np.random.default_rng(1).normal(size=(5, 4))
    expected = eager_gradients(model, X, lambda out: cross_entropy(out, 1))
    if accumulate == "mean":
        expected = [g / len(X) for g in expected]
    model.zero_grad()
    for p in model.parameters():
        p.grad = 1.0  # accumulating adds to what is there, as backward() does
    tape.value_and_grad(X, accumulate=accumulate)
    found = {id(p): p.grad for p in tape.parameters}
    for p, g in zip(model.parameters(), expected):
        assert abs(found[id(p)] - 1.0 - g) <= 1e-12 * max(1.0, abs(g))


def test_without_accumulate_no_grad_is_touched_and_params_can_be_passed_as_an_array():
    w = Value(2.0)
    tape = trace(lambda x: w * x, 1.0)
    tape.value_and_grad(np.array([1.0, 2.0]))
    assert w.grad == 0.0
    assert tape(np.array([1.0, 2.0]), params=np.array([10.0])).tolist() == [10.0, 20.0]
    assert tape.vjp(3.0)[1](1.0).parameters.tolist() == [3.0]
    with pytest.raises(ValueError, match="1 values"):
        tape(1.0, params=np.array([1.0, 2.0]))


def test_a_layer_is_one_affine_step_and_the_step_count_does_not_grow_with_width():
    def steps(width):
        model = MLP(8, [width, width, 2], seed=0)
        return trace(lambda x: model(x), [0.0] * 8).levels

    narrow, wide = steps(4), steps(64)
    assert [(s.rule, s.kind) for s in narrow] == [(s.rule, s.kind) for s in wide]
    assert [s.kind for s in wide] == ["affine", "elementwise"] * 2 + ["affine"]
    assert [s.nodes for s in wide if s.kind == "affine"] == [64, 64, 2]


def test_dot_nodes_used_elsewhere_stay_a_matrix_product_of_their_own():
    from autograd import Value, dot

    W = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    b = [Value(0.1), Value(-0.2)]

    def f(xs):
        dots = [dot(w, xs) for w in W]
        return [dots[0] + b[0], dots[1] + b[1], dots[0] * 2.0]  # dots[0] feeds two nodes

    tape = trace(f, [1.0, 2.0])
    assert "matmul" in [s.kind for s in tape.levels] and "affine" not in [
        s.kind for s in tape.levels
    ]
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    expected = [[o.data for o in f([Value(x) for x in row])] for row in X.tolist()]
    assert np.allclose(tape(X), expected, rtol=1e-12)


def test_a_tape_is_exported_and_describes_itself():
    tape = trace(lambda x, ys: x * ys[0] - ys[1], 1.0, [2.0, 3.0])
    assert isinstance(tape, Tape)
    assert repr(tape).startswith("Tape(2 arguments -> 1 output, ")


def test_arguments_must_have_the_traced_form():
    tape = trace(lambda x, ys: x * ys[0] - ys[1], 1.0, [2.0, 3.0])
    with pytest.raises(TypeError, match="takes 2 arguments, got 1"):
        tape(1.0)
    with pytest.raises(TypeError, match="argument 1 must be a list of 2 numbers"):
        tape(1.0, [1.0])
    with pytest.raises(TypeError, match="argument 0 must be a number"):
        tape("a", [1.0, 2.0])
    with pytest.raises(TypeError, match="every argument as a NumPy array"):
        tape(np.ones(3), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"argument 1 must have shape \(3, 2\)"):
        tape(np.ones(3), np.ones((3, 3)))
    for dtype in (complex, bool, str, object):  # complex would lose its imaginary part
        with pytest.raises(TypeError, match="argument 0 must be an array of real numbers.*dtype"):
            tape(np.ones(3).astype(dtype), np.ones((3, 2)))
    assert tape(np.arange(3), np.ones((3, 2), dtype=np.float32)).tolist() == [-1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="accumulate must be"):
        tape.value_and_grad(1.0, [1.0, 2.0], accumulate="max")
    with pytest.raises(ValueError, match="empty batch"):
        tape.value_and_grad(np.ones(0), np.ones((0, 2)), accumulate="mean")


def test_trace_refuses_arguments_and_results_it_cannot_replay():
    with pytest.raises(TypeError, match="example argument 0 must be a number or a list"):
        trace(lambda x: x, "1.0")
    with pytest.raises(TypeError, match="must return a Value or a list of Values"):
        trace(lambda x: 2.0, 1.0)
    with pytest.raises(TypeError, match="list of Values; the gradient needs one"):
        trace(lambda x: [x, x], 1.0).value_and_grad(1.0)


def test_draw_shows_one_box_per_step():
    pytest.importorskip("graphviz")
    model = MLP(2, [3, 1], seed=0)
    tape = trace(lambda x: model(x), [0.0, 0.0])
    source = tape.draw().source
    assert source.count("shape=box") == len(tape.levels)
    assert "affine" in source and "arguments" in source and "parameters" in source


def test_a_pullback_refuses_to_run_after_the_tape_was_called_again():
    w = Value(2.0)
    tape = trace(lambda x: w * x * x, 1.0)
    _, pullback = tape.vjp(np.array([1.0, 2.0]))
    assert pullback(np.ones(2)).arguments[0].tolist() == [4.0, 8.0]
    tape(np.array([3.0, 4.0]))
    with pytest.raises(RuntimeError, match="called again"):
        pullback(np.ones(2))


def test_a_pullback_called_in_another_thread_says_it_belongs_to_the_vjp_thread():
    import threading

    w = Value(2.0)
    tape = trace(lambda x: w * x * x, 1.0)
    _, pullback = tape.vjp(np.array([1.0, 2.0]))
    raised = []

    def call() -> None:
        try:
            pullback(np.ones(2))
        except RuntimeError as error:
            raised.append(str(error))

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    assert len(raised) == 1 and "the thread that called tape.vjp" in raised[0]
    assert pullback(np.ones(2)).arguments[0].tolist() == [4.0, 8.0]


def test_threads_calling_one_tape_at_once_get_their_own_answers():
    import threading

    model = MLP(3, [8, 2], seed=4)
    tape = trace(lambda x: model(x), [0.0] * 3)
    rng = np.random.default_rng(4)
    batches = [rng.normal(size=(size, 3)) for size in (5, 7, 5, 9)]
    expected = [[[o.data for o in model(list(x))] for x in X] for X in batches]
    failures = []

    def work(k):
        for _ in range(30):
            if not np.allclose(tape(batches[k]), expected[k], rtol=1e-12, atol=1e-14):
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_parameters_can_be_ordered_as_the_model_orders_them():
    model = MLP(2, [3, 1], seed=0)
    tape = trace(lambda x: model(x), [0.0, 0.0], parameters=model.parameters())
    assert tape.parameters == model.parameters()
    values = np.array([p.data for p in model.parameters()])
    assert tape([1.0, 2.0], params=values) == model([1.0, 2.0]).data
    with pytest.raises(TypeError, match="parameters must be Values.*got float 0.5"):
        trace(lambda x: model(x), [0.0, 0.0], parameters=[*model.parameters(), 0.5])


def test_outputs_that_do_not_depend_on_the_arguments_repeat_for_every_example():
    w = Value(1.5)
    tape = trace(lambda x: [x * 2.0, w * 3.0, Value(7.0)], 1.0)
    assert tape(np.array([1.0, 2.0])).tolist() == [[2.0, 4.5, 7.0], [4.0, 4.5, 7.0]]
    outputs, pullback = tape.vjp(np.array([1.0, 2.0]))
    found = pullback(np.ones((2, 3)))
    assert found.arguments[0].tolist() == [2.0, 2.0] and found.parameters.tolist() == [6.0]


def test_many_outputs_repeating_a_node_are_read_and_seeded_as_one_output_each():
    w = Value(2.0)

    def f(x):
        y, z = x * w, w * 3  # z: a static row, listed twice like y
        return [y, z, y, x, z]

    tape = trace(f, 1.0)
    outputs, pullback = tape.vjp(np.array([1.0, -2.0]))
    assert outputs.tolist() == [[2.0, 6.0, 2.0, 1.0, 6.0], [-4.0, 6.0, -4.0, -2.0, 6.0]]
    cotangents = np.array([[1.0, 10.0, 100.0, 1000.0, 0.5], [2.0, 20.0, 200.0, 2000.0, 0.25]])
    found = pullback(cotangents)
    # d/dx: w (y twice) + 1 (x); d/dw: x (y twice) and 3 (w * 3 twice, every example)
    assert found.arguments[0].tolist() == [2 * 101.0 + 1000.0, 2 * 202.0 + 2000.0]
    assert found.parameters.tolist() == [1.0 * 101.0 - 2.0 * 202.0 + 3 * (10.5 + 20.25)]


def test_a_bias_computed_in_the_same_level_as_its_dot_products_is_added_once_computed():
    from autograd import dot

    W = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    b = [Value(0.1), Value(-0.2)]

    def f(xs):  # each bias is exp(b): a static node at depth 1, as deep as the dot products
        return sum_values(dot(w, xs) + c.exp() for w, c in zip(W, b))

    tape = trace(f, [1.0, 2.0])
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    values, (grads,) = tape.value_and_grad(X, accumulate="sum")
    expected_values, expected_grads = [], []
    for row in X.tolist():
        xs = [Value(x) for x in row]
        out = f(xs)
        out.backward()
        expected_values.append(out.data)
        expected_grads.append([x.grad for x in xs])
    assert np.allclose(values, expected_values, rtol=1e-12)
    assert np.allclose(grads, expected_grads, rtol=1e-12)
    assert [c.grad for c in b] == pytest.approx([4 * c.exp().data for c in b], rel=1e-12)
