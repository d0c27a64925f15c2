"""Graph drawing: the DOT a graph becomes, collapsing scopes, gradient colours, rendering."""

import json
import math
import random
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, dot, draw_graph, graph_scope, save_graph, topological_order

pytest.importorskip("graphviz")
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="the Graphviz program is missing"
)

NODE = re.compile(r"^\t(\w+) \[(.*)\]$", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)$", re.MULTILINE)


def nodes(graph, prefix):
    """{id: attribute text} of the drawn nodes whose id is `prefix` and a number."""
    found = {name: attrs for name, attrs in NODE.findall(graph.source)}
    return {name: attrs for name, attrs in found.items() if re.fullmatch(prefix + r"\d+", name)}


def attribute(attrs, key):
    match = re.search(key + r'=("(?:[^"\\]|\\.)*"|\S+)', attrs)
    return match.group(1).strip('"') if match else None


def labels(graph, prefix="v"):
    return [attribute(attrs, "label") for attrs in nodes(graph, prefix).values()]


def edges(graph):
    return EDGE.findall(graph.source)


def fill_of(graph, label_text):
    """The fill colour of the one record whose label contains `label_text`."""
    (attrs,) = [a for a in nodes(graph, "v").values() if label_text in attribute(a, "label")]
    return attribute(attrs, "fillcolor")


def rgb(color):
    return tuple(bytes.fromhex(color.lstrip("#")))


class Owner:
    """Stands in for an nn module: scopes are keyed by their owner object."""


def make_mlp(n_in, sizes, seed=0):
    """Weights made outside any scope, as nn makes its parameters; returns a scoped forward pass."""
    rng = random.Random(seed)
    shapes = list(zip([n_in] + sizes[:-1], sizes))
    layers = [
        [([Value(rng.uniform(-1, 1)) for _ in range(n)], Value(0.1), Owner()) for _ in range(m)]
        for n, m in shapes
    ]
    owners = (Owner(), [Owner() for _ in layers])

    def forward(x):
        with graph_scope(owners[0], "MLP"):
            for i, layer in enumerate(layers):
                with graph_scope(owners[1][i], f"layer {i}"):
                    outs = []
                    for j, (w, b, owner) in enumerate(layer):
                        with graph_scope(owner, f"neuron {j}"):
                            act = dot(w, x) + b
                            outs.append(act.relu() if i < len(layers) - 1 else act)
                    x = outs
        return x[0]

    return forward


def mlp_output(n_in, sizes):
    y = make_mlp(n_in, sizes)([Value(0.5 + i, label=f"x{i}") for i in range(n_in)])
    y.backward()
    return y


# --- the DOT of small expressions ------------------------------------------------------------
def test_a_times_b_plus_c_draws_5_values_2_operations_and_6_edges():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    graph = draw_graph(a * b + c)
    assert len(nodes(graph, "v")) == 5
    assert len(nodes(graph, "op")) == 2
    assert len(edges(graph)) == 6


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("+*-t"), st.integers(0, 99), st.integers(0, 99))))
def test_every_operation_gets_one_node_and_every_parent_one_arrow(steps):
    made = [Value(0.5), Value(-2.0)]
    for op, i, j in steps:
        a, b = made[i % len(made)], made[j % len(made)]
        made.append({"+": a + b, "*": a * b, "-": a - b, "t": a.tanh()}[op])
    graph = draw_graph(made[-1], max_nodes=None)
    order = topological_order(made[-1])
    results = [node for node in order if node.parents]
    assert len(nodes(graph, "v")) == len(order)
    assert len(nodes(graph, "op")) == len(results)
    assert len(edges(graph)) == len(results) + sum(len(node.parents) for node in results)


def test_leaves_have_no_operation_node_and_every_result_has_one():
    x = Value(1.5, label="x")
    assert nodes(draw_graph(x), "op") == {} and edges(draw_graph(x)) == []
    graph = draw_graph((x * x).tanh())
    ops = nodes(graph, "op")
    assert sorted(attribute(attrs, "label") for attrs in ops.values()) == ["*", "tanh"]
    assert {target for source, target in edges(graph) if source in ops} == {"v0", "v1"}


