"""Linear, Sequential, the activation modules and Dropout; training and eval modes."""

import math
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import central_difference, close_to_difference

from autograd import Value, draw_graph, no_grad, sum_values
from nn import (
    GELU,
    MLP,
    BatchNorm1d,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)


# --- Linear ----------------------------------------------------------------------------------
def test_linear_computes_w_x_plus_b_row_by_row():
    layer = Linear(2, 2, seed=0)
    layer.load_state_dict(
        {"weight.0.0": 1.0, "weight.0.1": 2.0, "weight.1.0": -1.0, "weight.1.1": 0.5}
        | {"bias.0": 0.25, "bias.1": -3.0}
    )
    assert [y.data for y in layer([3.0, -1.0])] == [1.25, -6.5]


def test_a_linear_layer_returns_a_list_even_for_one_output():
    out = Linear(3, 1, seed=0)([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 1000))
def test_linear_weights_and_biases_start_within_one_over_root_fan_in(inputs, outputs, seed):
    layer = Linear(inputs, outputs, seed=seed)
    bound = 1.0 / math.sqrt(inputs)
    assert len(layer.parameters()) == outputs * (inputs + 1)
    assert all(abs(p.data) <= bound for p in layer.parameters())


def test_without_bias_a_linear_layer_has_only_its_weights():
    layer = Linear(3, 2, bias=False, seed=0)
    assert [name for name, _ in layer.named_parameters()] == [
        f"weight.{j}.{i}" for j in range(2) for i in range(3)
    ]
    assert layer.bias is None and repr(layer).endswith("bias=False)")
    assert [y.data for y in layer([0.0, 0.0, 0.0])] == [0.0, 0.0]


def test_a_seeded_linear_layer_is_repeatable_and_leaves_the_global_stream_alone():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    first, second = Linear(3, 2, seed=7), Linear(3, 2, seed=7)
    assert random.random() == expected
    assert first.state_dict() == second.state_dict()
    random.seed(1)
    unseeded = Linear(3, 2).state_dict()
    random.seed(1)
    assert Linear(3, 2).state_dict() == unseeded  # from the global random, as micrograd


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 1000))
def test_linear_gradients_match_central_differences(inputs, outputs, seed):
    layer = Linear(inputs, outputs, seed=seed)
    rng = random.Random(seed)
    x = [Value(rng.uniform(-2, 2)) for _ in range(inputs)]
    leaves = layer.parameters() + x

    def loss() -> Value:
        return sum_values([(k + 1.0) * y.tanh() for k, y in enumerate(layer(x))])

    loss().backward()
    at = [leaf.data for leaf in leaves]

    def loss_at(values):
        for leaf, value in zip(leaves, values):
            leaf.data = value
        with no_grad():
            result = loss().data
        for leaf, value in zip(leaves, at):
            leaf.data = value
        return result

    for i, leaf in enumerate(leaves):
        assert close_to_difference(leaf.grad, central_difference(loss_at, at, i), scale=10.0)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: Linear(-1, 2), ValueError, "in_features must be a positive int, got -1"),
        (lambda: Linear(2, 0), ValueError, "out_features must be a positive int, got 0"),
        (lambda: Linear(2.0, 1), TypeError, "in_features must be a positive int, got float"),
        (lambda: Linear(2, 1, bias=1), TypeError, "bias must be True or False, got 1"),
        (lambda: Linear(2, 1, seed="0"), TypeError, "seed must be an int or None"),
        (lambda: Sequential(Linear(1, 1), "relu"), TypeError, "part 1 must be a Module, got str"),
        (lambda: LeakyReLU("0.1"), TypeError, "negative_slope must be a real number"),
        (lambda: LeakyReLU(math.inf), ValueError, "negative_slope must be finite"),
        (lambda: Dropout(-0.1), ValueError, r"p must be in \[0, 1\], got -0.1"),
        (lambda: Dropout(1.5), ValueError, r"p must be in \[0, 1\], got 1.5"),
        (lambda: Dropout(math.nan), ValueError, "p must be finite, got nan"),
        (lambda: Dropout("0.5"), TypeError, "p must be a real number, got str"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    "x, error, message",
    [
        (
            [1.0, 2.0],
            ValueError,
            r"Linear\(in_features=3, out_features=2, bias=True\) takes 3 inputs, got 2",
        ),
        (1.0, TypeError, "takes one example, a list of 3 numbers, got float"),
        ([1.0, "a", 2.0], TypeError, "expected a real number, got str"),
    ],
)
def test_a_linear_layer_refuses_inputs_of_the_wrong_length_or_type(x, error, message):
    with pytest.raises(error, match=message):
        Linear(3, 2, seed=0)(x)


# --- Sequential ------------------------------------------------------------------------------
def small_net() -> Sequential:
    return Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 1, seed=1))


def test_sequential_applies_its_parts_in_order():
    net = small_net()
    x = [0.5, -1.0]
    assert net(x)[0].data == net[2](net[1](net[0](x)))[0].data


