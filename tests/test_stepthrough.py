"""steps(), explain() and the page step_through() writes, read as data and text (no browser)."""

import html
import io
import json
import math
import re
import shutil

import pytest
from hypothesis import given
from strategies import build, graphs_with_points

from autograd import (
    Value,
    dot,
    explain,
    max_values,
    step_through,
    steps,
    sum_values,
    topological_order,
)
from autograd.drawing.formulas import number
from autograd.drawing.steps import BackwardStep, ForwardStep

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="the Graphviz program is missing"
)


def neuron():
    """The README's neuron, with a handle on every node."""
    x1, w1 = Value(1.5, label="x1"), Value(-0.8, label="w1")
    x2, w2 = Value(-0.5, label="x2"), Value(0.4, label="w2")
    b = Value(0.3, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    total = x1w1 + x2w2
    z = total + b
    o = z.tanh()
    o.label = "o"
    return {name: node for name, node in locals().items()}


def split(records):
    forward = [r for r in records if isinstance(r, ForwardStep)]
    backward = [r for r in records if isinstance(r, BackwardStep)]
    assert records == forward + backward
    return forward, backward


def graph_of(graph_and_point):
    graph, xs = graph_and_point
    nodes = build(graph, [Value(x, label=f"x{i}") for i, x in enumerate(xs)])
    return nodes[-1]


# --- the records -----------------------------------------------------------------------------
@given(graphs_with_points())
def test_the_forward_pass_lists_every_node_once_after_the_nodes_it_is_computed_from(case):
    root = graph_of(case)
    forward, _ = split(steps(root))
    nodes = [record.node for record in forward]
    assert set(nodes) == set(topological_order(root)) and len(nodes) == len(set(nodes))
    position = {node: i for i, node in enumerate(nodes)}
    assert all(position[p] < position[n] for n in nodes for p in n.parents)
    assert all(record.value == record.node.data for record in forward)
    assert nodes[-1] is root


@given(graphs_with_points())
def test_the_backward_steps_take_every_edge_in_the_order_backward_visits_the_nodes(case):
    root = graph_of(case)
    _, backward = split(steps(root))
    seed, *edges = backward
    assert (seed.child, seed.parent, seed.after) == (None, root, 1.0)
    expected = [
        (visit, child, parent, local)
        for visit, child in enumerate(topological_order(root))
        for parent, local in zip(child.parents, child.local_derivatives)
    ]
    found = [(r.visit, r.child, r.parent, r.local) for r in edges]
    assert found == expected


@given(graphs_with_points())
def test_the_running_grads_end_bit_for_bit_where_backward_leaves_them(case):
    root = graph_of(case)
    _, backward = split(steps(root))
    last = {}
    for record in backward:
        assert record.product == record.local * record.upstream
        running = 0.0 if record.before is None else record.before
        assert record.before == last.get(record.parent)
        assert record.after == running + record.product
        last[record.parent] = record.after
    root.backward()
    assert {node: node.grad for node in topological_order(root)} == last
    # the upstream grad a node passes on is its finished grad
    assert all(r.upstream == r.child.grad for r in backward if r.child is not None)


def test_the_order_of_the_sums_decides_the_bits_and_it_is_backwards_order():
    a = Value(1.0, label="a")
    y = a * 1e16 + a * 1.0 - a * 1e16  # a.grad adds up 1e16, 1 and -1e16
    contributions = [r for r in steps(y) if isinstance(r, BackwardStep) and r.parent is a]
    y.backward()
    assert contributions[-1].after == a.grad
    assert math.fsum(r.product for r in contributions) != a.grad  # exact, so another answer


def test_steps_touch_no_grad():
    parts = neuron()
    parts["x1"].grad = 7.0
    steps(parts["o"])
    assert parts["x1"].grad == 7.0 and parts["o"].grad == 0.0


def test_steps_describe_a_fresh_backward_even_after_grads_have_accumulated():
    parts = neuron()
    parts["o"].backward()
    parts["o"].backward()  # leaves now hold twice their gradient
    final = {r.parent: r.after for r in steps(parts["o"]) if isinstance(r, BackwardStep)}
    assert final[parts["x1"]] == parts["x1"].grad / 2


def test_a_parent_has_no_running_grad_before_its_first_contribution():
    a = Value(2.0, label="a")
    b = a + a
    c = b * a
    lines = [str(r) for r in steps(c) if isinstance(r, BackwardStep) and r.parent is a]
    befores = [r.before for r in steps(c) if isinstance(r, BackwardStep) and r.parent is a]
    assert befores[0] is None and all(before is not None for before in befores[1:])
    assert lines == [
        "a.grad += n1 * n2.grad = 4 * 1 = 4",
        "a.grad += 1 * n1.grad = 1 * 2 = 2, so a.grad = 4 + 2 = 6",
        "a.grad += 1 * n1.grad = 1 * 2 = 2, so a.grad = 6 + 2 = 8",
    ]


def test_a_leaf_alone_is_one_forward_step_and_the_seed():
    x = Value(3.0, label="x")
    assert [str(r) for r in steps(x)] == ["x = 3", "x.grad = 1"]


def test_steps_refuse_what_is_not_a_value():
    with pytest.raises(TypeError, match="steps: expected a Value, got float 1.0"):
        steps(1.0)


# --- names and formulas ----------------------------------------------------------------------
def test_nodes_are_named_by_label_else_by_number_in_forward_order():
    x = Value(1.0, label="x")
    n1 = Value(2.0, label="n1")  # a label that looks like a made-up name keeps it
    twin = Value(3.0, label="x")
    y = (x * n1) + twin
    names = [r.name for r in steps(y) if isinstance(r, ForwardStep)]
    assert names == ["x", "n1", "n2", "x#2", "n3"]


def test_the_neuron_reads_as_the_chain_rule_with_real_numbers():
    parts = neuron()
    lines = [str(r) for r in steps(parts["o"])]
    parts["o"].backward()
    w1, n1 = parts["w1"], parts["x1w1"]
    assert "n1 = x1 * w1 = 1.5 * -0.8 = -1.2" in lines
    assert "o = tanh(n4) = tanh(-1.1) = -0.8005" in lines
    assert "n4.grad += (1 - o * o) * o.grad = 0.3592 * 1 = 0.3592" in lines
    expected = f"x1.grad += w1 * n1.grad = {w1.data:.4g} * {n1.grad:.4g} = {w1.data * n1.grad:.4g}"
    assert expected == "x1.grad += w1 * n1.grad = -0.8 * 0.3592 = -0.2874"
    assert expected in lines


@pytest.mark.parametrize(
    ("make", "formula"),
    [
        (lambda x, y: x * y, ("y", "x")),
        (lambda x, y: x / y, ("1 / y", "-n1 / y")),
        (lambda x, y: x**y, ("y * x ** (y - 1)", "n1 * log(x)")),
        (lambda x, y: x.exp(), ("n1",)),
        (lambda x, y: x.log(), ("1 / x",)),
        (lambda x, y: x.sigmoid(), ("n1 * (1 - n1)",)),
        (lambda x, y: x.sqrt(), ("0.5 / n1",)),
        (lambda x, y: x**3, ("3 * x ** 2",)),
        (lambda x, y: x**2, ("2 * x",)),
        (lambda x, y: x - y, ("1", "-1")),
        (lambda x, y: x.relu(), ("1",)),
        (lambda x, y: 3.0 * x, ("3",)),
    ],
)
def test_local_derivatives_are_written_from_the_rule_table(make, formula):
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    edges = [r for r in steps(make(x, y)) if isinstance(r, BackwardStep) and r.child is not None]
    assert tuple(r.local_formula for r in edges) == formula


NAMESPACE = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "erf": math.erf,
    "sin": math.sin,
    "cos": math.cos,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "softplus": lambda x: math.log1p(math.exp(x)),
    "inf": math.inf,
}


