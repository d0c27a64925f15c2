"""`custom_vjp(f)`, with JAX's name and shape: replace the backward pass of a whole function.

    f = custom_vjp(f)
    f.defvjp(fwd, bwd)   # fwd(*args) -> (out, residuals);  bwd(residuals, out_grad) -> grads

Called with Values (while recording), `f` runs `fwd` under `no_grad()` (fwd gets the arguments
as given, Values and numbers, and its operations record nothing) and records one node per
output whose parents are the Values among the arguments; otherwise it runs `f` itself. The
backward sweep, reaching an output node with its adjoint g, calls `bwd(residuals, g)` with that
very adjoint, so `bwd` may do what no local derivative can, such as clipping g. `bwd` returns one
gradient per argument of f (a list for a list argument; None, or anything, for a number, whose
gradient is not used). Arguments are Values, numbers or flat lists of them.

Outputs. f may return one Value or a list (or tuple) of them. For a list of m outputs, output j
is its own node, and the sweep calls `bwd(residuals, cotangent)` with the cotangent zero except
g_j at j; the gradients of the m calls add up. That is `bwd` on the whole cotangent whenever bwd
is linear in it, as every true VJP is, or acts on its entries one by one in a way that keeps 0
at 0 (clipping each entry); a `bwd` that mixes the entries nonlinearly (clipping the norm of the
whole cotangent) sees one entry at a time.

Nesting. `grad`, `value_and_grad`, `gradients` and `jacobian` (reverse mode) work through f. A
second derivative (`hessian`, `grad` of `grad`, `backward(create_graph=True)`) runs `fwd` again
on the parents, recording, and `bwd` on the resulting residuals and the Value adjoint: it works
when both are written with Value arithmetic and methods, and where they call float() on a Value
(``math.exp(x)``) it raises TypeError naming f, never giving a silent 0. Forward mode (`jvp`,
`jacfwd`, so also `jacfwd(grad(f))`) is refused, as in JAX: a VJP gives no JVP. A tape
(`autograd.trace`) refuses f too: its backward is Python code over residuals, not an array rule.

Pickling: a graph through f pickles when f is importable by its module and name (a top-level
``name = custom_vjp(name)``), as `autograd.primitive`'s do; its residuals must pickle too.

>>> from autograd import Value, grad
>>> @custom_vjp
... def clip_gradient(x):
...     return x
>>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (max(-1.0, min(1.0, g)),))
>>> grad(lambda x: 10 * clip_gradient(x))(2.0)  # d/dx 10 x = 10, clipped to 1
1.0
"""

from __future__ import annotations

import functools
import importlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd import value
from autograd.modes import is_grad_enabled, no_grad, recording
from autograd.rules import Rule
from autograd.value import Value, _n_ary_node


@dataclass(frozen=True, slots=True)
class CustomVjpRule(Rule):
    """The rule of a `custom_vjp` function's nodes: each node keeps its own pullback."""

    function: Any = None  # the CustomVjp

    def __reduce__(self) -> tuple:
        return (getattr, (self.function, "rule"))

    def refusal(self, caller: str) -> str:
        return (
            f"{caller}: the graph goes through the custom_vjp function {self.name!r}, which "
            "defines only its backward pass (a VJP): forward mode and tapes cannot go through "
            "it (as in JAX). Use grad/jacobian/hessian (reverse mode), or write it with "
            "autograd.primitive, whose local derivatives serve every mode"
        )


