"""The table of operations: for each, the forward pass on floats and the local derivatives.

Every operation is one `Rule`. `forward` takes floats and returns a float, raising the `math`
module's exceptions for inputs outside its domain. `derivatives(out, *inputs)` returns the local
derivative d(out)/d(input) for each input. It is written with plain arithmetic and the
polymorphic helpers below, so the same function runs on floats (first derivatives, computed once
when the node is made) and on `Value`s (a differentiable graph of the derivative, for second and
higher derivatives). A rule whose local derivatives are piecewise constant says so with
`constant_locals=True`: its float locals are then exact on the `Value` path too.

Operations that take a number besides their inputs (``x ** 3``, ``2 ** x``) get that number
as an extra argument after the inputs; `Rule.bind` stores it for the `Value` path.

Array forms. A tape (`autograd.trace`) runs every rule on NumPy arrays or PyTorch tensors, a
whole level of nodes times a whole batch in one call. Most formulas run unchanged on arrays (``x *
y``, ``1.0 - out * out``) and the helpers below (`sigmoid_of`, `exp_of`, ...) dispatch on arrays
too. Where a float form branches (``0.0 if x <= 0.0 else x``) or calls `math`, the rule carries
`array_forward` and/or `array_derivatives`: the same formula with `np.where` and the array
library's functions, taking a namespace of them as its first argument `np` (NumPy's,
`autograd.array_namespace.NUMPY_NAMESPACE`, or PyTorch's,
`autograd.tape.torch_backend.TorchNamespace`), so this
module imports neither. They call only functions of the namespace, never an array's methods, and
only these, named and used as in the Python array API standard (`where` with at least one array,
`argmax` of numbers, `arange` on the data's device): abs, arange, argmax, astype, broadcast_to,
cos, exp, isfinite, log, log1p, max, maximum, ones_like, sin, sqrt, sum, tanh, trunc, where, the
constants inf and nan, and erf and erfc, which the standard lacks. A rule whose float form can
raise (the `math` module's domain errors, overflow, division by zero) says so with `raises=True`;
its array form returns a non-finite number there (an array form marks a domain error that NumPy
computes finitely, such as a negative base of ``x ** y``, as NaN), and `autograd.tape.arrays` runs
the float form on exactly those entries, so they raise the same exception as the eager engine.
n-ary rules take their operands stacked on axis -2 (`stacked=True`): an array of shape (..., n,
batch) per group of operands (weights, then inputs).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# Shared tuples of constant local derivatives: no allocation for the commonest nodes.
_ONE, _MINUS_ONE, _ONE_ONE, _ONE_MINUS_ONE = (1.0,), (-1.0,), (1.0, 1.0), (1.0, -1.0)


@dataclass(frozen=True, slots=True)
class Rule:
    """One operation: its name, the symbol graphs show, forward and local derivatives."""

    name: str
    symbol: str
    forward: Callable[..., float]
    derivatives: Callable[..., tuple]
    constant_locals: bool = False
    constant: Any = None
    array_forward: Callable[..., Any] | None = None  # (np, *inputs); None: `forward` as it is
    array_derivatives: Callable[..., tuple] | None = None  # (np, out, *inputs); None: `derivatives`
    raises: bool = False  # forward or derivatives can raise: non-finite array entries are rechecked
    stacked: bool = False  # n-ary: the array forms take operands stacked on axis -2

    def bind(self, constant: float) -> Rule:
        """This rule with the number it was applied with, kept for the Value path."""
        key = (self.name, constant)
        bound = _BOUND_RULES.get(key)
        if bound is None:
            bound = replace(self, constant=constant, symbol=self.symbol.format(constant))
            if len(_BOUND_RULES) < _MAX_BOUND_RULES:
                _BOUND_RULES[key] = bound
        return bound


# Bound rules are made once per (rule, number): `x ** 2` in a loop should not build a Rule per node.
# Shared by every thread: two threads binding the same number at once make two equal rules, and
# one of them is kept (a dict's get and set are atomic under the GIL), which is harmless.
_BOUND_RULES: dict[tuple[str, float], Rule] = {}
_MAX_BOUND_RULES = 1024


def _domain_error(op: str, x: float, need: str) -> ValueError:
    return ValueError(f"{op}: math domain error: {op}({x!r}) needs {need}")


# Helpers that run on a float or on a Value, so one derivative formula serves both.
def _sigmoid_float(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(np: Any, x: Any) -> Any:
    # _sigmoid_float on arrays: e = e**-|x| never overflows, and each side takes its own formula
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _numpy_namespace() -> Any:
    from autograd.array_namespace import NUMPY_NAMESPACE  # NumPy, an extra: only arrays lead here

    return NUMPY_NAMESPACE


def _either(
    float_fn: Callable[[float], float], method: str, array_fn: Callable[[Any, Any], Any]
) -> Callable[[Any], Any]:
    """`float_fn` on a number, the method of that name on a Value or a PyTorch tensor (both have
    .exp(), .sigmoid(), .erf(), ...), `array_fn` (given NumPy's namespace) on a NumPy array."""

    def apply(x):
        if isinstance(x, (int, float)):
            return float_fn(x)
        bound = getattr(x, method, None)  # NumPy arrays have no .exp(), .sigmoid(), ...
        return bound() if bound is not None else array_fn(_numpy_namespace(), x)

    apply.__name__ = method
    return apply


sigmoid_of = _either(_sigmoid_float, "sigmoid", _sigmoid_array)
exp_of = _either(math.exp, "exp", lambda np, x: np.exp(x))
log_of = _either(math.log, "log", lambda np, x: np.log(x))
erf_of = _either(math.erf, "erf", lambda np, x: np.erf(x))
sin_of = _either(math.sin, "sin", lambda np, x: np.sin(x))
cos_of = _either(math.cos, "cos", lambda np, x: np.cos(x))


# Forward passes that check their domain or avoid overflow.
def _divide(x: float, y: float) -> float:
    if y == 0.0:
        raise ZeroDivisionError(f"division by zero: {x!r} / {y!r}")
    return x / y


def _reciprocal_scaled(x: float, c: float) -> float:
    return _divide(c, x)


def _log(x: float) -> float:
    if x <= 0.0:
        raise _domain_error("log", x, "a positive number")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise _domain_error("sqrt", x, "a non-negative number")
    return math.sqrt(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) is too large for a float") from None


def _power(x: float, n: float) -> float:
    if x == 0.0 and n < 0.0:
        raise ZeroDivisionError(f"pow: 0.0 cannot be raised to the negative power {n!r}")
    if x < 0.0 and n != int(n):
        raise _domain_error("pow", x, f"a non-negative base for the fractional exponent {n!r}")
    try:
        return x**n
    except OverflowError:
        raise OverflowError(f"pow: {x!r} ** {n!r} is too large for a float") from None


def _power_of_values(x: float, y: float) -> float:
    if x < 0.0:
        raise _domain_error(
            "pow", x, "a non-negative base when the exponent is a Value (d/dy x**y = x**y log x)"
        )
    return _power(x, y)


def _constant_to_power(x: float, c: float) -> float:
    if c < 0.0:
        raise _domain_error("pow", c, "a non-negative base when the exponent is a Value")
    return _power(c, x)


def _sin(x: float) -> float:
    try:
        return math.sin(x)
    except ValueError:
        raise _domain_error("sin", x, "a finite number") from None


def _cos(x: float) -> float:
    try:
        return math.cos(x)
    except ValueError:
        raise _domain_error("cos", x, "a finite number") from None


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _silu(x: float) -> float:
    return x * _sigmoid_float(x)


def _gelu(x: float) -> float:
    return x * _normal_cdf(x)


def _number(x: Any) -> Any:
    """What a derivative's branch compares: a Value's data (a Value refuses to equal a number),
    else x itself, a float or a formula of autograd.formulas (which compares its own value)."""
    return x if type(x) is float else getattr(x, "data", x)


def _power_slope(out, x, n):
    # d/dx x**n = n * x**(n-1), and 0 for n = 0 even at x = 0, where x**(n-1) is undefined;
    # the one-sided slope is +inf at x = 0 when 0 < n < 1
    if n == 0:
        return (0.0,)
    if 0.0 < n < 1.0 and _number(x) == 0:
        return (math.inf,)
    return (n * x ** (n - 1),)


def _power_slope_array(np, out, x, n):
    # _power_slope with np.where: the same three cases
    general = np.where(n == 0, 0.0, n * x ** (n - 1))
    return (np.where((x == 0) & (0.0 < n) & (n < 1.0), np.inf, general),)


def _sqrt_slope(out, x):
    # d/dx sqrt(x) = 1 / (2 sqrt(x)); the one-sided slope is +inf at x = 0
    if _number(out) == 0:
        return (math.inf,)
    return (0.5 / out,)


def _pow_of_values_slopes(out, x, y):
    # d/dx x**y = y * x**(y-1);  d/dy x**y = x**y * log(x), which tends to 0 as x -> 0 for y > 0
    d_base = _power_slope(out, x, y)[0] if isinstance(y, (int, float)) else y * x ** (y - 1)
    d_exponent = 0.0 if _number(x) == 0 else out * log_of(x)
    return (d_base, d_exponent)


def _constant_to_power_slope(out, x, c):
    # d/dx c**x = c**x * log(c), which is 0 at c = 0 for x > 0
    return (0.0 if c == 0 else out * math.log(c),)


def _normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2 = erfc(-x / sqrt(2)) / 2, the standard normal CDF.

    Computed by erfc: far into the left tail erf is within rounding of -1 and the first form
    cancels (at x = -6 it keeps 7 digits of Phi, at x = -8.5 none), where erfc keeps them all. On
    a number, NumPy array or PyTorch tensor it is erfc. A Value has no erfc node: its graph is the
    first form, whose derivatives erf'/2 do not cancel, shifted by a constant to erfc's value.
    """
    if isinstance(x, (int, float)):
        return 0.5 * math.erfc(-x / _SQRT_2)
    if hasattr(x, "erfc"):  # a PyTorch tensor
        return 0.5 * (-x / _SQRT_2).erfc()
    if hasattr(x, "erf"):  # a Value, or a formula of autograd.drawing.formulas (which has no .data)
        cancelling = 0.5 * (1.0 + (x / _SQRT_2).erf())
        if not hasattr(cancelling, "data"):
            return cancelling
        return cancelling + (0.5 * math.erfc(-x.data / _SQRT_2) - cancelling.data)
    return 0.5 * _numpy_namespace().erfc(-x / _SQRT_2)


def _gelu_slope(out, x):
    # d/dx x Phi(x) = Phi(x) + x phi(x), Phi the standard normal CDF and phi its density
    density = exp_of(-0.5 * x * x) / _SQRT_2PI
    return (_normal_cdf(x) + x * density,)


def _silu_slope(out, x):
    # d/dx x s(x) = s(x) (1 + x (1 - s(x))), s the logistic sigmoid
    s = sigmoid_of(x)
    return (s * (1.0 + x * (1.0 - s)),)


def _nan_where(np, bad, values):
    """`values` with NaN where `bad`: a domain error NumPy would compute finitely, so the array
    path hands that entry to the float form, which raises."""
    return np.where(bad, np.nan, values)


ADD = Rule("add", "+", operator.add, lambda out, x, y: _ONE_ONE, constant_locals=True)
SUB = Rule("sub", "-", operator.sub, lambda out, x, y: _ONE_MINUS_ONE, constant_locals=True)
MUL = Rule("mul", "*", operator.mul, lambda out, x, y: (y, x))  # d(xy) = y dx + x dy
# d(x/y) = dx / y - x / y**2 dy = (dx - out dy) / y
DIV = Rule(
    "div", "/", _divide, lambda out, x, y: (1.0 / y, -out / y), raises=True,
    array_forward=lambda np, x, y: x / y,
)  # fmt: skip
POW = Rule(
    "pow", "**", _power_of_values, _pow_of_values_slopes, raises=True,
    array_forward=lambda np, x, y: _nan_where(np, x < 0.0, x**y),
    array_derivatives=lambda np, out, x, y: (
        _power_slope_array(np, out, x, y)[0], np.where(x == 0, 0.0, out * np.log(x))
    ),
)  # fmt: skip

# One Value and one number c.  d(x + c)/dx = 1, d(c - x)/dx = -1, d(c x)/dx = c
ADD_CONSTANT = Rule("add_constant", "+", operator.add, lambda out, x, c: _ONE, constant_locals=True)
SUBTRACT_FROM_CONSTANT = Rule(
    "subtract_from_constant", "-", lambda x, c: c - x, lambda out, x, c: _MINUS_ONE, True
)
MUL_CONSTANT = Rule("mul_constant", "*", operator.mul, lambda out, x, c: (c,), True)
# d(x/c)/dx = 1/c; the caller has already refused c = 0
DIVIDE_BY_CONSTANT = Rule(
    "divide_by_constant", "/", lambda x, c: x / c, lambda out, x, c: (1.0 / c,), True, raises=True
)
# d(c/x)/dx = -c / x**2 = -out / x, which needs no c: the rule stays unbound on the Value path
DIVIDE_CONSTANT = Rule(
    "divide_constant", "/", _reciprocal_scaled, lambda out, x, c=None: (-out / x,), raises=True,
    array_forward=lambda np, x, c: c / x,
)  # fmt: skip
POW_CONSTANT = Rule(
    "pow_constant", "**{}", _power, _power_slope, raises=True,
    array_forward=lambda np, x, n: _nan_where(
        np, (x < 0.0) & ((n != np.trunc(n)) | ~np.isfinite(n)), x**n
    ),
    array_derivatives=_power_slope_array,
)  # fmt: skip
CONSTANT_TO_POW = Rule(
    "constant_to_pow", "{}**", _constant_to_power, _constant_to_power_slope, raises=True,
    array_forward=lambda np, x, c: _nan_where(np, c < 0.0, c**x),
    array_derivatives=lambda np, out, x, c: (np.where(c == 0, 0.0, out * np.log(c)),),
)  # fmt: skip

NEG = Rule("neg", "-", lambda x: -x, lambda out, x: _MINUS_ONE, constant_locals=True)
# d|x|/dx = sign(x), taken as 0 at x = 0 (as PyTorch does)
ABS = Rule(
    "abs", "abs", abs, lambda out, x: (1.0 if x > 0 else -1.0 if x < 0 else 0.0,), True,
    array_derivatives=lambda np, out, x: (np.astype(x > 0, x.dtype) - np.astype(x < 0, x.dtype),),
)  # fmt: skip
EXP = Rule(  # d/dx e**x = e**x
    "exp", "exp", _exp, lambda out, x: (out,), raises=True, array_forward=lambda np, x: np.exp(x)
)
LOG = Rule(  # d/dx log x = 1/x
    "log", "log", _log, lambda out, x: (1.0 / x,), raises=True,
    array_forward=lambda np, x: np.log(x),
)  # fmt: skip
SQRT = Rule(
    "sqrt", "sqrt", _sqrt, _sqrt_slope, raises=True, array_forward=lambda np, x: np.sqrt(x),
    array_derivatives=lambda np, out, x: (np.where(out == 0, np.inf, 0.5 / out),),
)  # fmt: skip
TANH = Rule(  # 1 - tanh(x)**2
    "tanh", "tanh", math.tanh, lambda out, x: (1.0 - out * out,),
    array_forward=lambda np, x: np.tanh(x),
)  # fmt: skip
# d/dx s(x) = s(x) (1 - s(x))
SIGMOID = Rule(
    "sigmoid", "sigmoid", _sigmoid_float, lambda out, x: (out * (1.0 - out),),
    array_forward=_sigmoid_array,
)  # fmt: skip
# d/dx max(0, x) = 1 for x > 0, else 0
RELU = Rule(
    "relu", "ReLU", lambda x: 0.0 if x <= 0.0 else x, lambda out, x: (1.0 if x > 0 else 0.0,), True,
    array_forward=lambda np, x: np.maximum(x, 0.0),  # NaN stays NaN, as 0.0 if nan <= 0.0 else x
    array_derivatives=lambda np, out, x: (np.astype(x > 0.0, x.dtype),),
)  # fmt: skip
# d/dx leaky_relu(x) = 1 for x > 0, else alpha
LEAKY_RELU = Rule(
    "leaky_relu",
    "leaky_relu",
    lambda x, alpha: alpha * x if x <= 0.0 else x,
    lambda out, x, alpha: (1.0 if x > 0 else alpha,),
    constant_locals=True,
    array_forward=lambda np, x, alpha: np.where(x <= 0.0, alpha * x, x),
    array_derivatives=lambda np, out, x, alpha: (np.where(x > 0, 1.0, alpha),),
)
# d/dx log(1 + e**x) = s(x)
SOFTPLUS = Rule(
    "softplus", "softplus", _softplus, lambda out, x: (sigmoid_of(x),),
    array_forward=lambda np, x: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))),
)  # fmt: skip
SILU = Rule(
    "silu", "silu", _silu, _silu_slope, array_forward=lambda np, x: x * _sigmoid_array(np, x)
)
GELU = Rule(
    "gelu", "gelu", _gelu, _gelu_slope,
    array_forward=lambda np, x: 0.5 * x * np.erfc(-x / _SQRT_2),
)  # fmt: skip
# d/dx erf(x) = 2 / sqrt(pi) * e**(-x**2)
ERF = Rule(
    "erf", "erf", math.erf, lambda out, x: (_TWO_OVER_SQRT_PI * exp_of(-(x * x)),),
    array_forward=lambda np, x: np.erf(x),
)  # fmt: skip
SIN = Rule(  # d/dx sin x = cos x; sin(inf) is a domain error
    "sin", "sin", _sin, lambda out, x: (cos_of(x),), raises=True,
    array_forward=lambda np, x: np.sin(x),
)  # fmt: skip
COS = Rule(  # d/dx cos x = -sin x
    "cos", "cos", _cos, lambda out, x: (-sin_of(x),), raises=True,
    array_forward=lambda np, x: np.cos(x),
)  # fmt: skip


def exact_sum(terms: Any, op: str) -> float:
    """math.fsum(terms), whose errors name the operation: inf and -inf among the terms have no
    sum (ValueError), and a sum past the largest float overflows (OverflowError)."""
    try:
        return math.fsum(terms)
    except ValueError:
        raise ValueError(
            f"{op}: the terms hold both inf and -inf, whose sum is undefined"
        ) from None
    except OverflowError:
        raise OverflowError(f"{op}: the sum of the terms is too large for a float") from None


def _dot(*weights_then_inputs: float) -> float:
    n = len(weights_then_inputs) // 2
    pairs = zip(weights_then_inputs[:n], weights_then_inputs[n:])
    return exact_sum((w * x for w, x in pairs), "dot")


def _first_max_one_hot(out, *xs):
    # d max(x1, ..., xn)/dxi = 1 for the first i where xi is the maximum, else 0
    i = xs.index(out)
    return (0.0,) * i + (1.0,) + (0.0,) * (len(xs) - i - 1)


def _first_max_one_hot_array(np, out, xs):
    first = np.argmax(np.astype(xs == out[..., None, :], xs.dtype), axis=-2)
    position = np.arange(xs.shape[-2], device=xs.device)[:, None]
    return (np.astype(position == first[..., None, :], xs.dtype),)


# n-ary nodes: one node with many parents, so a sum or a neuron's dot product costs one node.
# fsum is exact; NumPy's sums round as they go, so arrays agree to a few units in the last place
# of the largest term. fsum raises on inf - inf and on an intermediate overflow: raises=True.
# d(x1 + ... + xn)/dxi = 1
SUM = Rule(
    "sum", "sum", lambda *xs: exact_sum(xs, "sum_values"), lambda out, *xs: (1.0,) * len(xs), True,
    array_forward=lambda np, xs: np.sum(xs, axis=-2),
    array_derivatives=lambda np, out, xs: (np.ones_like(xs),),
    raises=True, stacked=True,
)  # fmt: skip
# d(w . x)/dwi = xi and d(w . x)/dxi = wi; the inputs are the weights, then the values
DOT = Rule(
    "dot", "dot", _dot, lambda out, *wx: wx[len(wx) // 2 :] + wx[: len(wx) // 2],
    array_forward=lambda np, w, x: np.sum(w * x, axis=-2),
    array_derivatives=lambda np, out, w, x: (x, w),
    raises=True, stacked=True,
)  # fmt: skip

# A dot product with constant inputs (a first layer fed with data): only the weights are parents,
# and d(w . c)/dwi = ci, constants on the Value path too. The inputs c come after the weights.
DOT_CONSTANT = Rule(
    "dot_constant",
    "dot",
    lambda *weights_then_c: _dot(*weights_then_c[:-1], *weights_then_c[-1]),
    lambda out, *weights_then_c: weights_then_c[-1],
    constant_locals=True,
    array_forward=lambda np, w, c: np.sum(w * c, axis=-2),
    array_derivatives=lambda np, out, w, c: (np.broadcast_to(c, w.shape),),
    raises=True,
    stacked=True,
)
# The largest of n values (max-like choices are nodes, so a tape can replay them): the first
# maximum takes the whole derivative, as a subgradient; Python's max() picks the same entry.
MAX = Rule(
    "max", "max", lambda *xs: max(xs), _first_max_one_hot, True,
    array_forward=lambda np, xs: np.max(xs, axis=-2),
    array_derivatives=_first_max_one_hot_array,
    raises=True, stacked=True,
)  # fmt: skip

UNARY_RULES = {
    rule.name: rule
    for rule in (NEG, ABS, EXP, LOG, SQRT, TANH, SIGMOID, RELU, SOFTPLUS, SILU, GELU, ERF, SIN, COS)
}


# --- rules by name ----------------------------------------------------------------------------
# Pickled graphs name their rules (autograd/pickling.py); loading looks the name up here. Each
# entry keeps the module the rule was made in, which loading imports when the name is missing:
# a user's primitive made at the top level of an importable module registers itself again there.
_REGISTERED: dict[str, tuple[Rule, str | None]] = {}


def register(rule: Rule, home: str | None = None) -> Rule:
    """Enter `rule` in the table of rules by name, which loading a pickled graph reads.

    `home` is the module that makes the rule (None for this module's): loading a graph imports it
    when no rule of that name is registered yet. A name is taken once; registering it again from
    the same home (a module or notebook cell run twice) replaces the rule, from another refuses.

    >>> by_name()["tanh"] is TANH
    True
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"register: expected a Rule, got {type(rule).__name__} {rule!r:.80}")
    held = _REGISTERED.get(rule.name)
    if held is not None and held[0] is not rule and held[1] != home:
        where = held[1] or __name__
        raise ValueError(
            f"register: a rule named {rule.name!r} is already registered (from {where}); "
            "give this one another name"
        )
    _REGISTERED[rule.name] = (rule, home)
    return rule


def by_name() -> dict[str, Rule]:
    """Every registered rule by its name: this table's, and those registered since."""
    return {name: rule for name, (rule, _home) in _REGISTERED.items()}


def registered(name: str) -> tuple[Rule, str | None] | None:
    """(rule, home) registered under `name`, or None."""
    return _REGISTERED.get(name)


def named(name: str, home: str | None = None) -> Rule:
    """The rule registered under `name`, importing `home` first if it is not registered yet.

    Raises LookupError, saying what to do, when no module registers it.
    """
    held = _REGISTERED.get(name)
    if held is None and home is not None:
        import importlib  # only when loading names a rule from elsewhere

        try:
            importlib.import_module(home)
        except ImportError as error:
            raise LookupError(
                f"the rule {name!r} was made in the module {home!r}, which cannot be imported "
                f"here ({error}); a primitive pickles by name only when it is made at the top "
                f"level of an importable module"
            ) from None
        held = _REGISTERED.get(name)
    if held is None:
        where = f" (made in the module {home!r}, which does not register it when imported)"
        raise LookupError(
            f"no rule named {name!r} is registered{where if home else ''}: define the "
            f"primitive at the top level of an importable module and import it before loading"
        )
    return held[0]


for _rule in [value for value in list(globals().values()) if isinstance(value, Rule)]:
    register(_rule)
del _rule