@given(graphs_with_points())
def test_every_local_formula_evaluates_to_the_local_derivative_the_node_recorded(case):
    root = graph_of(case)
    records = steps(root)
    values = {r.name: r.value for r in records if isinstance(r, ForwardStep)}
    for r in records:
        if isinstance(r, BackwardStep) and r.child is not None:
            shown = eval(r.local_formula, {**NAMESPACE, **values})  # numbers shown to 4 digits
            assert shown == pytest.approx(r.local, rel=1e-2, abs=1e-2), r.local_formula


@pytest.mark.parametrize(
    ("make", "line"),
    [
        (lambda x: x + 0.3, "n1 = x + 0.3 = -2 + 0.3 = -1.7"),
        (lambda x: 2 - x, "n1 = 2 - x = 2 - -2 = 4"),
        (lambda x: x * 3, "n1 = x * 3 = -2 * 3 = -6"),
        (lambda x: x / 4, "n1 = x / 4 = -2 / 4 = -0.5"),
        (lambda x: 5 / x, "n1 = 5 / x = 5 / -2 = -2.5"),
        (lambda x: x - 1.5, "n1 = x + (-1.5) = -2 + (-1.5) = -3.5"),
        (lambda x: x**2, "n1 = x**2 = (-2)**2 = 4"),
        (lambda x: 2**x, "n1 = 2**x = 2**(-2) = 0.25"),
        (lambda x: -x, "n1 = -x = -(-2) = 2"),
        (lambda x: x.leaky_relu(0.1), "n1 = leaky_relu(x) = leaky_relu(-2) = -0.2"),
        (lambda x: sum_values([x, x, 1.0]), "n2 = x + x + n1 = -2 + -2 + 1 = -3"),
        (
            lambda x: dot([x] * 5, [1.0, 2.0, 3.0, 4.0, 5.0]),
            "n1 = x * 1 + x * 2 + ... (2 more) + x * 5"
            " = -2 * 1 + -2 * 2 + ... (2 more) + -2 * 5 = -30",
        ),
        (lambda x: max_values([x, x * 3, 1.0]), "n3 = max(x, n1, n2) = max(-2, -6, 1) = 1"),
        (lambda x: x + 0.1 + 0.2, "n2 = n1 + 0.2 = -1.9 + 0.2 = -1.7"),
    ],
)
def test_forward_steps_write_the_operation_with_names_and_with_numbers(make, line):
    x = Value(-2.0, label="x")
    assert str([r for r in steps(make(x)) if isinstance(r, ForwardStep)][-1]) == line


