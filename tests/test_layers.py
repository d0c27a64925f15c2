"""Neuron, Layer and MLP: shapes, activations, validation, seeding, graphs and gradients."""

import math
import random
import re

import pytest
from strategies import central_difference, close_to_difference

from autograd import Value, no_grad, sum_values, topological_order
from nn import ACTIVATIONS, MLP, Layer, Neuron

SYMBOLS = {  # the operation each activation's node shows
    "relu": "ReLU",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "leaky_relu": "leaky_relu",
    "softplus": "softplus",
    "silu": "silu",
    "gelu": "gelu",
}


# --- shapes and parameters --------------------------------------------------------------------
@pytest.mark.parametrize(
    "nin, nouts, count",
    [(3, [4, 4, 1], 41), (2, [16, 16, 1], 337), (1, [1], 2), (5, [3], 18), (2, [1, 3], 9)],
)
def test_an_mlp_has_one_weight_per_input_and_one_bias_per_neuron(nin, nouts, count):
    assert len(MLP(nin, nouts, seed=0).parameters()) == count


def test_parameters_go_neuron_by_neuron_weights_then_bias_layer_by_layer():
    names = [name for name, _ in MLP(2, [2, 1], seed=0).named_parameters()]
    assert names == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
        "layers.0.neurons.1.w.1",
        "layers.0.neurons.1.b",
        "layers.1.neurons.0.w.0",
        "layers.1.neurons.0.w.1",
        "layers.1.neurons.0.b",
    ]
    assert "layers.0.neurons.3.w.1" in dict(MLP(2, [16, 1], seed=0).named_parameters())


def test_one_output_is_a_value_and_several_are_a_list():
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    outputs = MLP(2, [3, 4], seed=0)([1.0, 2.0])
    assert isinstance(outputs, list) and len(outputs) == 4
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    assert len(Layer(2, 5)([1.0, 2.0])) == 5


def test_inputs_may_be_floats_ints_or_values_with_the_same_result():
    model = MLP(2, [4, 1], seed=0)
    as_floats = model([1.0, -2.0]).data
    assert model([1, -2]).data == as_floats
    assert model((Value(1.0), Value(-2.0))).data == as_floats


def test_a_hidden_layer_of_one_neuron_feeds_the_next_layer():
    model = MLP(2, [1, 3], activation="tanh", seed=0)
    hidden = model.layers[0]([0.5, -0.5])
    assert [y.data for y in model([0.5, -0.5])] == [y.data for y in model.layers[1]([hidden])]


def test_biases_start_at_zero_and_weights_within_minus_one_to_one():
    model = MLP(4, [8, 8, 1], seed=0)
    for layer in model.layers:
        for neuron in layer.neurons:
            assert neuron.b.data == 0.0
            assert all(-1.0 <= w.data <= 1.0 for w in neuron.w)


# --- what a neuron computes -------------------------------------------------------------------
def test_a_neuron_builds_one_dot_node_then_adds_its_bias_then_applies_its_activation():
    neuron = Neuron(3, activation="tanh")
    x = [Value(0.1), Value(0.2), Value(-0.3)]
    y = neuron(x)
    (added,) = y.parents
    dot_node, bias = added.parents
    assert (y.op, added.op, dot_node.op) == ("tanh", "+", "dot")
    assert bias is neuron.b and dot_node.parents == (*neuron.w, *x)
    expected = math.tanh(sum(w.data * xi.data for w, xi in zip(neuron.w, x)))
    assert y.data == pytest.approx(expected, rel=1e-15)


def test_an_mlp_graph_has_three_nodes_per_hidden_neuron_and_two_per_output_neuron():
    model = MLP(2, [3, 1], seed=0)
    nodes = topological_order(model([Value(1.0), Value(2.0)]))
    assert len(nodes) == 2 + 13 + 3 * 3 + 2  # inputs, parameters, (dot, +, ReLU) x 3, dot and +


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_each_activation_name_applies_that_method_of_value(name):
    neuron = Neuron(2, activation=name, rng=random.Random(0))
    neuron.b.data = -0.3
    y = neuron([0.7, -0.4])
    pre = sum(w.data * x for w, x in zip(neuron.w, [0.7, -0.4])) - 0.3
    assert y.op == SYMBOLS[name]
    assert y.data == pytest.approx(getattr(Value(pre), name)().data, rel=1e-14)