def test_sequential_is_indexable_iterable_and_sized_and_a_slice_is_a_sequential():
    net = small_net()
    assert len(net) == 3 and [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    assert net[-1] is net[2]
    head = net[:2]
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is net[0]


def test_sequential_names_parameters_by_position_as_pytorch():
    names = [name for name, _ in small_net().named_parameters()]
    assert names[:2] == ["0.weight.0.0", "0.weight.0.1"]
    assert names[-2:] == ["2.weight.0.2", "2.bias.0"] and len(names) == 9 + 4


def test_sequential_repr_lists_its_parts_as_pytorch_prints_them():
    assert repr(Sequential(Linear(2, 1), ReLU(), Dropout(0.25))) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=1, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.25)\n"
        ")"
    )


def test_graph_drawings_box_each_part_of_a_sequential_by_class_and_position():
    net = small_net()
    y = net([Value(0.5, label="x0"), Value(-1.0, label="x1")])[0]
    y.backward()
    source = draw_graph(y, collapse=2).source
    boxes = re.findall(r'label="(Sequential/\w+ \d)', source)
    assert sorted(boxes) == ["Sequential/Linear 0", "Sequential/Linear 2", "Sequential/Tanh 1"]
    assert len(re.findall("shape=box", draw_graph(y, collapse="Linear").source)) == 2


def test_forward_batch_of_a_sequential_equals_one_call_per_example():
    net = small_net()
    batch = [[0.5, -1.0], [2.0, 0.0], [-0.3, 0.7]]
    assert [y[0].data for y in net.forward_batch(batch)] == [net(x)[0].data for x in batch]


# --- activation modules ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, method",
    [
        (ReLU(), Value.relu),
        (Tanh(), Value.tanh),
        (Sigmoid(), Value.sigmoid),
        (Softplus(), Value.softplus),
        (SiLU(), Value.silu),
        (GELU(), Value.gelu),
        (LeakyReLU(0.3), lambda v: v.leaky_relu(0.3)),
    ],
    # A function's repr holds its address, which differs between pytest-xdist's workers.
    ids=lambda p: getattr(p, "__name__", None) or repr(p),
)
def test_an_activation_module_applies_its_function_to_each_entry(module, method):
    xs = [-1.5, 0.25, 2.0]
    assert [y.data for y in module(xs)] == [method(Value(x)).data for x in xs]
    assert module(Value(0.25)).data == method(Value(0.25)).data  # a single Value gives a Value
    with pytest.raises(TypeError, match="expected a Value or a real number, got str"):
        module(["a"])


def test_identity_returns_its_input():
    x = [Value(1.0), 2.0]
    assert Identity()(x) is x


# --- Dropout ---------------------------------------------------------------------------------
def test_dropout_zeroes_about_p_of_the_entries_and_scales_the_rest():
    drop = Dropout(0.3, seed=0)
    out = drop([1.0] * 10_000)
    dropped = sum(1 for y in out if y == 0.0)
    assert {y for y in out} == {0.0, 1.0 / 0.7}
    assert abs(dropped / 10_000 - 0.3) < 0.02
    assert abs(sum(out) / 10_000 - 1.0) < 0.03  # inverted dropout keeps the mean


def test_dropout_passes_gradients_only_through_what_it_kept():
    x = [Value(2.0) for _ in range(50)]
    out = Dropout(0.5, seed=1)(x)
    sum_values(out).backward()
    for v, y in zip(x, out):
        assert v.grad == (0.0 if y.data == 0.0 else 2.0)


def test_dropout_in_eval_mode_or_with_p_zero_is_the_identity():
    x = [Value(1.0), Value(-2.0)]
    assert Dropout(0.5, seed=0).eval()(x) == x
    assert Dropout(0.0, seed=0)(x) == x


def test_dropout_is_repeatable_with_a_seed_and_uses_the_global_random_without_one():
    first, second = Dropout(0.5, seed=3)([1.0] * 20), Dropout(0.5, seed=3)([1.0] * 20)
    assert first == second
    random.seed(2)
    unseeded = Dropout(0.5)([1.0] * 20)
    random.seed(2)
    assert Dropout(0.5)([1.0] * 20) == unseeded


def test_dropout_takes_one_example():
    with pytest.raises(TypeError, match="Dropout takes one example, a list, got float"):
        Dropout(0.5)(1.0)


# --- modes -----------------------------------------------------------------------------------
def test_modules_start_in_training_mode_and_train_and_eval_switch_every_part():
    net = Sequential(Linear(2, 2), Dropout(0.5), Sequential(BatchNorm1d(2), ReLU()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert [m.training for m in net.modules()] == [False] * 6
    assert net.train() is net and all(m.training for m in net.modules())
    net[2].train(False)
    assert (net.training, net[2].training, net[2][0].training) == (True, False, False)


def test_modules_lists_every_module_once_in_definition_order():
    shared = Linear(1, 1)
    net = Sequential(shared, ReLU(), shared)
    assert net.modules() == [net, shared, net[1]]
    assert len(MLP(2, [3, 1]).modules()) == 1 + 2 + 4


def test_train_wants_a_bool():
    with pytest.raises(TypeError, match="mode must be True or False, got 'no'"):
        Linear(1, 1).train("no")


def test_a_module_of_your_own_with_a_dropout_inside_follows_the_mode():
    class Noisy(Module):
        def __init__(self):
            self.drop = Dropout(0.9, seed=0)

        def forward(self, x):
            return self.drop(x)

    model = Noisy()
    assert 0.0 in model([1.0] * 20)
    assert model.eval()([1.0] * 20) == [1.0] * 20
