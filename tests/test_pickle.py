"""Graphs, models and optimizers survive pickle and copy; a tape refuses them, saying what to do.

autograd/pickling.py saves a graph as one flat list of records (no recursion), rules by their
registered names (autograd.rules.register).
"""

from __future__ import annotations

import copy
import gc
import io
import pickle
import sys
import threading

import pytest
from hypothesis import given, settings
from strategies import build, feed_forward_models, graphs_with_points, outputs_of

from autograd import Value, gradients, graph_scope, rules, topological_order
from autograd.pickling import PickledOwner
from nn import MLP
from nn.optim import SGD, Adam


def round_trip(obj, protocol=pickle.HIGHEST_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol))


def describe(root: Value) -> list[tuple]:
    """Everything a node holds, node by node in topological order, parents by position."""
    order = topological_order(root)
    position = {id(node): i for i, node in enumerate(order)}
    return [
        (
            node.data,
            node.grad,
            node.label,
            node.op,
            None if node.rule is None else (node.rule.name, node.rule.constant),
            node.local_derivatives,
            tuple(position[id(parent)] for parent in node.parents),
        )
        for node in order
    ]


def small_graph() -> tuple[Value, Value, Value]:
    x, y = Value(2.0, label="x"), Value(-0.5, label="y")
    z = (x * y + x**3).tanh() + (2**x / y).exp() + abs(y).sqrt()
    z.label = "z"
    return x, y, z


# --- round trips ----------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_non_leaf_round_trips_with_data_grads_labels_and_structure(protocol):
    x, y, z = small_graph()
    z.backward()
    loaded = round_trip(z, protocol)
    assert describe(loaded) == describe(z)
    assert loaded.label == "z" and {p.label for p in topological_order(loaded)} >= {"x", "y"}


def test_bound_rules_keep_their_number_and_symbol():
    x = Value(1.5)
    cube, power = round_trip((x**3, 2**x))
    assert cube.rule is rules.POW_CONSTANT.bind(3.0) and cube.op == "**3.0"
    assert power.rule.constant == 2.0 and power.op == "2.0**"


@settings(max_examples=30, deadline=None)
@given(graphs_with_points())
def test_backward_on_a_loaded_random_graph_gives_the_original_gradients(graph_and_point):
    graph, xs = graph_and_point
    inputs = [Value(x) for x in xs]
    nodes = build(graph, inputs)
    loaded_nodes = round_trip(nodes)
    copied_nodes = copy.deepcopy(nodes)
    assert describe(loaded_nodes[-1]) == describe(nodes[-1]) == describe(copied_nodes[-1])
    for version in (nodes, loaded_nodes, copied_nodes):
        version[-1].backward()
    expected = [node.grad for node in nodes[: graph.n_inputs]]
    for version in (loaded_nodes, copied_nodes):
        assert [node.grad for node in version[: graph.n_inputs]] == expected
        assert not any(a is b for a, b in zip(version, nodes))


def test_gradients_made_with_create_graph_pickle_and_differentiate_again():
    x = Value(0.7)
    y = x.sin() * x
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    x2, y2 = round_trip((x, y))
    assert isinstance(x2.grad, Value) and x2.grad.data == x.grad.data
    (second,) = gradients(x2.grad, [x2])
    (expected,) = gradients(x.grad, [x])
    assert second == expected


# --- identity: shared nodes stay shared -----------------------------------------------------------
def test_two_roots_pickled_together_share_their_common_nodes():
    x = Value(1.0)
    hidden = (x * 3.0).tanh()
    first, second = hidden + 1.0, hidden * 2.0
    for pair in [(first, second), (second, first)]:
        a, b = round_trip(pair)
        assert a.parents[0] is b.parents[0]
        assert topological_order(a)[-1] is topological_order(b)[-1]  # the one leaf


def test_a_node_and_its_ancestor_pickled_in_either_order_stay_one_graph():
    x = Value(1.0)
    middle = x * 2.0
    top = middle + 1.0
    for items in ([middle, top], [top, middle], [x, top, middle]):
        loaded = round_trip(items)
        by_name = dict(zip(map(id, items), loaded))
        assert by_name[id(top)].parents[0] is by_name[id(middle)]


def test_a_root_pickled_by_a_second_pickler_while_the_first_lives_is_saved_whole():
    x = Value(0.25)
    middle = x.exp()
    first = pickle.Pickler(io.BytesIO())
    first.dump(middle)  # alive: its memo still knows `middle`
    top = round_trip(middle * 3.0)
    assert describe(top) == describe(middle * 3.0)
    del first


def test_one_pickler_dumping_twice_keeps_identity_across_the_dumps():
    x = Value(0.5)
    middle = x * x
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dump(middle)
    pickler.dump(middle + 1.0)
    buffer.seek(0)
    unpickler = pickle.Unpickler(buffer)
    loaded_middle, loaded_top = unpickler.load(), unpickler.load()
    assert loaded_top.parents[0] is loaded_middle
    assert describe(loaded_top) == describe(middle + 1.0)