def test_records_show_label_data_and_grad_to_4_significant_digits():
    x = Value(math.pi, label="x")
    y = x * x
    y.backward()
    assert r"{ x | data 3.142 | grad 6.283 }" in labels(draw_graph(y))
    assert r"{ data 9.87 | grad 1 }" in labels(draw_graph(y))
    assert r"{ x | data 3.142 }" in labels(draw_graph(y, show_grad=False))


def test_vertical_layouts_put_the_fields_side_by_side_without_braces():
    x = Value(2.0, label="x")
    graph = draw_graph(x.exp(), rankdir="TB")
    assert "rankdir=TB" in graph.source
    assert "x | data 2 | grad 0" in labels(graph)


def test_record_special_characters_in_labels_are_escaped():
    x = Value(1.0, label='a|b{c}<d>"e"\\f')
    (label,) = labels(draw_graph(x))
    assert label == r"{ a\|b\{c\}\<d\>\"e\"\\f | data 1 | grad 0 }"


def test_operation_nodes_show_the_rule_symbol():
    x = Value(2.0)
    graph = draw_graph((x**3).sigmoid() - x)
    assert sorted(labels(graph, "op")) == sorted(["**3.0", "sigmoid", "-"])


def test_a_value_used_twice_sends_two_arrows_into_its_operation():
    a = Value(1.0, label="a")
    graph = draw_graph(a + a)
    assert edges(graph).count(("v1", "op0")) == 2


