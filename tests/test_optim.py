"""nn.optim: update rules by hand, against torch.optim (float64), schedules, clipping, bad input."""

import json
import math
import random

import pytest

from autograd import Value
from nn.optim import (
    SGD,
    AdaGrad,
    Adam,
    CosineAnnealingLR,
    Optimizer,
    RMSProp,
    StepLR,
    clip_grad_norm,
)


def _steps(optimizer: Optimizer, grads: list[list[float]]) -> list[float]:
    """The parameters after each step, one after another, the gradients set by hand each time."""
    history = []
    for step_grads in grads:
        for p, g in zip(optimizer.params, step_grads):
            p.grad = g
        optimizer.step()
        history.extend(p.data for p in optimizer.params)
    return history


# --- update rules by hand -------------------------------------------------------------------------
def test_sgd_steps_against_the_gradient_times_the_learning_rate():
    w = Value(1.0)
    assert _steps(SGD([w], lr=0.1), [[2.0], [1.0]]) == pytest.approx([0.8, 0.7], rel=1e-15)


def test_sgd_momentum_accumulates_a_velocity_starting_at_the_first_gradient():
    w = Value(1.0)
    # b = 1, 1.9, 2.71: w = 1 - 0.1, then - 0.19, then - 0.271
    history = _steps(SGD([w], lr=0.1, momentum=0.9), [[1.0]] * 3)
    assert history == pytest.approx([0.9, 0.71, 0.439], rel=1e-14)


def test_sgd_nesterov_steps_along_the_gradient_plus_momentum_times_velocity():
    w = Value(1.0)
    # b = 1 then 1.9; steps 0.1 * (1 + 0.9 * 1) = 0.19, then 0.1 * (1 + 0.9 * 1.9) = 0.271
    history = _steps(SGD([w], lr=0.1, momentum=0.9, nesterov=True), [[1.0], [1.0]])
    assert history == pytest.approx([0.81, 0.539], rel=1e-14)


def test_weight_decay_adds_decay_times_weight_to_the_gradient():
    w = Value(2.0)
    # g = 0 + 0.5 * 2 = 1, so w = 2 - 0.1; then g = 0.5 * 1.9
    history = _steps(SGD([w], lr=0.1, weight_decay=0.5), [[0.0], [0.0]])
    assert history == pytest.approx([1.9, 1.9 - 0.1 * 0.95], rel=1e-15)


def test_adagrad_divides_by_the_root_of_the_summed_squared_gradients():
    w, u = Value(1.0), Value(0.0)
    # w: G = 16, step 0.5 * 4 / 4; G = 25, step 0.5 * 3 / 5.  u: G = 1 then 1, steps 0.5 then 0
    history = _steps(AdaGrad([w, u], lr=0.5), [[4.0, -1.0], [3.0, 0.0]])
    assert history == pytest.approx([0.5, 0.5, 0.2, 0.5], rel=1e-9)


def test_rmsprop_divides_by_the_root_of_a_running_mean_of_squared_gradients():
    w = Value(1.0)
    v1 = 0.25 * 3.0**2
    v2 = 0.75 * v1 + 0.25 * 1.0**2
    history = _steps(RMSProp([w], lr=0.01, alpha=0.75), [[3.0], [1.0]])
    expected = [1.0 - 0.01 * 3.0 / math.sqrt(v1)]
    expected.append(expected[0] - 0.01 * 1.0 / math.sqrt(v2))
    assert history == pytest.approx(expected, rel=1e-9)


def test_rmsprop_momentum_accumulates_the_scaled_gradients():
    w = Value(1.0)
    v1 = 0.25 * 9.0
    v2 = 0.75 * v1 + 0.25 * 9.0
    b1 = 3.0 / math.sqrt(v1)
    b2 = 0.5 * b1 + 3.0 / math.sqrt(v2)
    history = _steps(RMSProp([w], lr=0.01, alpha=0.75, momentum=0.5), [[3.0], [3.0]])
    assert history == pytest.approx([1 - 0.01 * b1, 1 - 0.01 * (b1 + b2)], rel=1e-9)


def test_adam_first_step_is_the_learning_rate_times_the_sign_of_the_gradient():
    ws = [Value(1.0), Value(1.0)]
    after = _steps(Adam(ws, lr=0.1), [[123.0, -1e-3]])
    assert after == pytest.approx([0.9, 1.1], rel=1e-6)


