"""Optimizers and gradient clipping, with PyTorch's update rules; the schedules are in nn.schedules.

Gradient descent moves every parameter against its gradient, w <- w - lr * dL/dw (the update rule
of the references). The optimizers here refine the step with momentum or per-parameter adaptive
rates, as the references list them (momentum, AdaGrad, RMSProp, Adam); each follows PyTorch's
formulation, so the same problem gives the same numbers. Weight decay adds wd * w to the gradient
first: the gradient of an L2 penalty (wd / 2) * sum w**2.

A step reads `p.grad` (a float, or a `Value` after `backward(create_graph=True)`: its float is
used). A NaN or infinite gradient raises ValueError naming the parameter before any parameter is
changed: PyTorch would carry the NaN into the weights, where it is harder to trace. So does a
finite gradient whose update overflows (1e308 times a learning rate of 10): the step is undone.
Hyper-parameters are checked a little more strictly than PyTorch checks them: momentum, RMSProp's
alpha and Adam's betas in [0, 1), eps > 0, and a cosine schedule's eta_min no larger than lr.

`state_dict()` holds what a step depends on besides the parameters (the step count, the learning
rate and other hyper-parameters, and each parameter's momentum or running means), as plain
numbers and lists that JSON keeps to the last bit: an optimizer given it by `load_state_dict`
continues bit for bit as the one that saved it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any, ClassVar

from autograd import Value
from nn.states import check_keys, count, finite_floats


def _number(name: str, x: Any, low: float, high: float = math.inf, high_open: bool = True) -> float:
    """`x` as a float, checked to be a real number in [low, high) (or [low, high])."""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a real number, got {x!r}")
    x = float(x)
    inside = low <= x < high if high_open else low <= x <= high
    if not inside:
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must be in {interval}, got {x!r}")
    return x


def _positive(name: str, x: Any) -> float:
    """`x` as a float, checked to be a finite number > 0."""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a real number, got {x!r}")
    if not 0.0 < x < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def _rate(name: str, x: Any) -> float:
    """A learning rate read from a state dict: a finite number >= 0. A schedule may have taken
    it to 0 (CosineAnnealingLR's default eta_min), which a constructor refuses as a setting."""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a real number, got {x!r}")
    if not 0.0 <= x < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)


def _parameter_list(params: Iterable[Value], caller: str) -> list[Value]:
    """The parameters as a list: a non-empty iterable of distinct Values."""
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            f"{caller}: params must be an iterable of Values (such as model.parameters()), "
            f"got {type(params).__name__}"
        )
    found = list(params)
    if not found:
        raise ValueError(f"{caller}: params is empty; there is nothing to optimize")
    first_seen: dict[int, int] = {}
    for i, p in enumerate(found):
        if not isinstance(p, Value):
            raise TypeError(f"{caller}: params[{i}] must be a Value, got {p!r}")
        if id(p) in first_seen:
            raise ValueError(
                f"{caller}: params[{i}] is the same Value as params[{first_seen[id(p)]}]"
            )
        first_seen[id(p)] = i
    return found


def _sqrt(x: Any) -> Any:
    """math.sqrt of a float; NumPy's sqrt of the arrays that compiled training (`nn.train.compiled`)
    passes to `_update`, which updates every parameter at once with index `slice(None)`."""
    if type(x) is float:
        return math.sqrt(x)
    import numpy

    return numpy.sqrt(x)


def _gradients(params: list[Value], caller: str) -> list[float]:
    """Each parameter's gradient as a float, refusing NaN and infinities."""
    grads = [p.grad for p in params]
    if set(map(type, grads)) == _FLOATS and all(map(math.isfinite, grads)):
        return grads  # the common case, checked in bulk
    grads = []
    for i, p in enumerate(params):
        g = float(p.grad.data if isinstance(p.grad, Value) else p.grad)
        if not math.isfinite(g):
            raise ValueError(
                f"{caller}: parameter {i} has gradient {g!r}; the loss or its gradient overflowed "
                "(try a smaller learning rate, or clip_grad_norm)"
            )
        grads.append(g)
    return grads


_FLOATS = {float}