def test_an_abandoned_pickle_leaves_nothing_behind():
    x = Value(1.0)
    y = x * 2.0
    y.label = threading.Lock()  # cannot be pickled: the pickle stops halfway through y's graph
    with pytest.raises(TypeError):
        pickle.dumps(y)
    y.label = "y"
    assert describe(round_trip(y)) == describe(y)
    unused = y.__reduce_ex__(4)  # taken but never saved: must not mark y's graph as saved
    del unused
    gc.collect()
    assert describe(round_trip(x * y)) == describe(x * y)


def test_threads_pickling_one_graph_at_once_each_get_all_of_it():
    x = Value(0.3)
    y = x
    for _ in range(2000):
        y = (y * 1.001).sin()
    expected, results = describe(y), []

    def save() -> None:
        results.append(describe(round_trip(y)))

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


# --- depth ----------------------------------------------------------------------------------------
def chain(depth: int) -> tuple[Value, Value]:
    x = y = Value(0.5)
    for _ in range(depth):
        y = y * 0.99999
    return x, y


def test_a_chain_100_000_deep_pickles_and_deep_copies():
    x, y = chain(100_000)
    assert sys.getrecursionlimit() < 100_000
    loaded = round_trip(y)
    copied = copy.deepcopy(y)
    for version in (y, loaded, copied):
        version.backward()
    leaves = [topological_order(version)[-1] for version in (loaded, copied)]
    assert [leaf.grad for leaf in leaves] == [x.grad, x.grad]
    assert loaded.data == copied.data == y.data
    assert leaves[0] is not x and leaves[1] is not x


# --- copies ---------------------------------------------------------------------------------------
def test_copy_makes_one_new_node_over_the_same_parents():
    x, y, z = small_graph()
    shallow = copy.copy(z)
    assert shallow is not z and shallow.parents == z.parents
    assert (shallow.data, shallow.op, shallow.label) == (z.data, z.op, z.label)
    shallow.backward()
    assert x.grad != 0.0


def test_deepcopy_shares_nodes_already_in_its_memo():
    x = Value(1.0)
    a = x * 2.0
    b = a + 1.0
    a2, b2 = copy.deepcopy([a, b])
    assert b2.parents[0] is a2 and a2 is not a


# --- rules by name --------------------------------------------------------------------------------
SQUARE = rules.Rule("test_square", "square", lambda x: x * x, lambda out, x: (2.0 * x,))


def square(x: Value) -> Value:
    from autograd.value import _apply1

    return _apply1(SQUARE, x)


def test_a_node_of_an_unregistered_rule_is_refused_when_pickled_and_leaves_nothing_behind():
    x = Value(3.0)
    y = x * 2.0
    with pytest.raises(TypeError, match="test_square.*no rule of that name is registered"):
        pickle.dumps(square(y))
    assert describe(round_trip(y + x)) == describe(y + x)


def test_a_rule_unknown_when_loading_is_refused_naming_it(monkeypatch):
    monkeypatch.setitem(rules._REGISTERED, "test_square", (SQUARE, None))
    saved = pickle.dumps(square(Value(3.0)))
    monkeypatch.delitem(rules._REGISTERED, "test_square")
    with pytest.raises(pickle.UnpicklingError, match="no rule named 'test_square'"):
        pickle.loads(saved)


PRIMITIVE_MODULE = """
from autograd import rules
from autograd.value import _apply1

CUBE = rules.register(
    rules.Rule("test_cube", "cube", lambda x: x ** 3, lambda out, x: (3.0 * x * x,)),
    home=__name__,
)


def cube(x):
    return _apply1(CUBE, x)
"""


def test_a_rule_from_an_importable_module_is_found_by_importing_it(tmp_path, monkeypatch):
    (tmp_path / "test_pickle_primitives.py").write_text(PRIMITIVE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rules, "_REGISTERED", dict(rules._REGISTERED))
    import test_pickle_primitives

    saved = pickle.dumps(test_pickle_primitives.cube(Value(2.0)))
    del rules._REGISTERED["test_cube"], sys.modules["test_pickle_primitives"]
    loaded = pickle.loads(saved)  # imports the module, which registers the rule again
    assert loaded.data == 8.0 and loaded.rule.name == "test_cube"
    loaded.backward()
    assert loaded.parents[0].grad == 12.0

    del rules._REGISTERED["test_cube"], sys.modules["test_pickle_primitives"]
    (tmp_path / "test_pickle_primitives.py").unlink()
    with pytest.raises(pickle.UnpicklingError, match="'test_pickle_primitives'.*cannot be imp"):
        pickle.loads(saved)