def test_adam_second_step_matches_hand_computation_with_bias_correction():
    w = Value(1.0)
    m1, v1 = 0.1 * 1.0, 0.001 * 1.0**2
    m2, v2 = 0.9 * m1 + 0.1 * 3.0, 0.999 * v1 + 0.001 * 3.0**2
    m_hat, v_hat = m2 / (1 - 0.9**2), v2 / (1 - 0.999**2)
    history = _steps(Adam([w], lr=0.1), [[1.0], [3.0]])
    assert history[1] == pytest.approx(history[0] - 0.1 * m_hat / math.sqrt(v_hat), rel=1e-9)


def test_step_uses_the_float_of_a_gradient_made_with_create_graph():
    x = Value(3.0)
    (x**2).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    SGD([x], lr=0.1).step()
    assert x.data == pytest.approx(3.0 - 0.1 * 6.0, rel=1e-15)


def test_zero_grad_resets_every_gradient_to_zero():
    ps = [Value(1.0), Value(2.0)]
    ps[0].grad, ps[1].grad = 5.0, Value(3.0)
    SGD(ps, lr=0.1).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_gradient_raises_naming_the_parameter_and_changes_nothing(bad):
    ps = [Value(1.0), Value(2.0)]
    optimizer = Adam(ps)
    ps[0].grad, ps[1].grad = 1.0, bad
    with pytest.raises(ValueError, match=rf"Adam.step: parameter 1 has gradient {bad}"):
        optimizer.step()
    assert [p.data for p in ps] == [1.0, 2.0]
    assert optimizer.steps == 0