class CustomVjp:
    """`f` with its backward pass given by `defvjp(fwd, bwd)`; see the module's docstring."""

    def __init__(self, f: Callable[..., Any]) -> None:
        if not callable(f):
            raise TypeError(f"custom_vjp: f must be callable, got {f!r:.80}")
        functools.update_wrapper(self, f)
        self.f = f
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        name = getattr(f, "__name__", "custom_vjp")
        self.rule = CustomVjpRule(name, name, _no_float_forward, _recomputed_entries, function=self)
        self._refused = (
            f"{name}: its fwd or bwd called float() on a Value (math.exp(x) does) while a second "
            "derivative was taken through it, which would cut the graph and make it silently "
            "0. Write fwd and bwd with Value arithmetic and methods to take higher derivatives; "
            "first derivatives work as they are"
        )

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the forward pass `fwd(*args) -> (out, residuals)` and the backward pass
        `bwd(residuals, out_grad) -> (one gradient per argument)`."""
        for what, function in (("fwd", fwd), ("bwd", bwd)):
            if not callable(function):
                name = self.rule.name
                raise TypeError(f"{name}.defvjp: {what} must be callable, got {function!r:.80}")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        leaves = tuple(leaf for leaf in _flat(args) if type(leaf) is Value)
        if not leaves or not is_grad_enabled():
            return self.f(*args)
        if self.fwd is None or self.bwd is None:
            raise TypeError(
                f"{self.rule.name}: custom_vjp function called on Values before its backward "
                f"pass was given: call {self.rule.name}.defvjp(fwd, bwd) first"
            )
        with no_grad():
            found = self.fwd(*args)
        if not isinstance(found, tuple) or len(found) != 2:
            raise TypeError(
                f"{self.rule.name}: fwd must return a pair (out, residuals), got {found!r:.80}"
            )
        out, residuals = found
        if isinstance(out, (list, tuple)):
            m = len(out)
            nodes = [
                self._node(item, leaves, _Pullback(self, args, residuals, (j, m, type(out))))
                for j, item in enumerate(out)
            ]
            return type(out)(nodes)
        return self._node(out, leaves, _Pullback(self, args, residuals, None))

    def _node(self, out: Any, leaves: tuple, pullback: _Pullback) -> Value:
        data = out.data if type(out) is Value else out
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise TypeError(
                f"{self.rule.name}: fwd's out must be a Value, a number or a list of them, "
                f"got {out!r:.80}"
            )
        entries = tuple(_Entry(pullback, i) for i in range(len(leaves)))
        return _n_ary_node(float(data), self.rule, leaves, entries)

    def __reduce__(self) -> tuple:
        module, qualname = self.__module__, self.__qualname__
        try:
            found: Any = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            found = None
        if found is not self:
            raise pickle.PicklingError(
                f"custom_vjp function {self.rule.name!r} cannot be pickled: it is not "
                f"importable as {module}.{qualname}; define it at the top level of a module"
            )
        return (_import, (module, qualname))


def custom_vjp(f: Callable[..., Any]) -> CustomVjp:
    """`f`, whose backward pass `f.defvjp(fwd, bwd)` gives (JAX's `jax.custom_vjp`).

    A stable backward for log(1 + e**x), whose textbook derivative e**x / (1 + e**x) overflows:

    >>> from autograd import grad
    >>> @custom_vjp
    ... def softplus(x):
    ...     return x.softplus()
    >>> softplus.defvjp(lambda x: (x.softplus(), x), lambda x, g: (g * x.sigmoid(),))
    >>> grad(softplus)(1000.0)
    1.0
    """
    return CustomVjp(f)


def _import(module: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _no_float_forward(*xs: float) -> float:
    raise TypeError("a custom_vjp function's node has no float forward: f computes it")


def _flat(args: tuple) -> list:
    return [leaf for arg in args for leaf in (arg if isinstance(arg, (list, tuple)) else (arg,))]


class _Pullback:
    """One output's backward pass: `vjp(g)` is the gradient of each Value among the arguments,
    from `bwd(residuals, cotangent)`; the last one is kept for the node's other parents."""

    __slots__ = ("function", "arguments", "residuals", "output", "_last", "_found")

    def __init__(self, function: CustomVjp, arguments: tuple, residuals: Any, output: Any) -> None:
        self.function, self.arguments, self.residuals = function, arguments, residuals
        self.output = output  # None: the only output; else (j, m, container type)
        self._last: Any = None
        self._found: tuple = ()

    def vjp(self, g: Any) -> tuple:
        if g is not self._last:
            with no_grad():  # first derivatives: numbers (bwd may compute them with Values)
                found = self.pull(self.residuals, g)
            self._found = tuple(x.data if type(x) is Value else x for x in found)
            self._last = g
        return self._found

    def pull(self, residuals: Any, g: Any) -> tuple:
        if self.output is None:
            cotangent = g
        else:
            j, m, container = self.output
            cotangent = container(g if k == j else 0.0 for k in range(m))
        return _gradients(self.function, self.arguments, self.function.bwd(residuals, cotangent))


def _gradients(function: CustomVjp, arguments: tuple, found: Any) -> tuple:
    """bwd's gradients of the Values among the arguments, in order (None counts as 0)."""
    name = function.rule.name
    if not isinstance(found, (tuple, list)) or len(found) != len(arguments):
        raise ValueError(
            f"{name}: bwd must return one gradient per argument, a tuple of {len(arguments)}, "
            f"got {found!r:.80}"
        )
    grads = []
    for position, (argument, g) in enumerate(zip(arguments, found)):
        if type(argument) is Value:
            grads.append(0.0 if g is None else g)
        elif isinstance(argument, (list, tuple)):
            if not isinstance(g, (list, tuple)) or len(g) != len(argument):
                raise ValueError(
                    f"{name}: bwd's gradient of argument {position} must be a list of "
                    f"{len(argument)}, as the argument is, got {g!r:.80}"
                )
            grads += [0.0 if gi is None else gi for a, gi in zip(argument, g) if type(a) is Value]
    return tuple(grads)


class _Recomputed:
    """A pullback for second derivatives: `fwd` run again on the parents, recording, so the
    residuals are Values of their graph, and `bwd` on those and a Value adjoint."""

    __slots__ = ("pullback", "residuals", "_last", "_found")

    def __init__(self, pullback: _Pullback) -> None:
        self.pullback = pullback
        self.residuals: Any = None
        self._last: Any = None
        self._found: tuple = ()

    def vjp(self, g: Any) -> tuple:
        if g is not self._last:
            function = self.pullback.function
            token = value.float_refused.set(function._refused)
            try:
                with recording():
                    if self.residuals is None:
                        self.residuals = function.fwd(*self.pullback.arguments)[1]
                    self._found = self.pullback.pull(self.residuals, g)
            finally:
                value.float_refused.reset(token)
            self._last = g
        return self._found


class _Entry:
    """A local derivative the sweep multiplies by the node's adjoint: `entry * g` is bwd's
    gradient of parent i for the cotangent g (bwd is called once per g, not per parent)."""

    __slots__ = ("pullback", "i")

    def __init__(self, pullback: Any, i: int) -> None:
        self.pullback, self.i = pullback, i

    def __mul__(self, g: Any) -> Any:
        return self.pullback.vjp(g)[self.i]

    __rmul__ = __mul__

    def __float__(self) -> float:
        """bwd's gradient for a unit cotangent: the local derivative, when bwd is linear."""
        return float(self.pullback.vjp(1.0)[self.i])

    def __repr__(self) -> str:
        return f"<bwd of {self.pullback.function.rule.name}, input {self.i}>"


def _recomputed_entries(node: Any, *parents: Any) -> tuple:
    """The rule's `derivatives` on the Value path (second derivatives): entries whose pullback
    records. A formula (drawings) cannot be written: they then name the derivative instead."""
    if type(node) is not Value:
        raise TypeError("a custom_vjp function's local derivatives have no formula")
    recomputed = _Recomputed(node._db[0].pullback)
    return tuple(_Entry(recomputed, i) for i in range(len(parents)))
