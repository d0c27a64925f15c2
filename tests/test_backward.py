"""Backpropagation: gradients of random graphs, ordering, accumulation, depth."""

import math
import subprocess
import sys

import pytest
from hypothesis import assume, find, given
from strategies import (
    build,
    central_difference,
    close_to_difference,
    evaluate,
    graphs,
    graphs_with_points,
    smooth_around,
)

from autograd import Value, adjoints, sum_values, topological_order


def _graph_at(graph, xs):
    leaves = [Value(x) for x in xs]
    return leaves, build(graph, leaves)


# --- random graphs --------------------------------------------------------------------------------
def _ancestors(graph, i) -> set[int]:
    """Node i and every node it is computed from."""
    found, stack = {i}, [i]
    while stack:
        k = stack.pop() - graph.n_inputs
        for j in graph.steps[k].operands if k >= 0 else ():
            if j not in found:
                found.add(j)
                stack.append(j)
    return found


def _has_diamond(graph) -> bool:
    """Two paths from one node meet again: a step's operands, unrelated, share an ancestor."""
    for step in graph.steps:
        for i in step.operands:
            for j in step.operands:
                a, b = _ancestors(graph, i), _ancestors(graph, j)
                if i not in b and j not in a and a & b:
                    return True
    return False


@pytest.mark.parametrize(
    "shape",
    [
        lambda g: any(len(set(s.operands)) < len(s.operands) for s in g.steps),  # a + a
        lambda g: any(sum(i in s.operands for s in g.steps) >= 3 for i in range(g.n_inputs)),
        _has_diamond,
    ],
    ids=["a+a", "fan-out", "diamond"],
)
def test_random_graphs_include_shared_subexpressions(shape):
    find(graphs(), shape)  # raises NoSuchExample if the strategy never draws this shape


@given(graphs_with_points())
def test_gradients_of_random_graphs_match_central_differences(graph_and_point):
    graph, xs = graph_and_point
    leaves, nodes = _graph_at(graph, xs)
    nodes[-1].backward()
    data = evaluate(graph, xs)
    scale = max(abs(d) for d in data)
    for i, leaf in enumerate(leaves):
        assume(smooth_around(graph, xs, i))
        difference = central_difference(lambda point: evaluate(graph, point)[-1], xs, i)
        assert close_to_difference(leaf.grad, difference, scale), i


@given(graphs_with_points())
def test_topological_order_lists_each_node_once_after_all_its_consumers(graph_and_point):
    graph, xs = graph_and_point
    _, nodes = _graph_at(graph, xs)
    root = nodes[-1]
    order = topological_order(root)
    position = {node: k for k, node in enumerate(order)}
    assert len(position) == len(order)
    assert order[0] is root
    reachable, stack = {root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in reachable:
                reachable.add(parent)
                stack.append(parent)
    assert set(order) == reachable
    for node in order:
        for parent in node.parents:
            assert position[parent] > position[node]


@given(graphs_with_points())
def test_adjoints_equal_the_grads_backward_gives_and_touch_no_grad(graph_and_point):
    graph, xs = graph_and_point
    _, nodes = _graph_at(graph, xs)
    root = nodes[-1]
    result = adjoints(root)
    assert all(node.grad == 0.0 for node in result)
    root.backward()
    assert set(result) == set(topological_order(root))
    for node, adjoint in result.items():
        assert math.isclose(node.grad, adjoint, rel_tol=1e-12, abs_tol=1e-300)


@given(graphs_with_points())
def test_backward_with_create_graph_gives_the_same_numbers_as_values(graph_and_point):
    graph, xs = graph_and_point
    as_floats, float_nodes = _graph_at(graph, xs)
    as_values, value_nodes = _graph_at(graph, xs)
    float_nodes[-1].backward()
    value_nodes[-1].backward(create_graph=True)
    for float_leaf, value_leaf in zip(as_floats, as_values):
        assert math.isclose(float(value_leaf.grad), float_leaf.grad, rel_tol=1e-9, abs_tol=1e-12)


@given(graphs_with_points())
def test_a_second_backward_doubles_leaf_grads_and_repeats_inner_grads(graph_and_point):
    graph, xs = graph_and_point
    leaves, nodes = _graph_at(graph, xs)
    inner = [node for node in nodes[len(leaves) :] if node.parents]
    nodes[-1].backward()
    first_leaves = [leaf.grad for leaf in leaves]
    first_inner = [node.grad for node in inner]
    nodes[-1].backward()
    for leaf, first in zip(leaves, first_leaves):
        assert math.isclose(leaf.grad, 2 * first, rel_tol=1e-12, abs_tol=1e-9)
    assert [node.grad for node in inner] == first_inner


# --- accumulation ---------------------------------------------------------------------------------
def test_shared_node_gets_the_sum_of_its_paths():
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_leaves_accumulate_over_calls_and_inner_nodes_show_the_latest_call():
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    c.backward()
    assert (a.grad, b.grad, c.grad) == (8.0, 2.0, 1.0)
    a.zero_grad()
    c.backward()
    assert a.grad == 4.0


def test_inner_node_shows_the_adjoint_from_the_latest_root():
    x = Value(2.0)
    y = x * x
    (y * 3).backward()
    assert (y.grad, x.grad) == (3.0, 12.0)
    (y * 5).backward()
    assert (y.grad, x.grad) == (5.0, 12.0 + 20.0)


def test_backward_of_a_leaf_accumulates_one():
    x = Value(2.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_backward_interrupted_by_an_error_leaves_the_graph_ready_for_the_next_call():
    b, x = Value(2.0), Value(0.5)
    inner = (x * 3).tanh()
    z = b * inner
    b.grad = None  # the sweep fails here, before it reaches inner
    with pytest.raises(TypeError):
        z.backward()
    b.grad = 0.0
    z.backward()
    assert b.grad == math.tanh(1.5)
    assert math.isclose(x.grad, 2.0 * (1 - math.tanh(1.5) ** 2) * 3)


# --- depth and width ------------------------------------------------------------------------------
def test_deep_contracting_chain_has_the_geometric_series_as_gradient():
    # y_k = y_(k-1) / 2 + x  gives  dy_k/dx = 1 + 1/2 + ... + 1/2**(k-1) + 1/2**k = 2 - 1/2**k
    n = 100_000
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y * 0.5 + x
    y.backward()
    assert math.isclose(x.grad, 2.0 - 0.5**n, rel_tol=1e-12)
    assert math.isclose(y.data, 2.0, rel_tol=1e-12)


def test_chain_of_a_million_additions_has_gradient_n_plus_one():
    n = 1_000_000
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y + x
    y.backward()
    assert x.grad == n + 1
    assert y.parents[0].grad == 1.0


def test_one_node_with_a_hundred_thousand_parents():
    xs = [Value(float(i)) for i in range(100_000)]
    total = sum_values(xs)
    (total * total).backward()
    assert total.data == math.fsum(range(100_000))
    assert all(x.grad == 2 * total.data for x in xs)


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="CPython specializes bytecode only from 3.11 on"
)
def test_importing_autograd_leaves_the_backward_sweep_specialized():
    # CPython specializes bytecode only after a function's first calls; autograd makes those
    # calls at import, so a program's first backward() over a large graph runs the fast path.
    program = (
        "import dis; from autograd.backward import _backpropagate_floats as f; "
        "plain = [i.opname for i in dis.get_instructions(f)]; "
        "adaptive = [i.opname for i in dis.get_instructions(f, adaptive=True)]; "
        "print(sum(p != a for p, a in zip(plain, adaptive)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert int(completed.stdout) > 0
