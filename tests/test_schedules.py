"""nn.schedules: state dicts of the learning-rate schedules, and their home in nn.optim too.

The schedules' formulas are tested in test_optim.py, where they lived first.
"""

import json
import math
import subprocess
import sys

import pytest

from autograd import Value
from nn import schedules
from nn.optim import SGD, Adam, CosineAnnealingLR, LinearLR, StepLR

SCHEDULES = {
    "step": lambda optimizer: StepLR(optimizer, step_size=3, gamma=0.7),
    "cosine": lambda optimizer: CosineAnnealingLR(optimizer, T_max=5, eta_min=0.001),
    "linear": lambda optimizer: LinearLR(
        optimizer, start_factor=0.9, end_factor=0.1, total_iters=7
    ),
}


@pytest.mark.parametrize("make", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_a_loaded_schedule_and_optimizer_continue_bit_for_bit(make):
    w = Value(1.0)
    optimizer = Adam([w], lr=0.1)
    schedule = make(optimizer)

    def epochs(optimizer, schedule, count):
        rates = []
        for _ in range(count):
            w.grad = 0.25
            optimizer.step()
            schedule.step()
            rates.append(optimizer.lr.hex())
        return rates

    epochs(optimizer, schedule, 4)
    saved = json.loads(json.dumps([optimizer.state_dict(), schedule.state_dict()]))
    copy = Adam([Value(w.data)], lr=0.5)
    copy_schedule = make(copy)
    copy.load_state_dict(saved[0])
    copy_schedule.load_state_dict(saved[1])
    assert copy_schedule.state_dict() == schedule.state_dict()
    assert epochs(copy, copy_schedule, 9) == epochs(optimizer, schedule, 9)


def test_a_schedule_state_holds_its_settings_base_lr_and_epoch_count():
    optimizer = SGD([Value(0.0)], lr=0.4)
    schedule = CosineAnnealingLR(optimizer, T_max=10, eta_min=0.05)
    schedule.step()
    schedule.step()
    assert schedule.state_dict() == {
        "class": "CosineAnnealingLR",
        "base_lr": 0.4,
        "last_epoch": 2,
        "T_max": 10,
        "eta_min": 0.05,
    }


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update({"class": "CosineAnnealingLR"}), "is of a 'CosineAnnealingLR', not"),
        (lambda s: s.pop("gamma"), "missing 'gamma'"),
        (lambda s: s.update(T_max=3), "unexpected 'T_max'"),
        (lambda s: s.update(last_epoch=-2), "last_epoch: expected a whole number >= 0, got -2"),
        (lambda s: s.update(step_size=0), "step_size must be a positive int, got 0"),
        (lambda s: s.update(step_size=2.5), "step_size must be a positive int, got 2.5"),
        (lambda s: s.update(gamma=math.nan), "gamma must be a positive finite number, got nan"),
        (lambda s: s.update(base_lr=math.inf), "base_lr must be a finite number >= 0"),
        (lambda s: s.update(base_lr="1"), "base_lr must be a real number, got '1'"),
    ],
)
def test_a_malformed_schedule_state_is_refused_by_name_and_changes_nothing(change, message):
    schedule = StepLR(SGD([Value(0.0)], lr=0.2), step_size=2, gamma=0.5)
    schedule.step()
    before = schedule.state_dict()
    state = dict(before)
    change(state)
    with pytest.raises(ValueError, match="StepLR.load_state_dict: .*" + message):
        schedule.load_state_dict(state)
    assert schedule.state_dict() == before


def test_a_cosine_state_needs_eta_min_no_larger_than_its_base_lr():
    schedule = CosineAnnealingLR(SGD([Value(0.0)], lr=0.2), T_max=4)
    state = schedule.state_dict() | {"base_lr": 0.01, "eta_min": 0.02}
    with pytest.raises(ValueError, match=r"eta_min must be in \[0.0, 0.01\], got 0.02"):
        schedule.load_state_dict(state)


def test_the_schedules_are_importable_from_nn_optim_and_nn_schedules_in_either_order():
    assert StepLR is schedules.StepLR and CosineAnnealingLR is schedules.CosineAnnealingLR
    for first, second in [("nn.schedules", "nn.optim"), ("nn.optim", "nn.schedules")]:
        program = f"import {first}, {second}; assert {second}.StepLR is {first}.StepLR"
        subprocess.run([sys.executable, "-c", program], check=True)
    with pytest.raises(ImportError, match="cannot import name 'ExponentialLR'"):
        from nn.optim import ExponentialLR  # noqa: F401


@pytest.mark.parametrize(
    "settings",
    [dict(start_factor=1.0, end_factor=0.0, total_iters=10), dict(), dict(total_iters=1)],
)
def test_linear_lr_gives_torchs_rates_from_the_constructor_on(settings):
    torch = pytest.importorskip("torch")
    weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    their_optimizer = torch.optim.SGD([weight], lr=0.3)
    theirs = torch.optim.lr_scheduler.LinearLR(their_optimizer, **settings)
    optimizer = SGD([Value(0.0)], lr=0.3)
    ours = LinearLR(optimizer, **settings)
    assert abs(optimizer.lr - their_optimizer.param_groups[0]["lr"]) < 1e-15
    for _ in range(14):
        their_optimizer.step()
        theirs.step()
        optimizer.step()
        ours.step()
        assert abs(ours.get_last_lr() - theirs.get_last_lr()[0]) < 1e-15


def test_linear_lr_with_microgpts_settings_decays_as_microgpt_does():
    optimizer = Adam([Value(0.0)], lr=0.01)
    schedule = LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=1000)
    for step in range(1000):
        assert abs(optimizer.lr - 0.01 * (1 - step / 1000)) < 1e-17  # microgpt's lr_t
        schedule.step()


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(start_factor=0.0), r"start_factor must be in \(0, 1\], got 0.0"),
        (dict(start_factor=1.5), r"start_factor must be in \[0.0, 1.0\], got 1.5"),
        (dict(end_factor=-0.1), r"end_factor must be in \[0.0, 1.0\], got -0.1"),
        (dict(total_iters=0), r"total_iters must be a positive int, got 0"),
    ],
)
def test_linear_lr_refuses_factors_outside_torchs_ranges(settings, message):
    with pytest.raises(ValueError, match=message):
        LinearLR(SGD([Value(0.0)], lr=0.1), **settings)