def _overflowed(caller: str, i: int, old: float, new: float, state: dict) -> ValueError:
    """The error of a step that would make parameter i (`old` -> `new`) or its running `state`
    (by name) NaN or infinite, as `Optimizer.step` and compiled training raise it."""
    bad = [f"{key} {value!r}" for key, value in state.items() if not math.isfinite(value)]
    what = f"{new!r}" if not bad else f"{new!r} with running state {', '.join(bad)}"
    return ValueError(
        f"{caller}: parameter {i} would step from {old!r} to {what}; the update overflowed "
        "(try a smaller learning rate, or clip_grad_norm); nothing was changed"
    )


class Optimizer:
    """The parameters, the learning rate `lr`, weight decay; subclasses give the update rule.

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> w.grad = 2.0
    >>> opt.step()
    >>> round(w.data, 12), opt.steps
    (0.8, 1)
    """

    # the constructor arguments a state dict records, and the running values it records, one
    # float per parameter, by their names in PyTorch's state dicts and the attributes holding them
    hyperparameters: ClassVar[tuple[str, ...]] = ("lr", "weight_decay")
    _buffers: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Iterable[Value], lr: float, weight_decay: float = 0.0) -> None:
        name = type(self).__name__
        self.params = _parameter_list(params, name)
        self.lr = _positive(f"{name}: lr", lr)
        self.weight_decay = _number(f"{name}: weight_decay", weight_decay, 0.0)
        self.steps = 0  # updates made so far; schedules set `lr` between them

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0, before the next backward pass."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter's `.data` from its gradient by the update rule.

        A step that would take a parameter, or its running state, to NaN or an infinity (a
        finite gradient times a large learning rate can overflow) raises ValueError and changes
        nothing: not the parameters, not the running state, not the step count.
        """
        caller = f"{type(self).__name__}.step"
        params = self.params
        grads = _gradients(params, caller)
        saved = {key: list(getattr(self, name)) for key, name in self._buffers.items()}
        self.steps += 1
        if self.weight_decay:
            grads = [g + self.weight_decay * p.data for p, g in zip(params, grads)]
        update = self._update
        new = [p.data - update(i, g) for i, (p, g) in enumerate(zip(params, grads))]
        buffers = [getattr(self, name) for name in self._buffers.values()]
        if all(map(math.isfinite, new)) and all(all(map(math.isfinite, b)) for b in buffers):
            for p, w in zip(params, new):
                p.data = w
            return
        for i, (p, w) in enumerate(zip(params, new)):  # find the first that overflowed
            state = {key: getattr(self, name)[i] for key, name in self._buffers.items()}
            if not math.isfinite(w) or not all(map(math.isfinite, state.values())):
                self.steps -= 1
                for key, name in self._buffers.items():
                    setattr(self, name, saved[key])
                raise _overflowed(caller, i, p.data, w, state)

    def _update(self, i: int, g: float) -> float:
        """The amount to subtract from parameter i, given its gradient g (decay included)."""
        raise NotImplementedError(f"{type(self).__name__} does not define an update rule")

    def state_dict(self) -> dict[str, Any]:
        """The class, the number of parameters, the step count, the hyper-parameters, the buffers.

        >>> w = Value(1.0)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = 2.0
        >>> opt.step()
        >>> opt.state_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'class': 'SGD', 'parameters': 1, 'steps': 1,
         'hyperparameters': {'lr': 0.1, 'momentum': 0.9, 'nesterov': False, 'weight_decay': 0.0},
         'state': {'momentum_buffer': [2.0]}}
        """
        hyperparameters = {name: getattr(self, name) for name in self.hyperparameters}
        return {
            "class": type(self).__name__,
            "parameters": len(self.params),
            "steps": self.steps,
            "hyperparameters": {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in hyperparameters.items()
            },
            "state": {
                key: list(getattr(self, attribute)) for key, attribute in self._buffers.items()
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state`, a `state_dict()` of an optimizer of this class and size.

        Everything is checked first, as the constructor checks its arguments: a ValueError names
        what is wrong (another class, another number of parameters, missing or unexpected keys,
        a hyper-parameter out of range, a buffer of the wrong length or holding a non-finite
        number), and the optimizer is left as it was. The parameters' values are the model's.

        >>> w = Value(1.0)
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = 3.0
        >>> opt.step()
        >>> again = Adam([w])
        >>> again.load_state_dict(opt.state_dict())
        >>> again.steps, again.lr, again.state_dict() == opt.state_dict()
        (1, 0.1, True)
        """
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        check_keys(state, ["class", "parameters", "steps", "hyperparameters", "state"], where)
        if state["class"] != name:
            raise ValueError(f"{where}: the state is of a {state['class']!r}, not a {name}")
        if count(state["parameters"], f"{where}: parameters") != len(self.params):
            raise ValueError(
                f"{where}: the state is for {state['parameters']} parameters, "
                f"this optimizer has {len(self.params)}"
            )
        steps = count(state["steps"], f"{where}: steps")
        given = check_keys(
            state["hyperparameters"], self.hyperparameters, f"{where}: hyperparameters"
        )
        for key, value in given.items():
            if isinstance(getattr(self, key), bool) and not isinstance(value, bool):
                raise ValueError(
                    f"{where}: hyperparameters: {key} must be true or false, got {value!r}"
                )
        try:  # the constructor's own checks, on a copy that is then dropped; not of the rate,
            # which may be 0 in a state (see `_rate`)
            lr = _rate(f"{name}: lr", given["lr"])
            checked = type(self)(self.params, **{**given, "lr": 1.0})
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: hyperparameters: {error}") from None
        buffers = check_keys(state["state"], self._buffers, f"{where}: state")
        values = {
            key: finite_floats(buffers[key], len(self.params), f"{where}: state[{key!r}]")
            for key in self._buffers
        }
        self.steps = steps
        for key in self.hyperparameters:
            setattr(self, key, getattr(checked, key))
        self.lr = lr
        for key, attribute in self._buffers.items():
            setattr(self, attribute, values[key])


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum (Polyak, 1964) and Nesterov's variant.

    Without momentum, w <- w - lr g. With momentum mu, a velocity b accumulates the gradients
    (b <- mu b + g, starting at b = g) and w <- w - lr b; Nesterov's momentum (Sutskever et al.,
    2013, "On the importance of initialization and momentum in deep learning") steps along
    g + mu b instead, a look ahead along the velocity. PyTorch's `torch.optim.SGD`.

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = 1.0
    ...     opt.step()
    >>> round(w.data, 12)  # steps of 0.1 * 1 and 0.1 * (0.9 * 1 + 1)
    0.71
    """

    hyperparameters = ("lr", "momentum", "nesterov", "weight_decay")
    _buffers = {"momentum_buffer": "_velocity"}

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = _number("SGD: momentum", momentum, 0.0, 1.0)
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)
        self._velocity = [0.0] * len(self.params)

    def _update(self, i: int, g: float) -> float:
        if not self.momentum:
            return self.lr * g
        b = self._velocity[i] = self.momentum * self._velocity[i] + g  # b = g at the first step
        return self.lr * (g + self.momentum * b if self.nesterov else b)


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan and Singer, 2011, JMLR): each parameter's own, shrinking rate.

    G <- G + g**2 sums the squared gradients seen so far, and w <- w - lr g / (sqrt(G) + eps):
    parameters with large past gradients take small steps. PyTorch's `torch.optim.Adagrad`.

    >>> w = Value(1.0)
    >>> opt = AdaGrad([w], lr=0.5)
    >>> w.grad = 4.0
    >>> opt.step()
    >>> round(w.data, 9)  # 1 - 0.5 * 4 / sqrt(16)
    0.5
    """

    hyperparameters = ("lr", "eps", "weight_decay")
    _buffers = {"sum": "_squares"}

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.eps = _positive("AdaGrad: eps", eps)
        self._squares = [0.0] * len(self.params)

    def _update(self, i: int, g: float) -> float:
        self._squares[i] += g * g
        return self.lr * g / (_sqrt(self._squares[i]) + self.eps)


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012, Coursera "Neural Networks for Machine Learning", lecture 6e).

    A running mean of squared gradients, v <- alpha v + (1 - alpha) g**2, scales the step:
    w <- w - lr g / (sqrt(v) + eps). With momentum mu, b <- mu b + g / (sqrt(v) + eps) and
    w <- w - lr b. PyTorch's `torch.optim.RMSprop` (not centered).

    >>> w = Value(1.0)
    >>> opt = RMSProp([w], lr=0.01, alpha=0.75)
    >>> w.grad = 3.0
    >>> opt.step()
    >>> round(w.data, 9)  # v = 0.25 * 9, so the step is 0.01 * 3 / 1.5
    0.98
    """

    hyperparameters = ("lr", "alpha", "eps", "momentum", "weight_decay")
    _buffers = {"square_avg": "_mean_squares", "momentum_buffer": "_velocity"}

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.alpha = _number("RMSProp: alpha", alpha, 0.0, 1.0)
        self.eps = _positive("RMSProp: eps", eps)
        self.momentum = _number("RMSProp: momentum", momentum, 0.0, 1.0)
        self._mean_squares = [0.0] * len(self.params)
        self._velocity = [0.0] * len(self.params)

    def _update(self, i: int, g: float) -> float:
        v = self.alpha * self._mean_squares[i] + (1.0 - self.alpha) * g * g
        self._mean_squares[i] = v
        scaled = g / (_sqrt(v) + self.eps)
        if not self.momentum:
            return self.lr * scaled
        self._velocity[i] = self.momentum * self._velocity[i] + scaled
        return self.lr * self._velocity[i]


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015, "Adam: A method for stochastic optimization"), bias-corrected.

    Running means of the gradient and of its square, m <- b1 m + (1 - b1) g and
    v <- b2 v + (1 - b2) g**2, start at 0, so at step t they are divided by 1 - b**t:
    w <- w - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps). PyTorch's `torch.optim.Adam`.

    >>> w = Value(1.0)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = 123.0
    >>> opt.step()
    >>> round(w.data, 6)  # the first step is lr * g / |g|, whatever the size of g
    0.9
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    _buffers = {"exp_avg": "_means", "exp_avg_sq": "_mean_squares"}

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _number("Adam: betas[0]", betas[0], 0.0, 1.0),
            _number("Adam: betas[1]", betas[1], 0.0, 1.0),
        )
        self.eps = _positive("Adam: eps", eps)
        self._means = [0.0] * len(self.params)
        self._mean_squares = [0.0] * len(self.params)

    def _update(self, i: int, g: float) -> float:
        beta1, beta2 = self.betas
        m = self._means[i] = beta1 * self._means[i] + (1.0 - beta1) * g
        v = self._mean_squares[i] = beta2 * self._mean_squares[i] + (1.0 - beta2) * g * g
        # PyTorch's grouping; its kernels may fuse multiply-adds, so the last bits can differ.
        step_size = self.lr / (1.0 - beta1**self.steps)
        denominator = _sqrt(v) / math.sqrt(1.0 - beta2**self.steps) + self.eps
        return step_size * (m / denominator)


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale the gradients so their global L2 norm sqrt(sum g**2) is at most `max_norm`.

    Returns the norm before clipping. Each gradient is multiplied by max_norm / (norm + 1e-6)
    when that is below 1, as PyTorch's `clip_grad_norm_` does: the direction of the step is kept
    and only its length capped, against exploding gradients (Pascanu, Mikolov and Bengio, 2013,
    "On the difficulty of training recurrent neural networks").

    >>> a, b = Value(0.0), Value(0.0)
    >>> a.grad, b.grad = 3.0, 4.0
    >>> clip_grad_norm([a, b], max_norm=1.0)
    5.0
    >>> round(a.grad, 6), round(b.grad, 6)
    (0.6, 0.8)
    """
    found = _parameter_list(params, "clip_grad_norm")
    limit = _positive("clip_grad_norm: max_norm", max_norm)
    norm = math.hypot(*_gradients(found, "clip_grad_norm"))
    scale = limit / (norm + 1e-6)
    if scale < 1.0:
        for p in found:
            p.grad = p.grad * scale
    return norm