# --- explain -----------------------------------------------------------------------------------
def test_explain_prints_the_records_under_a_heading_per_phase():
    parts = neuron()
    out = io.StringIO()
    explain(parts["o"], file=out)
    lines = out.getvalue().splitlines()
    records = steps(parts["o"])
    assert lines[0] == "forward pass, each node after its inputs:"
    assert lines[1 + len(split(records)[0])] == (
        "backward sweep, in the order backward() visits the nodes:"
    )
    assert [line.strip() for line in lines if line.startswith("  ")] == list(map(str, records))


def test_explain_refuses_a_graph_over_its_node_budget_and_says_what_to_do():
    x = Value(0.0)
    for _ in range(600):
        x = x + 1.0
    with pytest.raises(ValueError, match="601 nodes, more than max_nodes=500") as error:
        explain(x)
    assert "collapse='neuron'" in str(error.value)
    out = io.StringIO()
    explain(x, max_nodes=None, file=out)
    assert len(out.getvalue().splitlines()) == 2 + 601 + 601


def test_explain_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="explain: expected a Value"):
        explain([Value(1.0)])


# --- the page, read as text --------------------------------------------------------------------
def frames_of(page):
    match = re.search(r'<script type="application/json" id="stepthrough-data">(.*?)</script>',
                      page.html, re.S)  # fmt: skip
    return json.loads(match.group(1))