def test_show_order_numbers_nodes_in_the_order_backward_visits_them():
    a = Value(1.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    c.backward()
    found = labels(draw_graph(c, show_order=True))
    assert sorted(found) == sorted(
        [
            "{ #1 | c | data 4 | grad 1 }",
            "{ #2 | b | data 2 | grad 2 }",
            "{ #3 | a | data 1 | grad 4 }",
        ]
    )


def test_gradients_that_are_values_are_drawn_as_numbers():
    x = Value(3.0, label="x")
    (x * x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert "{ x | data 3 | grad 6 }" in labels(draw_graph(x * x))


def test_draw_graph_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match="expected a Value"):
        draw_graph(1.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="sideways")
    for collapse in (0, -1, "", 1.5, True):
        with pytest.raises(ValueError, match="collapse"):
            draw_graph(Value(1.0), collapse=collapse)


# --- collapsed views ----------------------------------------------------------------------------
def test_collapse_by_neuron_draws_one_box_per_neuron_holding_its_weights():
    graph = draw_graph(mlp_output(2, [3, 1]), collapse="neuron")
    # layer 0 neuron: 2 weights, bias, dot, +, ReLU; layer 1 neuron: 3 weights, bias, dot, +
    assert sorted(labels(graph, "g")) == [
        r"MLP/layer 0/neuron 0\n6 nodes",
        r"MLP/layer 0/neuron 1\n6 nodes",
        r"MLP/layer 0/neuron 2\n6 nodes",
        r"MLP/layer 1/neuron 0\n6 nodes",
    ]
    assert sorted(label.split(" | ")[0] for label in labels(graph)) == ["{ x0", "{ x1"]
    assert nodes(graph, "op") == {}
    assert len(edges(graph)) == 2 * 3 + 3  # each input into each first-layer neuron, then 3 on


def test_collapse_by_layer_draws_one_box_per_layer():
    graph = draw_graph(mlp_output(2, [3, 1]), collapse="layer")
    assert sorted(labels(graph, "g")) == [r"MLP/layer 0\n18 nodes", r"MLP/layer 1\n6 nodes"]
    assert len(nodes(graph, "v")) == 2
    assert len(edges(graph)) == 3


def test_boxes_are_declared_in_reading_order_with_numbers_compared_as_numbers():
    graph = draw_graph(mlp_output(2, [16, 1]), collapse="neuron")
    names = [label.split("\\n")[0] for label in labels(graph, "g")]
    expected = [f"MLP/layer 0/neuron {j}" for j in range(16)] + ["MLP/layer 1/neuron 0"]
    assert names == expected
    # the arrows into a box keep their order, so Graphviz cannot rotate a layer's neurons
    lines = graph.source.splitlines()
    opened = [i for i, line in enumerate(lines) if line.strip() == "node [ordering=in]"]
    closed = [i for i, line in enumerate(lines) if line.strip() == 'node [ordering=""]']
    boxes = [i for i, line in enumerate(lines) if line.startswith("\tg") and "[label=" in line]
    assert len(opened) == len(closed) == 1 and opened[0] < min(boxes) and max(boxes) < closed[0]
    into_last = [source for source, target in edges(graph) if target == "g16"]
    assert into_last == [f"g{j}" for j in range(16)]


@needs_dot
def test_boxes_of_a_16_neuron_layer_are_drawn_top_to_bottom_in_index_order():
    # Before ordering=in, dot stacked neurons 10-15 above 0-9 in both hidden layers.
    graph = draw_graph(mlp_output(2, [16, 16, 1]), collapse="neuron")
    drawn = json.loads(graph.pipe(format="json0"))["objects"]
    heights = {o["label"].split("\\n")[0]: float(o["pos"].split(",")[1]) for o in drawn}
    for layer in (0, 1):
        column = [heights[f"MLP/layer {layer}/neuron {j}"] for j in range(16)]
        assert column == sorted(column, reverse=True)  # y grows upwards in Graphviz


def test_a_tuple_of_names_boxes_each_node_by_the_first_that_matches():
    y = mlp_output(2, [3, 2, 1])
    graph = draw_graph(y, collapse=("layer 1", "neuron"))
    names = [label.split("\\n")[0] for label in labels(graph, "g")]
    assert names == [
        "MLP/layer 0/neuron 0", "MLP/layer 0/neuron 1", "MLP/layer 0/neuron 2",
        "MLP/layer 1", "MLP/layer 2/neuron 0",
    ]  # fmt: skip
    assert draw_graph(y, collapse=(2,)).source == draw_graph(y, collapse=2).source
    assert draw_graph(y, collapse=("layer 1", 1)).source.count("shape=box") == 2
    for collapse in ((), ("neuron", 0), ("neuron", "")):
        with pytest.raises(ValueError, match="tuple of them"):
            draw_graph(y, collapse=collapse)


def test_collapse_by_depth_is_the_same_as_by_the_scope_name_at_that_depth():
    y = mlp_output(2, [3, 1])
    assert draw_graph(y, collapse=3).source == draw_graph(y, collapse="neuron").source
    assert draw_graph(y, collapse=2).source == draw_graph(y, collapse="layer").source
    graph = draw_graph(y, collapse=1)
    assert labels(graph, "g") == [r"MLP\n24 nodes"] and len(nodes(graph, "v")) == 2


def test_collapse_by_an_exact_scope_name_boxes_only_that_scope():
    graph = draw_graph(mlp_output(2, [3, 1]), collapse="layer 1")
    assert labels(graph, "g") == [r"MLP/layer 1\n6 nodes"]
    assert len(nodes(graph, "v")) == 2 + 9 + 9  # inputs, layer 0's parameters and its nodes


def test_repeated_calls_of_a_module_share_its_boxes_and_unscoped_nodes_stay_records():
    forward = make_mlp(2, [3, 1])
    loss = sum((forward([Value(x), Value(-x)]) - 1.0) ** 2 for x in (0.5, 1.0, 2.0))
    graph = draw_graph(loss, collapse="neuron")
    assert len(nodes(graph, "g")) == 4
    # 6 inputs; per call y - 1 and its square; 0 + the first square, then + the other two
    assert len(nodes(graph, "v")) == 6 + 3 * 2 + 3
    assert len(set(edges(graph))) == len(edges(graph))


# --- the node budget ------------------------------------------------------------------------------
def test_a_graph_over_the_node_budget_is_refused_with_its_size_and_the_ways_out():
    x = Value(0.0)
    for _ in range(600):
        x = x + 1.0
    with pytest.raises(ValueError, match="601 nodes") as error:
        draw_graph(x)
    assert "max_nodes=500" in str(error.value) and "collapse=" in str(error.value)
    assert len(nodes(draw_graph(x, max_nodes=None), "v")) == 601


def test_collapsing_makes_a_large_network_fit_the_budget():
    y = mlp_output(4, [32, 32, 1])  # 1249 parameters
    with pytest.raises(ValueError, match="nodes"):
        draw_graph(y)
    assert len(nodes(draw_graph(y, collapse="neuron"), "g")) == 65


def test_the_budget_counts_boxes_and_records_drawn_after_collapsing():
    y = mlp_output(2, [3, 1])
    assert len(nodes(draw_graph(y, collapse="neuron", max_nodes=6), "g")) == 4  # and 2 inputs
    with pytest.raises(ValueError, match=r"\(6 after collapse='neuron'\)"):
        draw_graph(y, collapse="neuron", max_nodes=5)


# --- gradient colours ---------------------------------------------------------------------------
def test_larger_gradients_are_drawn_hotter_than_tiny_ones():
    tiny, large = Value(1.0, label="tiny"), Value(1.0, label="large")
    y = 1e-6 * tiny + 100.0 * large
    y.backward()
    graph = draw_graph(y, color_by_grad=True)
    hot, cold = rgb(fill_of(graph, "large")), rgb(fill_of(graph, "tiny"))
    assert hot[0] > cold[0] + 100 and hot[2] < cold[2]


def test_zero_and_nan_gradients_get_colours_of_their_own():
    unused, broken = Value(1.0, label="unused"), Value(1.0, label="broken")
    fine = Value(1.0, label="fine")
    y = unused * 0.0 + broken + fine
    y.backward()
    broken.grad = math.nan
    graph = draw_graph(y, color_by_grad=True)
    zero, nan, one = fill_of(graph, "unused"), fill_of(graph, "broken"), fill_of(graph, "fine")
    assert len({zero, nan, one}) == 3


def test_the_gradient_legend_gives_the_scale_and_this_graphs_range():
    a = Value(1.0)
    y = 1e-6 * a
    y.backward()
    graph = draw_graph(y, color_by_grad=True)
    assert "|grad| in this graph: 1e-06 to 1" in graph.source
    assert "&le;1e-6" in graph.source and "&ge;1e3" in graph.source
    assert "legend" not in draw_graph(y).source and "fillcolor" not in draw_graph(y).source


def test_a_box_is_coloured_by_the_largest_gradient_inside_it():
    y = mlp_output(2, [3, 1])
    graph = draw_graph(y, collapse=1, color_by_grad=True)
    largest = Value(0.0, label="largest")
    largest.grad = max(abs(node.grad) for node in topological_order(y) if not node.label)
    (box,) = nodes(graph, "g").values()
    assert largest.grad > 1.0 and f"max |grad| {largest.grad:.4g}" in attribute(box, "label")
    assert attribute(box, "fillcolor") == fill_of(draw_graph(largest, color_by_grad=True), "")


# --- rendering and files -------------------------------------------------------------------------
@needs_dot
def test_save_graph_writes_svg_that_parses_and_shows_the_labels(tmp_path):
    a, b = Value(2.0, label="a"), Value(-3.0, label='b|{c}<d>"e"\\f')
    path = save_graph(a * b, tmp_path / "graph.svg")
    texts = [node.text for node in ET.parse(path).iter() if node.tag.endswith("text")]
    assert {"a", 'b|{c}<d>"e"\\f', "data -6", "*"} <= set(texts)


@needs_dot
def test_save_graph_writes_png_with_its_signature_and_a_plausible_size(tmp_path):
    path = save_graph(Value(2.0, label="x").tanh(), tmp_path / "graph.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 10 and height > 10


@needs_dot
def test_the_returned_digraph_renders_svg_by_default_and_shows_in_jupyter(tmp_path):
    graph = draw_graph(Value(2.0, label="x").exp())
    assert graph.render(tmp_path / "graph").endswith(".svg")
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]
    assert save_graph(Value(1.0), tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")


def test_dot_files_need_no_graphviz_program(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    y = Value(2.0, label="x") * 3.0
    path = save_graph(y, tmp_path / "graph.dot", collapse=1)
    assert path.read_text() == draw_graph(y, collapse=1).source


def test_rendering_without_the_graphviz_program_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    graph = draw_graph(Value(2.0))
    for render in (
        lambda: save_graph(Value(2.0), tmp_path / "graph.svg"),
        lambda: graph.render(tmp_path / "graph"),
        lambda: graph._repr_mimebundle_(),
    ):
        with pytest.raises(RuntimeError, match="apt-get install graphviz") as error:
            render()
        assert "brew install graphviz" in str(error.value)


def test_save_graph_refuses_a_suffix_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match=r"'\.jpg'"):
        save_graph(Value(1.0), tmp_path / "graph.jpg")


def test_without_the_graphviz_package_drawing_says_to_install_the_viz_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[viz\]"'):
        draw_graph(Value(1.0))


def test_importing_autograd_does_not_import_graphviz():
    code = "import sys, autograd; print('graphviz' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