# --- against torch.optim, float64 -----------------------------------------------------------------
CONFIGURATIONS = [
    (SGD, "SGD", {"lr": 0.05}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    (AdaGrad, "Adagrad", {"lr": 0.3}),
    (AdaGrad, "Adagrad", {"lr": 0.3, "eps": 1e-6, "weight_decay": 0.05}),
    (RMSProp, "RMSprop", {"lr": 0.01}),
    (RMSProp, "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.1}),
    (Adam, "Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.02}),
]
START = [1.5, -2.0, 0.5]
SCALES = [1.0, 4.0, 0.25]
CENTRE = [0.3, 0.7, -1.1]


def _quadratic(ws):
    """sum_i s_i (w_i - c_i)**2 + w_0 w_1: a small quadratic with one coupling term (Values or
    tensors)."""
    return sum(s * (w - c) ** 2 for w, c, s in zip(ws, CENTRE, SCALES)) + ws[0] * ws[1]


@pytest.mark.parametrize("ours, theirs, options", CONFIGURATIONS)
def test_twenty_steps_on_a_quadratic_match_torch_optim(ours, theirs, options):
    torch = pytest.importorskip("torch")
    params = [Value(x) for x in START]
    optimizer = ours(params, **options)
    tensor = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    reference = getattr(torch.optim, theirs)([tensor], **options)
    for _ in range(20):
        optimizer.zero_grad()
        _quadratic(params).backward()
        optimizer.step()
        reference.zero_grad()
        _quadratic(list(tensor)).backward()
        reference.step()
        assert [p.data for p in params] == pytest.approx(tensor.tolist(), rel=1e-10, abs=1e-12)


def test_adam_converges_to_the_minimum_of_a_quadratic():
    w = Value(5.0)
    optimizer = Adam([w], lr=0.1)
    for _ in range(500):
        optimizer.zero_grad()
        ((w - 2.0) ** 2).backward()
        optimizer.step()
    assert w.data == pytest.approx(2.0, abs=1e-3)


# --- gradient clipping ----------------------------------------------------------------------------
def test_clip_grad_norm_scales_the_gradients_to_the_maximum_norm_and_returns_the_old_norm():
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm([a, b], max_norm=1.0) == 5.0
    assert (a.grad, b.grad) == pytest.approx((0.6, 0.8), rel=1e-6)
    assert math.hypot(a.grad, b.grad) <= 1.0


def test_clip_grad_norm_leaves_gradients_under_the_maximum_alone():
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 0.3, -0.4
    assert clip_grad_norm([a, b], max_norm=1.0) == pytest.approx(0.5, rel=1e-15)
    assert (a.grad, b.grad) == (0.3, -0.4)


def test_clip_grad_norm_scales_gradients_made_with_create_graph_and_keeps_them_values():
    x = Value(3.0)
    (x**2).backward(create_graph=True)
    assert clip_grad_norm([x], max_norm=2.0) == 6.0
    assert isinstance(x.grad, Value)
    assert x.grad.data == pytest.approx(2.0, rel=1e-6)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [3.0, -12.0, 0.5, 7.0]
    ours = [Value(0.0) for _ in grads]
    for p, g in zip(ours, grads):
        p.grad = g
    theirs = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g, dtype=torch.float64)
    norm = clip_grad_norm(ours, 2.5)
    their_norm = torch.nn.utils.clip_grad_norm_(theirs, 2.5)
    assert norm == pytest.approx(their_norm.item(), rel=1e-14)
    assert [p.grad for p in ours] == pytest.approx([t.grad.item() for t in theirs], rel=1e-14)


def test_clip_grad_norm_refuses_non_finite_gradients_and_non_positive_maximum():
    a = Value(0.0)
    a.grad = math.nan
    with pytest.raises(ValueError, match="clip_grad_norm: parameter 0 has gradient nan"):
        clip_grad_norm([a], 1.0)
    a.grad = 1.0
    for bad in (0.0, -1.0):
        with pytest.raises(
            ValueError, match=f"max_norm must be a positive finite number, got {bad}"
        ):
            clip_grad_norm([a], bad)


# --- learning-rate schedules ----------------------------------------------------------------------
def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    optimizer = SGD([Value(0.0)], lr=0.8)
    schedule = StepLR(optimizer, step_size=3, gamma=0.5)
    rates = []
    for _ in range(7):
        schedule.step()
        rates.append(schedule.get_last_lr())
    assert rates == [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]
    assert optimizer.lr == 0.2


def test_cosine_annealing_reaches_eta_min_at_t_max_and_the_midpoint_halfway():
    optimizer = SGD([Value(0.0)], lr=1.0)
    schedule = CosineAnnealingLR(optimizer, T_max=10, eta_min=0.2)
    rates = []
    for _ in range(10):
        schedule.step()
        rates.append(schedule.get_last_lr())
    assert rates[4] == pytest.approx(0.6, rel=1e-15)  # epoch 5 of 10: cos(pi / 2) = 0
    assert rates[9] == pytest.approx(0.2, rel=1e-15)
    assert rates == sorted(rates, reverse=True)


def test_a_learning_rate_annealed_to_zero_is_saved_and_loaded():
    # CosineAnnealingLR's default eta_min is 0: at T_max the rate is exactly 0, which the
    # constructor refuses as a setting but which a state dict must carry back
    w = Value(1.0)
    optimizer = SGD([w], lr=0.5, momentum=0.9)
    schedule = CosineAnnealingLR(optimizer, T_max=2)
    for _ in range(2):
        schedule.step()
    assert optimizer.lr == 0.0
    again = SGD([w], lr=0.5, momentum=0.9)
    again.load_state_dict(optimizer.state_dict())
    assert again.lr == 0.0 and again.state_dict() == optimizer.state_dict()


def test_a_scheduled_learning_rate_is_the_one_the_next_step_uses():
    w = Value(1.0)
    optimizer = SGD([w], lr=1.0)
    StepLR(optimizer, step_size=1, gamma=0.1).step()
    w.grad = 1.0
    optimizer.step()
    assert w.data == pytest.approx(0.9, rel=1e-15)


@pytest.mark.parametrize(
    "ours, theirs, options",
    [
        (StepLR, "StepLR", {"step_size": 4, "gamma": 0.3}),
        (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ],
)
def test_schedules_match_torch_over_three_periods(ours, theirs, options):
    torch = pytest.importorskip("torch")
    optimizer = SGD([Value(0.0)], lr=0.5)
    schedule = ours(optimizer, **options)
    reference_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    reference = getattr(torch.optim.lr_scheduler, theirs)(reference_optimizer, **options)
    for _ in range(21):
        reference_optimizer.step()  # torch warns if the schedule steps first
        schedule.step()
        reference.step()
        assert schedule.get_last_lr() == pytest.approx(reference.get_last_lr()[0], abs=1e-14)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD([Value(0.0)], lr=-0.1), "SGD: lr must be a positive finite number, got -0.1"),
        (lambda: SGD([Value(0.0)], lr=0), "SGD: lr must be a positive finite number, got 0"),
        (
            lambda: Adam([Value(0.0)], lr=math.nan),
            "Adam: lr must be a positive finite number, got nan",
        ),
        (lambda: SGD([Value(0.0)], lr=0.1, momentum=-0.5), "momentum must be in .*, got -0.5"),
        (lambda: SGD([Value(0.0)], lr=0.1, momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
        (lambda: SGD([Value(0.0)], lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda: SGD([Value(0.0)], lr=0.1, weight_decay=-1), "weight_decay must be in .*, got -1"),
        (lambda: Adam([Value(0.0)], betas=(1.0, 0.999)), r"betas\[0\] must be in .*, got 1.0"),
        (lambda: Adam([Value(0.0)], betas=(0.9, -0.1)), r"betas\[1\] must be in .*, got -0.1"),
        (
            lambda: Adam([Value(0.0)], eps=0.0),
            "Adam: eps must be a positive finite number, got 0.0",
        ),
        (
            lambda: AdaGrad([Value(0.0)], eps=-1e-10),
            "AdaGrad: eps must be a positive finite number, got -1e-10",
        ),
        (lambda: RMSProp([Value(0.0)], alpha=1.0), r"alpha must be in \[0.0, 1.0\), got 1.0"),
        (lambda: SGD([], lr=0.1), "SGD: params is empty"),
        (lambda: SGD([Value(0.0)] * 2, lr=0.1), r"params\[1\] is the same Value as params\[0\]"),
        (lambda: StepLR(SGD([Value(0.0)], lr=0.1), step_size=0), "step_size must be a positive"),
        (
            lambda: StepLR(SGD([Value(0.0)], lr=0.1), 2, gamma=0),
            "StepLR: gamma must be a positive finite number, got 0",
        ),
        (lambda: CosineAnnealingLR(SGD([Value(0.0)], lr=0.1), T_max=0), "T_max must be a positive"),
        (
            lambda: CosineAnnealingLR(SGD([Value(0.0)], lr=0.1), T_max=5, eta_min=0.2),
            r"eta_min must be in \[0.0, 0.1\], got 0.2",
        ),
    ],
)
def test_bad_hyper_parameters_raise_value_error_naming_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD(Value(0.0), lr=0.1), "params must be an iterable of Values"),
        (lambda: SGD([Value(0.0), 1.0], lr=0.1), r"params\[1\] must be a Value, got 1.0"),
        (lambda: SGD([Value(0.0)], lr="0.1"), "lr must be a real number, got '0.1'"),
        (lambda: Adam([Value(0.0)], betas=0.9), r"betas must be a pair \(beta1, beta2\)"),
        (lambda: StepLR("optimizer", step_size=1), "StepLR: expected an Optimizer, got str"),
    ],
)
def test_wrong_types_raise_type_error_naming_the_value(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_an_optimizer_takes_any_iterable_of_parameters():
    ps = [Value(1.0), Value(2.0)]
    assert SGD(iter(ps), lr=0.1).params == ps


# --- state dicts ----------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.05),
    "sgd-momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
    "adagrad": lambda ps: AdaGrad(ps, lr=0.3, eps=1e-9),
    "rmsprop": lambda ps: RMSProp(ps, lr=0.01, alpha=0.9, momentum=0.5),
    "adam": lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.99), weight_decay=0.01),
}