def test_register_refuses_a_name_taken_elsewhere_and_replaces_from_the_same_home(monkeypatch):
    monkeypatch.setattr(rules, "_REGISTERED", dict(rules._REGISTERED))
    with pytest.raises(ValueError, match="'tanh' is already registered"):
        rules.register(SQUARE.__class__("tanh", "t", abs, abs), home="elsewhere")
    first = rules.register(SQUARE, home="here")
    again = rules.register(rules.Rule("test_square", "sq", abs, abs), home="here")
    assert rules.by_name()["test_square"] is again is not first
    with pytest.raises(TypeError, match="expected a Rule"):
        rules.register("tanh")


def test_every_rule_of_the_table_is_registered_by_its_name():
    table = [v for v in vars(rules).values() if isinstance(v, rules.Rule)]
    assert all(rules.by_name()[rule.name] is rule for rule in table)
    assert "batch_mean" in rules.by_name()


# --- scopes ---------------------------------------------------------------------------------------
def test_scopes_travel_as_names_with_one_stand_in_per_owner():
    owner, other = object(), object()
    x = Value(1.0)
    with graph_scope(owner, "layer"):
        with graph_scope(other, "neuron"):
            a = x * 2.0
        with graph_scope(other, "neuron"):
            b = x * 3.0
    loaded_a, loaded_b = round_trip((a, b))
    assert [s.name for s in loaded_a.scope.path] == ["layer", "neuron"]
    assert isinstance(loaded_a.scope.owner, PickledOwner)
    assert loaded_a.scope.owner is loaded_b.scope.owner  # one owner, one stand-in
    assert loaded_a.scope.owner is not loaded_a.scope.parent.owner
    assert copy.deepcopy(a).scope is a.scope  # a copy shares scopes, as it shares rules


# --- nn -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("duplicate", [round_trip, copy.deepcopy])
def test_a_model_and_its_optimizer_with_a_graph_attached_copy_together(duplicate):
    model = MLP(3, [4, 1], seed=1)
    optimizer = Adam(model.parameters(), lr=0.1)
    loss = model([1.0, -2.0, 0.5]) ** 2
    loss.backward()
    optimizer.step()
    loss = model([1.0, -2.0, 0.5]) ** 2  # a graph over the updated weights, not yet swept
    model2, optimizer2, loss2 = duplicate((model, optimizer, loss))
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]
    assert optimizer2.params == model2.parameters() and optimizer2.params != model.parameters()
    leaves = {id(n) for n in topological_order(loss2) if not n.parents}
    assert {id(p) for p in model2.parameters()} <= leaves
    model.zero_grad(), model2.zero_grad()
    loss.backward(), loss2.backward()
    optimizer.step(), optimizer2.step()
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]
    assert model2([0.1, 0.2, 0.3]).data == model([0.1, 0.2, 0.3]).data


@settings(max_examples=20, deadline=None)
@given(feed_forward_models())
def test_random_models_give_the_same_outputs_and_state_after_pickle_and_deepcopy(model_and_nin):
    model, nin = model_and_nin
    model.eval()
    x = [0.1 * (i + 1) for i in range(nin)]
    expected = [getattr(v, "data", v) for v in outputs_of(model(x))]  # an empty Sequential: x
    for duplicate in (round_trip, copy.deepcopy):
        twin = duplicate(model)
        assert twin.state_dict() == model.state_dict()
        assert [getattr(v, "data", v) for v in outputs_of(twin(x))] == expected
        assert not {id(p) for p in twin.parameters()} & {id(p) for p in model.parameters()}


@pytest.mark.parametrize("duplicate", [round_trip, copy.deepcopy])
def test_dropout_on_the_global_random_stream_still_draws_from_it_after_a_copy(duplicate):
    import random

    from nn import Dropout

    twin = duplicate(Dropout(0.5))
    assert twin._rng is random
    random.seed(3)
    first = [v.data for v in twin([Value(1.0)] * 20)]
    random.seed(3)
    assert [v.data for v in Dropout(0.5)([Value(1.0)] * 20)] == first


def test_a_copied_model_trains_apart_from_the_original():
    model = MLP(2, [3, 1], seed=0)
    clone = copy.deepcopy(model)
    before = [p.data for p in model.parameters()]
    optimizer = SGD(clone.parameters(), lr=0.5)
    (clone([1.0, 1.0]) ** 2).backward()
    optimizer.step()
    assert [p.data for p in model.parameters()] == before
    assert [p.data for p in clone.parameters()] != before


# --- tapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("duplicate", [pickle.dumps, copy.copy, copy.deepcopy])
def test_a_tape_refuses_pickle_and_copy_saying_what_to_do(duplicate):
    pytest.importorskip("numpy")
    from autograd import trace

    w = Value(2.0)
    tape = trace(lambda x: w * x, 1.0)
    with pytest.raises(TypeError, match=r"Tape cannot be .*trace again with autograd\.trace"):
        duplicate(tape)