@needs_dot
def test_the_page_holds_everything_inline_and_asks_for_nothing():
    page = step_through(neuron()["o"])
    text = page.html
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"""\b(src|href)\s*=""", text)
    assert "url(" not in text and "@import" not in text and "fetch(" not in text
    # the only addresses are SVG's namespace names, which nothing loads
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


@needs_dot
def test_the_page_has_a_frame_per_step_of_a_graph_drawn_in_full():
    parts = neuron()
    page = step_through(parts["o"])
    data = frames_of(page)
    records = steps(parts["o"])
    assert [frame["lines"] for frame in data["frames"]] == [[str(r)] for r in records]
    assert data["forward"] == len(split(records)[0]) == 10
    assert page.steps == records


@needs_dot
def test_a_label_cannot_end_the_script_that_holds_the_frames():
    x = Value(1.0, label="</script><b>")
    page = step_through(x * 2.0)
    assert frames_of(page)["frames"][0]["lines"] == ["</script><b> = 1"]


@needs_dot
def test_a_collapsed_network_steps_box_by_box_and_keeps_the_budget():
    from nn import MLP

    y = MLP(2, [4, 4, 1], seed=0)([Value(0.5, label="x1"), Value(-1.0, label="x2")])
    with pytest.raises(ValueError, match=r"step_through: .*\(11 after collapse='neuron'\)"):
        step_through(y, collapse="neuron", max_nodes=10)
    data = frames_of(step_through(y, collapse="neuron"))
    forward = data["frames"][: data["forward"]]
    assert len(forward) == 2 + 9  # the two inputs, then each neuron as one box
    boxes = [f["current"] for f in forward if f["current"].startswith("g")]
    assert len(boxes) == len(set(boxes)) == 9
    assert len(data["frames"]) - data["forward"] == 9  # each box swept in one run


@needs_dot
def test_saving_writes_the_page_and_refuses_a_path_that_is_not_html(tmp_path):
    page = step_through(neuron()["o"])
    assert page.save(tmp_path / "backprop.html").read_text(encoding="utf-8") == page.html
    with pytest.raises(ValueError, match=r"'.*page.txt' should end in .html or .htm"):
        page.save(tmp_path / "page.txt")
    assert not (tmp_path / "page.txt").exists()


@needs_dot
def test_jupyter_shows_the_same_page_in_a_frame_of_its_own():
    page = step_through(neuron()["o"])
    shown = page._repr_html_()
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" .*</iframe>', shown)
    assert srcdoc and html.unescape(srcdoc.group(1)) == page.html


def test_step_through_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="step_through: expected a Value"):
        step_through("x")


def test_step_through_without_the_graphviz_program_says_how_to_install_it(monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        step_through(Value(1.0) * 2.0)


def test_numbers_are_shown_to_4_significant_digits_as_in_the_drawing():
    assert [number(x) for x in (0.35921, -1.2, 1e-7, 12345.6, 2.0)] == [
        "0.3592", "-1.2", "1e-07", "1.235e+04", "2",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "max_nodes, error, message",
    [
        ("500", TypeError, "must be an int .* got str '500'"),
        (2.5, TypeError, "must be an int .* got float 2.5"),
        (True, TypeError, "must be an int .* got bool True"),
        (0, ValueError, "must be at least 1 .* got 0"),
    ],
)
def test_explain_and_step_through_refuse_a_node_budget_that_is_not_a_count(
    max_nodes, error, message
):
    x = Value(2.0, label="x")
    for show in (explain, step_through):
        with pytest.raises(error, match=rf"{show.__name__}: max_nodes {message}"):
            show(x * x, max_nodes=max_nodes)


def test_explain_refuses_a_file_it_cannot_write_to():
    with pytest.raises(TypeError, match="explain: file must be an open text file .* str 'out.txt'"):
        explain(Value(2.0) * 2, file="out.txt")