def _random_gradients(seed: int, steps: int, size: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.gauss(0.0, 1.0) for _ in range(size)] for _ in range(steps)]


def _bits(values) -> list[str]:
    return [float(v).hex() for v in values]


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_loaded_optimizer_continues_bit_for_bit_as_the_one_that_saved(make):
    grads = _random_gradients(0, 12, 4)
    original = make([Value(v) for v in (0.5, -1.0, 2.0, 0.0)])
    _steps(original, grads[:5])
    # through JSON, as a checkpoint carries it, into an optimizer built with other settings
    saved = json.loads(json.dumps(original.state_dict(), allow_nan=False))
    resumed = type(original)([Value(p.data) for p in original.params], lr=0.5)
    resumed.load_state_dict(saved)
    assert resumed.state_dict() == original.state_dict()
    assert _bits(_steps(resumed, grads[5:])) == _bits(_steps(original, grads[5:]))


def test_a_state_dict_holds_the_step_count_hyper_parameters_and_per_parameter_buffers():
    w, u = Value(1.0), Value(2.0)
    optimizer = Adam([w, u], lr=0.1)
    _steps(optimizer, [[1.0, -2.0]])
    m = [0.1 * 1.0, 0.1 * -2.0]  # (1 - beta1) g
    v = [0.001 * 1.0, 0.001 * 4.0]  # (1 - beta2) g**2
    state = optimizer.state_dict()
    assert state["class"] == "Adam" and state["parameters"] == 2 and state["steps"] == 1
    assert state["hyperparameters"] == {
        "lr": 0.1,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
    }
    assert state["state"]["exp_avg"] == pytest.approx(m, rel=1e-15)
    assert state["state"]["exp_avg_sq"] == pytest.approx(v, rel=1e-12)
    assert sorted(RMSProp([w]).state_dict()["state"]) == ["momentum_buffer", "square_avg"]
    assert list(AdaGrad([w]).state_dict()["state"]) == ["sum"]


