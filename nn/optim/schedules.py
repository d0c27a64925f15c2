"""Learning-rate schedules: StepLR, CosineAnnealingLR and LinearLR, with PyTorch's formulas and
state dicts.

A schedule sets its optimizer's `lr` once per epoch (or once per step: `fit`'s
`scheduler_interval`) from the learning rate the optimizer started with (`base_lr`) and the
epochs (or steps) counted so far (`last_epoch`). `from nn.optim import StepLR` finds
them here too. A schedule's `state_dict()` holds its settings and that count, not the rate itself,
which is part of the optimizer's state: save and load both, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

from nn.optim.optimizers import Optimizer, _number, _positive, _rate
from nn.states import check_keys, count


class Schedule:
    """What every schedule has: an optimizer, `base_lr`, `last_epoch`, and a state dict.

    Subclasses name their settings in `_settings` and check them in `_checked`, which the
    constructor and `load_state_dict` both call.

    >>> from autograd import Value
    >>> from nn.optim import SGD
    >>> schedule = StepLR(SGD([Value(0.0)], lr=1.0), step_size=2, gamma=0.5)
    >>> schedule.step()
    >>> schedule.state_dict()
    {'class': 'StepLR', 'base_lr': 1.0, 'last_epoch': 1, 'step_size': 2, 'gamma': 0.5}
    """

    _settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, optimizer: Optimizer, *settings: Any) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        for key, value in zip(self._settings, self._checked(self.base_lr, *settings)):
            setattr(self, key, value)

    def _checked(self, base_lr: float, *settings: Any) -> tuple[Any, ...]:
        """The settings, converted, or a TypeError or ValueError naming the bad one."""
        raise NotImplementedError(f"{type(self).__name__} does not check its settings")

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate for the next."""
        self.last_epoch += 1
        self.optimizer.lr = self._rate_at(self.last_epoch)

    def _rate_at(self, epoch: int) -> float:
        """The learning rate after `epoch` epochs; subclasses give the formula."""
        raise NotImplementedError(f"{type(self).__name__} does not define _rate_at()")

    def get_last_lr(self) -> float:
        """The learning rate the optimizer has now (PyTorch returns a list, one per group)."""
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        """The class name, `base_lr`, `last_epoch` and the settings: plain JSON-ready values."""
        state = {"class": type(self).__name__, "base_lr": self.base_lr}
        state["last_epoch"] = self.last_epoch
        return state | {key: getattr(self, key) for key in self._settings}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from `state`, a `state_dict()` of the same class.

        Everything is checked first: a ValueError names what is wrong (another class, missing or
        unexpected keys, a setting out of range), and the schedule is left as it was. The
        optimizer's learning rate is not touched: it is part of the optimizer's own state.
        """
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        check_keys(state, ["class", "base_lr", "last_epoch", *self._settings], where)
        if state["class"] != name:
            raise ValueError(f"{where}: the state is of a {state['class']!r}, not a {name}")
        last_epoch = count(state["last_epoch"], f"{where}: last_epoch")
        try:
            base_lr = _rate(f"{name}: base_lr", state["base_lr"])
            settings = self._checked(base_lr, *(state[key] for key in self._settings))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None
        self.base_lr, self.last_epoch = base_lr, last_epoch
        for key, value in zip(self._settings, settings):
            setattr(self, key, value)


class StepLR(Schedule):
    """Multiply the learning rate by `gamma` every `step_size` epochs: lr = lr0 gamma**(e // s).

    Call `step()` once per epoch, after the epoch's optimizer steps. PyTorch's `StepLR`.

    >>> from autograd import Value
    >>> from nn.optim import SGD
    >>> opt = SGD([Value(0.0)], lr=1.0)
    >>> schedule = StepLR(opt, step_size=2, gamma=0.5)
    >>> rates = []
    >>> for _ in range(5):
    ...     schedule.step()
    ...     rates.append(schedule.get_last_lr())
    >>> rates
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _settings = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size, gamma)

    def _checked(self, base_lr: float, step_size: Any, gamma: Any) -> tuple[int, float]:
        if isinstance(step_size, bool) or not isinstance(step_size, Integral) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        return int(step_size), _positive("StepLR: gamma", gamma)

    def _rate_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(Schedule):
    """Anneal the learning rate along a half cosine from lr0 down to `eta_min` over `T_max` epochs.

    lr = eta_min + (lr0 - eta_min) (1 + cos(pi e / T_max)) / 2 at epoch e (Loshchilov and Hutter,
    2017, "SGDR: Stochastic gradient descent with warm restarts", without the restarts). Past
    T_max the cosine goes on, rising again, as PyTorch's `CosineAnnealingLR` does.

    >>> from autograd import Value
    >>> from nn.optim import SGD
    >>> opt = SGD([Value(0.0)], lr=1.0)
    >>> schedule = CosineAnnealingLR(opt, T_max=2)
    >>> for _ in range(2):
    ...     schedule.step()
    ...     print(round(schedule.get_last_lr(), 12))
    0.5
    0.0
    """

    _settings = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer, T_max, eta_min)

    def _checked(self, base_lr: float, T_max: Any, eta_min: Any) -> tuple[int, float]:
        if isinstance(T_max, bool) or not isinstance(T_max, Integral) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        return int(T_max), _number("CosineAnnealingLR: eta_min", eta_min, 0.0, base_lr, False)

    def _rate_at(self, epoch: int) -> float:
        cosine = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class LinearLR(Schedule):
    """Scale the learning rate by a factor that moves in a straight line from `start_factor` to
    `end_factor` over `total_iters` steps, then stays: lr = lr0 (s + (e - s) min(n, N) / N)
    after n steps. PyTorch's `LinearLR`, whose formula this is; like it, the constructor sets
    the optimizer's rate to lr0 s at once. `start_factor=1.0, end_factor=0.0, total_iters=N`
    stepped after every optimizer step is microgpt's schedule, lr0 (1 - n / N).

    >>> from autograd import Value
    >>> from nn.optim import SGD
    >>> opt = SGD([Value(0.0)], lr=1.0)
    >>> schedule = LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=4)
    >>> rates = [opt.lr]
    >>> for _ in range(5):
    ...     schedule.step()
    ...     rates.append(schedule.get_last_lr())
    >>> rates
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """

    _settings = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3.0,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        super().__init__(optimizer, start_factor, end_factor, total_iters)
        self.optimizer.lr = self._rate_at(0)

    def _checked(
        self, base_lr: float, start_factor: Any, end_factor: Any, total_iters: Any
    ) -> tuple[float, float, int]:
        start = _number("LinearLR: start_factor", start_factor, 0.0, 1.0, False)
        if start == 0.0:
            raise ValueError("LinearLR: start_factor must be in (0, 1], got 0.0")
        end = _number("LinearLR: end_factor", end_factor, 0.0, 1.0, False)
        if isinstance(total_iters, bool) or not isinstance(total_iters, Integral):
            raise TypeError(f"LinearLR: total_iters must be a positive int, got {total_iters!r}")
        if total_iters < 1:
            raise ValueError(f"LinearLR: total_iters must be a positive int, got {total_iters!r}")
        return start, end, int(total_iters)

    def _rate_at(self, epoch: int) -> float:
        done = min(epoch, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)
