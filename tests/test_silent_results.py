"""Issue 23: wrong or unclear results that went unnoticed, each now refused or right.

A Value compared with a number, an optimizer step that overflows, a negative running variance,
sin of an infinity, gradcheck at a NaN point, a torch Softplus whose threshold nn lacks, a Layer
given a seed, and gradient clipping just either side of its threshold.
"""

import json
import math
import random

import numpy as np
import pytest

from autograd import Value, gradcheck, gradgradcheck, gradients, hessian
from nn import MLP, BatchNorm1d, Layer, Linear, Neuron, Sequential
from nn.losses import mse
from nn.optim import SGD, AdaGrad, Adam, RMSProp, clip_grad_norm
from nn.train import fit

# --- == and != between a Value and a number ------------------------------------------------------
NUMBERS = [0, 0.0, False, np.float64(0.0), np.int64(0)]


@pytest.mark.parametrize("number", NUMBERS, ids=repr)
def test_a_value_compared_with_a_number_raises_pointing_to_data(number):
    x = Value(0.0)
    comparisons = [
        lambda: x == number,
        lambda: number == x,
        lambda: x != number,
        lambda: number != x,
    ]
    for compare in comparisons:
        with pytest.raises(TypeError, match=r"compare the numbers instead: x\.data (==|!=)"):
            compare()


def test_values_compare_by_identity_and_other_objects_are_unequal_as_before():
    a, b = Value(1.0), Value(1.0)
    assert a == a and not (a != a) and a != b and not (a == b)
    assert a != "1.0" and not (a == None)  # noqa: E711 (the operator itself is under test)
    nodes = [b, a]
    assert a in nodes and nodes.index(a) == 1 and nodes.count(a) == 1
    assert {a: 1, b: 2}[a] == 1 and len({a, b, a}) == 2
    assert sorted(nodes, key=lambda v: v.data) == nodes
    assert [v.data for v in sorted([Value(3.0), Value(-1.0)])] == [-1.0, 3.0]


def test_second_derivatives_at_zero_take_the_branch_the_first_derivatives_take():
    # The rules' `x == 0` on the Value path was always False, so d/dy x**y at x = 0 took
    # log(x) and raised, though the first derivative there is 0
    assert hessian(lambda x, y: x**y)(0.0, 2.0) == [[2.0, 0.0], [0.0, 0.0]]
    x = Value(0.0)
    [slope] = gradients(x.sqrt(), [x], create_graph=True)
    assert slope.data == math.inf


# --- an optimizer step that overflows -----------------------------------------------------------
OPTIMIZERS = {
    "SGD": lambda params: SGD(params, lr=1e308),
    "SGD momentum": lambda params: SGD(params, lr=1e308, momentum=0.9, nesterov=True),
    "Adam": lambda params: Adam(params, lr=1e307),  # 1e308 / (1 - beta1) would overflow itself
    "AdaGrad": lambda params: AdaGrad(params, lr=1e308),
    "RMSProp": lambda params: RMSProp(params, lr=1e308, alpha=0.0),
}


def test_sgd_refuses_to_step_a_weight_to_infinity_with_a_finite_gradient():
    w = Value(1.0)
    optimizer = SGD([w], lr=10.0)
    w.grad = 1e308
    with pytest.raises(ValueError, match=r"SGD\.step: parameter 0 would step from 1\.0 to -inf"):
        optimizer.step()
    assert w.data == 1.0 and optimizer.steps == 0


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_every_optimizer_refuses_an_overflowing_update_and_changes_nothing(make):
    fine, overflowing = Value(0.0), Value(-1.79e308)  # the first alone would step finitely
    optimizer = make([fine, overflowing])
    fine.grad, overflowing.grad = 1e-10, 1.0
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=r"parameter 1 would step from -1\.79e\+308 to -inf"):
        optimizer.step()
    assert (fine.data, overflowing.data) == (0.0, -1.79e308)
    assert optimizer.state_dict() == before


@pytest.mark.parametrize("make", [Adam, AdaGrad, RMSProp], ids=lambda cls: cls.__name__)
def test_adaptive_optimizers_refuse_a_step_that_overflows_their_running_squares(make):
    w = Value(1.0)
    optimizer = make([w], lr=0.1)
    w.grad = 1e200  # finite, but its square is not
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=r"parameter 0 would step from 1\.0 to .* running state"):
        optimizer.step()
    assert w.data == 1.0 and optimizer.state_dict() == before


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_fit_refuses_an_overflowing_step_and_leaves_the_model_as_it_was(compile):
    model = MLP(1, [2, 1], seed=0)
    before = model.state_dict()
    optimizer = SGD(model.parameters(), lr=1e306)
    data = ([[0.5], [1e150]], [1.0, 1e150])
    with pytest.raises(ValueError, match=r"SGD\.step: parameter \d+ would step from .* to -?inf"):
        fit(model, mse, optimizer, data, epochs=1, progress=False, compile=compile)
    assert model.state_dict() == before and optimizer.steps == 0


# --- a negative running variance ----------------------------------------------------------------
def test_load_state_dict_refuses_a_negative_running_var_naming_the_entry():
    model = Sequential(Linear(2, 2), BatchNorm1d(2))
    before = model.state_dict()
    for bad in (-1e-5, -1.0):
        with pytest.raises(ValueError, match=rf"1 negative .*'1\.running_var\.1': {bad!r}"):
            model.load_state_dict(before | {"1.running_var.1": bad})
        assert model.state_dict() == before
    model.load_state_dict(before | {"1.running_var.1": 0.0})  # zero is a variance