def test_linear_applies_no_activation():
    y = Neuron(2, activation="linear")([1.0, 1.0])
    assert y.op == "+"


def test_micrograd_nonlin_switch_picks_relu_or_linear():
    assert Neuron(2).activation == "relu" and Neuron(2, nonlin=False).activation == "linear"
    assert Layer(2, 3, nonlin=False).activation == "linear"
    assert Neuron(2, nonlin=False, activation="tanh").activation == "tanh"  # the name wins


def test_by_default_hidden_layers_are_relu_and_the_last_is_linear():
    model = MLP(2, [4, 4, 1], seed=0)
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert model([1.0, 1.0]).op == "+"


def test_one_activation_name_is_for_hidden_layers_and_a_list_names_every_layer():
    tanh = MLP(2, [4, 4, 2], activation="tanh", seed=0)
    assert [layer.activation for layer in tanh.layers] == ["tanh", "tanh", "linear"]
    listed = MLP(2, [4, 4, 2], activation=["gelu", "silu", "sigmoid"], seed=0)
    assert [layer.activation for layer in listed.layers] == ["gelu", "silu", "sigmoid"]
    assert [y.op for y in listed([1.0, 1.0])] == ["sigmoid", "sigmoid"]


# --- readable reprs ---------------------------------------------------------------------------
def test_reprs_read_like_the_calls_that_build_them():
    assert repr(MLP(2, [16, 16, 1])) == "MLP(2, [16, 16, 1], activation='relu')"
    assert repr(Layer(2, 16)) == "Layer(2, 16, activation='relu')"
    assert repr(Neuron(2)) == "Neuron(2, activation='relu')"
    assert repr(Neuron(2, nonlin=False)) == "Neuron(2, activation='linear')"
    assert (
        repr(MLP(3, [2, 1], activation=["tanh", "linear"], init="he"))
        == "MLP(3, [2, 1], activation=['tanh', 'linear'], init='he')"
    )