def test_state_dict_buffers_use_torch_names_and_values():
    torch = pytest.importorskip("torch")
    grads = _random_gradients(1, 3, 2)
    ours = Adam([Value(0.5), Value(-0.25)], lr=0.01)
    _steps(ours, grads)
    weights = torch.tensor([0.5, -0.25], dtype=torch.float64, requires_grad=True)
    theirs = torch.optim.Adam([weights], lr=0.01)
    for step_grads in grads:
        weights.grad = torch.tensor(step_grads, dtype=torch.float64)
        theirs.step()
    reference = theirs.state_dict()["state"][0]
    for name in ("exp_avg", "exp_avg_sq"):
        assert ours.state_dict()["state"][name] == pytest.approx(
            reference[name].tolist(), rel=1e-13
        )
    assert ours.state_dict()["steps"] == int(reference["step"])


def _malformed(change):
    state = SGD([Value(0.0), Value(1.0)], lr=0.1, momentum=0.9).state_dict()
    change(state)
    return state


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update({"class": "Adam"}), "the state is of a 'Adam', not a SGD"),
        (lambda s: s.update(parameters=3), "the state is for 3 parameters, this optimizer has 2"),
        (lambda s: s.pop("steps"), "missing 'steps'"),
        (lambda s: s.update(extra=1), "unexpected 'extra'"),
        (lambda s: s.update(steps=-1), r"steps: expected a whole number >= 0, got -1"),
        (lambda s: s.update(steps=True), r"steps: expected a whole number >= 0, got True"),
        (lambda s: s["hyperparameters"].pop("momentum"), "hyperparameters: missing 'momentum'"),
        (lambda s: s["hyperparameters"].update(lr=math.inf), "lr must be a finite number >= 0"),
        (lambda s: s["hyperparameters"].update(lr=-0.1), "lr must be a finite number >= 0, got -0"),
        (lambda s: s["hyperparameters"].update(lr="0.1"), "lr must be a real number, got '0.1'"),
        (lambda s: s["hyperparameters"].update(momentum=1.5), r"momentum must be in \[0.0, 1.0\)"),
        (lambda s: s["hyperparameters"].update(nesterov=1), "nesterov must be true or false"),
        (
            lambda s: s["hyperparameters"].update(momentum=0.0, nesterov=True),
            "nesterov=True needs momentum > 0",
        ),
        (lambda s: s.update(state=[]), "state: expected a mapping"),
        (lambda s: s["state"].update(exp_avg=[0.0, 0.0]), r"state: unexpected 'exp_avg'"),
        (
            lambda s: s["state"].update(momentum_buffer=[0.0]),
            r"state\['momentum_buffer'\]: expected a list of 2 numbers, one per parameter, got 1",
        ),
        (
            lambda s: s["state"].update(momentum_buffer=[0.0, math.nan]),
            r"state\['momentum_buffer'\]\[1\]: expected a finite number, got nan",
        ),
        (
            lambda s: s["state"].update(momentum_buffer=[0.0, "1"]),
            r"state\['momentum_buffer'\]\[1\]: expected a finite number, got '1'",
        ),
    ],
)
def test_a_malformed_optimizer_state_is_refused_by_name_and_changes_nothing(change, message):
    optimizer = SGD([Value(0.0), Value(1.0)], lr=0.3, momentum=0.5)
    _steps(optimizer, [[1.0, 2.0]])
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match="SGD.load_state_dict: .*" + message):
        optimizer.load_state_dict(_malformed(change))
    assert optimizer.state_dict() == before