def test_load_refuses_a_file_with_a_negative_running_var(tmp_path):
    path = tmp_path / "model.json"
    Sequential(Linear(2, 2), BatchNorm1d(2)).save(path)
    document = json.loads(path.read_text())
    document["parameters"]["1.running_var.0"] = -2.0
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"load: .*1 negative .*'1\.running_var\.0': -2\.0"):
        Sequential.load(path)


@pytest.mark.parametrize("bad", [-1e-5, -1.0, math.nan])
def test_eval_refuses_a_running_var_that_leaves_no_positive_denominator(bad):
    norm = BatchNorm1d(2).eval()
    norm.running_var[1] = bad
    with pytest.raises(ValueError, match=r"running_var\[1\] is .*needs running_var \+ eps > 0"):
        norm([1.0, 2.0])


# --- sin and cos of an infinity, gradcheck where nothing is finite ------------------------------
@pytest.mark.parametrize("op", ["sin", "cos"])
@pytest.mark.parametrize("x", [math.inf, -math.inf])
def test_sin_and_cos_of_an_infinity_name_the_operation_and_the_value(op, x):
    with pytest.raises(ValueError, match=rf"{op}: math domain error: {op}\({x!r}\) needs a finite"):
        getattr(Value(x), op)()


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=lambda f: f.__name__)
@pytest.mark.parametrize("point", [math.nan, math.inf, -math.inf])
def test_gradcheck_refuses_a_point_that_is_not_finite(check, point):
    name = check.__name__
    with pytest.raises(ValueError, match=rf"^{name}: args\[1\] is {point!r}; .* finite points"):
        check(lambda x, y: x * y, (1.0, point))


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=lambda f: f.__name__)
def test_gradcheck_refuses_a_point_where_f_is_not_finite(check):
    name = check.__name__
    with pytest.raises(ValueError, match=rf"^{name}: f\(1\.0\) is nan; .* where f is finite"):
        check(lambda x: x * math.nan, (1.0,))
    with pytest.raises(ValueError, match=rf"^{name}: f\(1\.0\) is inf"):
        check(lambda x: x * 1e200 * 1e200, (1.0,))


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=lambda f: f.__name__)
def test_gradcheck_errors_name_the_check_not_the_transform_inside(check):
    with pytest.raises(TypeError, match=rf"^{check.__name__}: f must return a single Value"):
        check(lambda x: [x], (1.0,))


# --- Softplus thresholds from torch ------------------------------------------------------------
def test_from_torch_refuses_a_softplus_threshold_nn_does_not_have():
    torch = pytest.importorskip("torch")
    from nn import from_torch

    theirs = torch.nn.Softplus(threshold=1.0)
    assert theirs(torch.tensor([1.5], dtype=torch.float64)).item() == 1.5  # x itself above 1
    with pytest.raises(ValueError, match=r"model \(Softplus\): threshold=1\.0 has no counterpart"):
        from_torch(theirs)


@pytest.mark.parametrize("threshold", [20.0, 40.0])
def test_from_torch_takes_softplus_thresholds_where_torch_agrees_with_nn(threshold):
    torch = pytest.importorskip("torch")
    from nn import from_torch

    theirs = torch.nn.Softplus(threshold=threshold)
    ours = from_torch(theirs)
    xs = [-3.0, 0.0, 1.5, 19.0, 20.5, 39.0, 40.5]
    expected = theirs(torch.tensor(xs, dtype=torch.float64)).tolist()
    assert [y.data for y in ours(xs)] == pytest.approx(expected, abs=2.1e-9, rel=0)


# --- Layer and Neuron take seed= as MLP does ---------------------------------------------------
def test_layer_and_neuron_take_a_seed_as_mlp_does():
    assert Layer(3, 2, seed=0).state_dict() == Layer(3, 2, seed=0).state_dict()
    assert Layer(3, 2, seed=0).state_dict() != Layer(3, 2, seed=1).state_dict()
    first_layer = MLP(3, [2, 1], seed=0).layers[0]
    assert Layer(3, 2, seed=0).state_dict() == first_layer.state_dict()
    assert Neuron(3, seed=5).state_dict() == Neuron(3, seed=5).state_dict()
    with pytest.raises(TypeError, match="give seed or rng, not both"):
        Layer(3, 2, seed=0, rng=random.Random(0))
    with pytest.raises(TypeError, match="seed must be an int or None"):
        Neuron(3, seed=0.5)


def test_a_seeded_layer_saves_and_loads_as_any_layer(tmp_path):
    layer = Layer(3, 2, seed=0, activation="tanh")
    layer.save(tmp_path / "layer.json")
    assert "seed" not in json.loads((tmp_path / "layer.json").read_text())["config"]
    assert Layer.load(tmp_path / "layer.json").state_dict() == layer.state_dict()


# --- clip_grad_norm either side of max_norm -----------------------------------------------------
@pytest.mark.parametrize("max_norm", [1.0, 2.5])
def test_clip_grad_norm_just_above_max_norm_clips_to_max_norm(max_norm):
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 0.6 * 1.0001 * max_norm, 0.8 * 1.0001 * max_norm
    clip_grad_norm([a, b], max_norm)
    assert math.hypot(a.grad, b.grad) == pytest.approx(max_norm, rel=2e-6)
    assert a.grad / b.grad == pytest.approx(0.75, rel=1e-15)


@pytest.mark.parametrize("max_norm", [1.0, 2.5])
def test_clip_grad_norm_just_below_max_norm_leaves_gradients_unchanged(max_norm):
    a, b = Value(0.0), Value(0.0)
    grads = a.grad, b.grad = 0.6 * 0.9999 * max_norm, 0.8 * 0.9999 * max_norm
    norm = clip_grad_norm([a, b], max_norm)
    assert (a.grad, b.grad) == grads
    assert norm == pytest.approx(0.9999 * max_norm, rel=1e-15)