# --- bad arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: Neuron(0), ValueError, "nin must be a positive int, got 0"),
        (lambda: Neuron(-2), ValueError, "nin must be a positive int, got -2"),
        (lambda: Neuron(2.0), TypeError, "nin must be a positive int, got float 2.0"),
        (lambda: Neuron("2"), TypeError, "nin must be a positive int, got str '2'"),
        (lambda: Neuron(True), TypeError, "nin must be a positive int, got bool True"),
        (lambda: Layer(2, 0), ValueError, "nout must be a positive int, got 0"),
        (lambda: Layer(2, None), TypeError, "nout must be a positive int, got NoneType"),
        (lambda: MLP(0, [1]), ValueError, "nin must be a positive int, got 0"),
        (lambda: MLP(2, []), ValueError, "at least one layer size"),
        (lambda: MLP(2, 3), TypeError, "nouts must be a list of layer sizes, got int 3"),
        (lambda: MLP(2, [4, 0, 1]), ValueError, r"nouts\[1\] must be a positive int, got 0"),
        (lambda: MLP(2, [4, 1.5]), TypeError, r"nouts\[1\] must be a positive int, got float"),
        (lambda: MLP(2, [1], seed="a"), TypeError, "seed must be an int or None, got str 'a'"),
        (lambda: MLP(2, [1], seed=True), TypeError, "seed must be an int or None, got bool"),
    ],
)
def test_constructors_refuse_bad_sizes_and_seeds_naming_the_value(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_an_unknown_activation_is_refused_with_the_known_names():
    builds = [
        lambda: Neuron(2, activation="swish"),
        lambda: Layer(2, 3, activation="swish"),
        lambda: MLP(2, [1], activation="swish"),  # a one-layer MLP uses no hidden activation
        lambda: MLP(2, [3, 1], activation=["relu", "swish"]),
    ]
    for build in builds:
        with pytest.raises(ValueError, match="unknown activation 'swish'") as error:
            build()
        assert all(repr(name) in str(error.value) for name in ACTIVATIONS)
    with pytest.raises(TypeError, match="activation must be a name, got int 3"):
        Neuron(2, activation=3)
    with pytest.raises(TypeError, match="activation must be a name or a list of names"):
        MLP(2, [3, 1], activation=None)


def test_an_activation_list_of_the_wrong_length_names_both_lengths():
    with pytest.raises(ValueError, match="activation lists 1 names for 2 layers"):
        MLP(2, [3, 1], activation=["tanh"])


@pytest.mark.parametrize(
    "module, prefix",
    [
        (Neuron(3), r"Neuron\(3, activation='relu'\)"),
        (Layer(3, 2), r"Layer\(3, 2, activation='relu'\)"),
        (MLP(3, [2, 1]), r"MLP\(3, \[2, 1\], activation='relu'\)"),
    ],
)
def test_inputs_of_the_wrong_length_are_refused_naming_both_lengths(module, prefix):
    with pytest.raises(ValueError, match=prefix + " takes 3 inputs, got 2"):
        module([1.0, 2.0])
    with pytest.raises(ValueError, match=prefix + " takes 3 inputs, got 4"):
        module([1.0, 2.0, 3.0, 4.0])


def test_inputs_that_are_not_numbers_are_refused_by_type():
    with pytest.raises(TypeError, match="expected a real number, got str 'a'"):
        MLP(2, [1])([1.0, "a"])


# --- seeds -----------------------------------------------------------------------------------
def test_the_same_seed_builds_the_same_model_and_another_seed_another():
    same = MLP(3, [5, 1], seed=4).state_dict() == MLP(3, [5, 1], seed=4).state_dict()
    assert same and MLP(3, [5, 1], seed=4).state_dict() != MLP(3, [5, 1], seed=5).state_dict()


def test_without_a_seed_weights_come_from_the_global_random_module():
    random.seed(1337)
    first = MLP(2, [4, 1]).state_dict()
    random.seed(1337)
    assert MLP(2, [4, 1]).state_dict() == first
    random.seed(1337)
    assert MLP(2, [4, 1]).state_dict() == first != MLP(2, [4, 1]).state_dict()


def test_a_seeded_model_leaves_the_global_random_stream_alone():
    random.seed(3)
    expected = random.random()
    random.seed(3)
    MLP(2, [8, 1], seed=0)
    assert random.random() == expected


# --- scopes and drawing -----------------------------------------------------------------------
def scope_names(node):
    return [scope.name for scope in node.scope.path]


def test_every_node_knows_the_mlp_layer_and_neuron_that_made_it():
    model = MLP(2, [3, 2], seed=0)
    outputs = model([1.0, 2.0])
    assert scope_names(outputs[1]) == ["MLP", "layer 1", "neuron 1"]
    assert outputs[1].scope.owner is model.layers[1].neurons[1]
    hidden = outputs[0].parents[0].parents[3 + 1]  # output 0's dot: 3 weights, then h0, h1, h2
    assert scope_names(hidden) == ["MLP", "layer 0", "neuron 1"]


def test_modules_used_on_their_own_are_scoped_by_class_name():
    assert scope_names(Layer(2, 2)([1.0, 2.0])[0]) == ["Layer", "neuron 0"]
    assert scope_names(Neuron(2)([1.0, 2.0])) == ["Neuron"]


def test_parameters_are_made_outside_any_scope():
    assert all(p.scope is None for p in MLP(2, [3, 1], seed=0).parameters())


def test_draw_graph_collapses_a_real_mlp_into_one_box_per_neuron():
    pytest.importorskip("graphviz")
    from autograd import draw_graph

    model = MLP(2, [3, 1], seed=0)
    y = model([Value(0.5, label="x0"), Value(1.5, label="x1")])
    y.backward()
    source = draw_graph(y, collapse="neuron").source
    boxes = re.findall(r'^\tg\d+ \[label="(.*?)" shape=box\]$', source, re.MULTILINE)
    # hidden neuron: 2 weights, bias, dot, +, ReLU; output neuron: 3 weights, bias, dot, +
    assert sorted(boxes) == [
        r"MLP/layer 0/neuron 0\n6 nodes",
        r"MLP/layer 0/neuron 1\n6 nodes",
        r"MLP/layer 0/neuron 2\n6 nodes",
        r"MLP/layer 1/neuron 0\n6 nodes",
    ]
    records = re.findall(r"^\tv\d+ \[label=\"\{ (\w+) \|", source, re.MULTILINE)
    assert sorted(records) == ["x0", "x1"]
    assert len(re.findall(r"^\t\w+ -> \w+$", source, re.MULTILINE)) == 2 * 3 + 3


# --- gradients --------------------------------------------------------------------------------
def squared_error(model, x, targets):
    outputs = model(x)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return sum_values([(y - t) ** 2 for y, t in zip(outputs, targets)])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_parameter_and_input_gradients_match_central_differences(activation):
    model = MLP(3, [4, 3, 2], activation=activation, seed=1)
    for p in model.parameters():
        p.data += 0.05  # biases away from 0, so no ReLU input sits on its kink
    x, targets = [Value(0.3), Value(-1.1), Value(0.8)], [0.5, -0.25]
    squared_error(model, x, targets).backward()
    leaves = model.parameters() + x
    at = [leaf.data for leaf in leaves]

    def loss_at(values):
        for leaf, value in zip(leaves, values):
            leaf.data = value
        with no_grad():
            loss = squared_error(model, x, targets).data
        for leaf, value in zip(leaves, at):
            leaf.data = value
        return loss

    for i, leaf in enumerate(leaves):
        difference = central_difference(loss_at, at, i)
        assert close_to_difference(leaf.grad, difference, scale=10.0), (i, leaf.grad, difference)


def torch_forward(torch, model, x):
    """The same network in PyTorch float64: one weight matrix and bias vector per layer."""
    F = torch.nn.functional
    functions = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "leaky_relu": F.leaky_relu,
        "softplus": lambda t: F.softplus(t, threshold=40.0),  # exact switch, as ours
        "silu": F.silu,
        "gelu": F.gelu,
        "linear": lambda t: t,
    }
    weights = []
    for layer in model.layers:
        matrix = [[w.data for w in neuron.w] for neuron in layer.neurons]
        biases = [neuron.b.data for neuron in layer.neurons]
        weights.append(
            (
                torch.tensor(matrix, dtype=torch.float64, requires_grad=True),
                torch.tensor(biases, dtype=torch.float64, requires_grad=True),
            )
        )
    h = x
    for layer, (matrix, bias) in zip(model.layers, weights):
        h = functions[layer.activation](matrix @ h + bias)
    return h, weights


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_outputs_and_gradients_match_a_pytorch_float64_mlp_with_the_same_weights(activation):
    torch = pytest.importorskip("torch")
    model = MLP(3, [5, 4, 2], activation=activation, seed=2)
    inputs = [0.4, -0.9, 1.3]
    x = [Value(v) for v in inputs]
    outputs = model(x)
    sum_values([y * (k + 1.0) for k, y in enumerate(outputs)]).backward()

    x_torch = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    out_torch, weights = torch_forward(torch, model, x_torch)
    (out_torch * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()

    close = lambda ours, theirs: ours == pytest.approx(theirs.tolist(), rel=1e-9, abs=1e-12)
    assert close([y.data for y in outputs], out_torch.detach())
    assert close([v.grad for v in x], x_torch.grad)
    for layer, (matrix, bias) in zip(model.layers, weights):
        assert close([w.grad for n in layer.neurons for w in n.w], matrix.grad.flatten())
        assert close([n.b.grad for n in layer.neurons], bias.grad)
