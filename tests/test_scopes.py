"""graph_scope: which Scope each new node records, how scopes nest, and what entering costs."""

import pytest

from autograd import Value, current_scope, graph_scope


def test_nodes_record_the_innermost_scope_and_scopes_lead_outwards():
    with graph_scope("model", "MLP") as outer:
        with graph_scope("first", "layer 0") as inner:
            y = Value(1.0) * 2
        z = y + 1
    assert y.scope is inner and z.scope is outer
    assert inner.parent is outer and outer.parent is None
    assert [scope.name for scope in inner.path] == ["MLP", "layer 0"]
    assert current_scope() is None and (Value(1.0) * 2).scope is None


def test_entering_one_graph_scope_again_in_the_same_place_reuses_its_scope():
    neuron = graph_scope("neuron", "neuron 0")
    with graph_scope("layer", "layer 0"):
        with neuron as first:
            pass
        with neuron as second:
            pass
    assert second is first


def test_entering_one_graph_scope_under_another_outer_scope_makes_a_new_one():
    neuron = graph_scope("neuron", "neuron 0")
    with neuron as alone:
        pass
    with graph_scope("layer", "layer 0") as layer:
        with neuron as inside:
            pass
    assert inside is not alone and inside.parent is layer and alone.parent is None


def test_one_graph_scope_entered_inside_itself_unwinds_in_order():
    recursive = graph_scope("module", "block")
    with recursive as outer:
        with recursive as inner:
            assert current_scope() is inner and inner.parent is outer
        assert current_scope() is outer
    assert current_scope() is None


def test_an_exception_inside_a_scope_restores_the_outer_one():
    with graph_scope("model", "MLP") as outer:
        with pytest.raises(ZeroDivisionError):
            with graph_scope("neuron", "neuron 0"):
                Value(1.0) / 0
        assert current_scope() is outer
    assert current_scope() is None


def test_a_label_set_inside_a_scope_keeps_the_scope_and_clearing_it_keeps_it_too():
    owner = object()
    x = Value(2.0, label="x")
    with graph_scope(owner, "block") as scope:
        y = x * 3.0
        named = Value(1.0, label="named")
    assert (x.label, x.scope) == ("x", None)
    assert (y.label, y.scope) == ("", scope) and (named.label, named.scope) == ("named", scope)
    y.label = "y"
    assert (y.label, y.scope) == ("y", scope)
    y.label = ""
    assert (y.label, y.scope) == ("", scope)
    x.label = ""
    assert (x.label, x.scope) == ("", None)
