"""`primitive`: a user's own operation, from its float forward and its local derivatives.

A primitive is one more entry of the rule table (`autograd.rules`), made at run time: a `Rule`
whose `forward` takes floats and returns a float and whose `derivatives(out, *inputs)` returns
d(out)/d(input) for each input, exactly as the table writes its rules. So it works wherever a
built-in rule does: `backward`, `grad` and the other transforms, forward mode (`jvp`, `jacfwd`),
drawings and step-throughs, `gradcheck`, and tapes (`autograd.trace`).

- Second and higher derivatives evaluate `derivatives` on `Value`s, as the table's rules are
  evaluated (`1 / (1 + x)` then builds a graph). A derivative written with `math` on its inputs
  (``math.cos(x)``) cannot build one: there, float() of a Value raises TypeError naming the
  primitive, so a second derivative is refused, never silently 0. (A read of ``x.data`` cannot be
  seen, as in tracing: keep derivatives to arithmetic and Value methods.)
- Tapes run `array_forward(np, *inputs)` and `array_derivatives(np, out, *inputs)` when given:
  the same formulas on arrays, `np` the array namespace (NumPy's or PyTorch's; the functions it
  offers are listed in `autograd.rules`). Without them a tape runs the float forms entry by entry,
  which is correct but slow, and warns once per primitive.
- The forward keeps the `math` module's exceptions (ValueError, ZeroDivisionError,
  OverflowError), their messages prefixed with the primitive's name and inputs.
- A derivative returning the wrong number of entries is refused when the primitive is made: the
  forward is called at a few sample points and `derivatives` at the first one inside its domain
  (a forward defined at none of them is checked at its first use instead). Every later call is
  checked too, so a branch the sample missed is still refused, naming the primitive.

Arity: the forward's required positional parameters are the inputs; a forward taking ``*xs``
makes an n-ary primitive (any number of inputs, one node with that many parents).

Identity. A primitive is importable by name, so graphs holding it can be pickled: its rule
pickles as (module, qualname) of the function `primitive` returns and is looked up again by
importing it (`rule_of`). Used as a decorator, that is the decorated function's own module and
name; called, it is the calling module and `name`, so write ``log1p = primitive(..., name="log1p")``
at a module's top level.

>>> import math
>>> log1p = primitive(math.log1p, lambda out, x: (1 / (1 + x),), name="log1p")
>>> from autograd import Value, grad
>>> y = log1p(Value(1.0))
>>> y.backward()
>>> round(y.data, 6), y.parents[0].grad
(0.693147, 0.5)
>>> grad(grad(log1p))(1.0)  # d2/dx2 log(1 + x) = -1 / (1 + x)**2
-0.25
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pickle
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any

from autograd import rules, value
from autograd.rules import Rule
from autograd.tape.batch_rules import BATCH_RULES
from autograd.value import Value, _apply1, _apply2, _apply_n

BUILT_IN_NAMES = frozenset(
    [r.name for r in vars(rules).values() if isinstance(r, Rule)] + list(BATCH_RULES)
)
_SAMPLES = (0.5, 1.5, 0.25, 2.0, -0.5, -1.5, 3.0, -3.0)  # where the derivatives are checked


@dataclass(frozen=True, slots=True)
class PrimitiveRule(Rule):
    """A user's rule: a `Rule` with the importable identity of the function that applies it."""

    module: str = ""
    qualname: str = ""
    arity: int | None = None  # None: any number of inputs (a forward taking *xs)

    def __reduce__(self) -> tuple:
        if _lookup(self.module, self.qualname) is not self:
            raise pickle.PicklingError(
                f"primitive {self.name!r} cannot be pickled: it is not importable as "
                f"{self.module}.{self.qualname}. Define it at the top level of a module, under "
                f"that name (`{self.qualname} = primitive(..., name={self.qualname!r})`, or "
                "`@primitive(...)` over a top-level function)"
            )
        return (rule_of, (self.module, self.qualname))


def _lookup(module: str, qualname: str) -> PrimitiveRule | None:
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    rule = getattr(found, "rule", None)
    return rule if isinstance(rule, PrimitiveRule) else None


def rule_of(module: str, qualname: str) -> PrimitiveRule:
    """The rule of the primitive importable as `module.qualname` (how pickles find it again).

    >>> rule_of("autograd.primitives", "no_such_thing")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    LookupError: no primitive is importable as autograd.primitives.no_such_thing ...
    """
    rule = _lookup(module, qualname)
    if rule is None:
        raise LookupError(
            f"no primitive is importable as {module}.{qualname}: import the module that defines "
            "it under that name before loading a graph that uses it"
        )
    return rule


def primitive(
    forward: Callable[..., float] | None = None,
    derivatives: Callable[..., tuple] | None = None,
    *,
    name: str | None = None,
    symbol: str | None = None,
    array_forward: Callable[..., Any] | None = None,
    array_derivatives: Callable[..., tuple] | None = None,
) -> Any:
    """A new operation on Values from its float `forward` and its `derivatives(out, *inputs)`.

    Returns a function of Values and numbers: given at least one Value it records a node (numbers
    become constant leaves); given only numbers it returns the float `forward` gives. Without
    `forward`, returns a decorator to put over it. `name` (default: the forward's own name)
    names the operation in messages and tapes; `symbol` (default: the name) is what drawings show.
    `derivatives` and the array forms are written as the rules of `autograd.rules` are: see the
    module's docstring for higher derivatives, tapes, errors and pickling.

    >>> import math
    >>> from autograd.rules import exp_of  # exp of a float, a Value or an array
    >>> @primitive(derivatives=lambda out, *xs: tuple(exp_of(x - out) for x in xs))
    ... def logsumexp(*xs):
    ...     top = max(xs)
    ...     return top + math.log(sum(math.exp(x - top) for x in xs))
    >>> from autograd import grad
    >>> [round(g, 4) for g in grad(logsumexp, argnums=(0, 1, 2))(1.0, 2.0, 3.0)]
    [0.09, 0.2447, 0.6652]
    """
    if forward is None:
        if derivatives is None:
            raise TypeError("primitive: give derivatives=, the local derivatives of the forward")
        where = _caller_module()

        def decorate(function: Callable[..., float]) -> Any:
            named = None if function.__name__ == "<lambda>" else function
            forms = (array_forward, array_derivatives)
            return _make(function, derivatives, name, symbol, *forms, named, where)

        return decorate
    if derivatives is None:
        raise TypeError("primitive: give derivatives(out, *inputs), the local derivatives")
    forms = (array_forward, array_derivatives)
    return _make(forward, derivatives, name, symbol, *forms, None, _caller_module())


def _caller_module() -> str:
    return sys._getframe(2).f_globals.get("__name__", "__main__")


def _make(
    forward: Any,
    derivatives: Any,
    name: str | None,
    symbol: str | None,
    array_forward: Any,
    array_derivatives: Any,
    decorated: Any,
    caller: str,
) -> Any:
    forms = (array_forward, array_derivatives)
    for what, function in (("forward", forward), ("derivatives", derivatives)):
        if not callable(function):
            raise TypeError(f"primitive: {what} must be callable, got {function!r:.80}")
    for what, function in zip(("array_forward", "array_derivatives"), forms):
        if function is not None and not callable(function):
            raise TypeError(f"primitive: {what} must be callable or None, got {function!r:.80}")
    if name is None:
        name = getattr(forward, "__name__", "<lambda>")
        if name == "<lambda>":
            raise TypeError("primitive: a lambda forward needs name=, the operation's name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"primitive: name must be an identifier, such as 'log1p', got {name!r}")
    if name in BUILT_IN_NAMES:
        raise ValueError(f"primitive: {name!r} names a built-in operation; choose another name")
    if symbol is not None and not isinstance(symbol, str):
        raise TypeError(f"primitive {name!r}: symbol must be a string, got {symbol!r:.80}")
    low, arity = _arity(forward)
    if decorated is not None:
        module, qualname = decorated.__module__, decorated.__qualname__
    else:
        module, qualname = caller, name
    rule = PrimitiveRule(
        name,
        symbol or name,
        _checked_forward(forward, name),
        _checked_derivatives(derivatives, name),
        raises=True,
        module=module,
        qualname=qualname,
        arity=arity,
    )
    # Without an array form, a tape runs the float form entry by entry (set after the fact: the
    # fallback needs the rule, to name it)
    each_forward = functools.partial(_each_entry, rule, rule.forward, 1)
    each_derivatives = functools.partial(_each_entry, rule, rule.derivatives, None)
    object.__setattr__(rule, "array_forward", array_forward or each_forward)
    object.__setattr__(rule, "array_derivatives", array_derivatives or each_derivatives)
    _probe(rule, low, array_forward, array_derivatives)

    def apply(*args: Value | float) -> Value | float:
        if (arity is not None and len(args) != arity) or len(args) < low:
            wanted = arity if arity is not None else f"at least {low}"
            raise TypeError(f"{name}: takes {wanted} inputs, got {len(args)}")
        if not any(type(a) is Value for a in args):
            return rule.forward(*(_number(a, name) for a in args))
        nodes = tuple(a if type(a) is Value else Value(_number(a, name)) for a in args)
        if len(nodes) == 1:
            return _apply1(rule, nodes[0])
        if len(nodes) == 2:
            return _apply2(rule, nodes[0], nodes[1])
        return _apply_n(rule, nodes)

    if decorated is not None:
        functools.update_wrapper(apply, decorated)
    else:
        apply.__name__ = apply.__qualname__ = name
        apply.__module__ = module
        apply.__doc__ = getattr(forward, "__doc__", None)
    apply.rule = rule  # type: ignore[attr-defined]
    return apply


def _arity(forward: Any) -> tuple[int, int | None]:
    """(the fewest inputs, the exact number or None for any): the required positionals."""
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: take what it is given
        return 1, None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    low = sum(p.kind in positional and p.default is p.empty for p in parameters)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return max(low, 1), None
    if low == 0:
        raise TypeError("primitive: the forward must take at least one input")
    return low, low


def _number(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        kind = type(x).__name__
        raise TypeError(f"{name}: expected a Value or a real number, got {kind} {x!r:.80}")
    return float(x)


def _checked_forward(forward: Callable[..., Any], name: str) -> Callable[..., float]:
    def checked(*xs: float) -> float:
        try:
            out = forward(*xs)
        except (ValueError, ZeroDivisionError, OverflowError) as error:
            shown = ", ".join(map(repr, xs))
            if type(error) not in (ValueError, ZeroDivisionError, OverflowError):
                raise  # a subclass may not take a message alone: pass it on untouched
            raise type(error)(f"{name}({shown}): {error}") from error
        if type(out) is float:
            return out
        if isinstance(out, bool) or not isinstance(out, Real):
            raise TypeError(
                f"{name}: the forward must return a real number, got {type(out).__name__} "
                f"{out!r:.80} (it is called on floats)"
            )
        return float(out)

    return checked


class MiscountError(ValueError):
    """A primitive's derivatives returned another number of entries than it has inputs."""


def _checked_derivatives(derivatives: Callable[..., Any], name: str) -> Callable[..., tuple]:
    refused = (
        f"{name}: its derivatives called float() on a Value (math.cos(x) does), which would cut "
        "the graph of a second derivative and make it silently 0. Write them with Value "
        "arithmetic and methods (1 / (1 + x), x.cos(), (x - out).exp()) to take higher "
        "derivatives; first derivatives work as they are"
    )

    def checked(out: Any, *xs: Any) -> tuple:
        if type(out) is Value:  # second derivatives: the graph of the derivative is wanted
            token = value.float_refused.set(refused)
            try:
                found = derivatives(out, *xs)
            finally:
                value.float_refused.reset(token)
        else:
            found = derivatives(out, *xs)
        if not isinstance(found, (tuple, list)) or len(found) != len(xs):
            count = len(found) if isinstance(found, (tuple, list)) else f"{found!r:.40}"
            raise MiscountError(
                f"{name}: derivatives must return one local derivative per input, a tuple of "
                f"{len(xs)}, but returned {count}"
            )
        return tuple(found)

    return checked


def _probe(rule: PrimitiveRule, low: int, array_forward: Any, array_derivatives: Any) -> None:
    """Call the derivatives (and the array forms) at a point of the forward's domain, so a wrong
    number of entries is refused now, naming the primitive."""
    counts = [rule.arity] if rule.arity is not None else [max(low, 2), max(low, 2) + 1]
    for n in counts:
        for sample in _SAMPLES:
            xs = tuple(sample + 0.25 * k for k in range(n))
            try:
                out = rule.forward(*xs)
                found = rule.derivatives(out, *xs)
            except MiscountError:
                raise
            except (ArithmeticError, ValueError):  # outside the domain: try the next point
                continue
            if array_forward is not None or array_derivatives is not None:
                _probe_arrays(rule, xs, out, found, array_forward, array_derivatives)
            break


def _probe_arrays(rule, xs, out, found, array_forward, array_derivatives) -> None:
    try:
        import numpy

        from autograd.array_namespace import NUMPY_NAMESPACE as np  # NumPy, an extra for tapes
    except ImportError:
        return
    arrays = [numpy.asarray([x]) for x in xs]
    if array_forward is not None:
        _agree(rule, "array_forward", array_forward(np, *arrays), out, xs)
    if array_derivatives is not None:
        locals_ = array_derivatives(np, numpy.asarray([out]), *arrays)
        if not isinstance(locals_, (tuple, list)) or len(locals_) != len(xs):
            raise ValueError(
                f"{rule.name}: array_derivatives must return one local derivative per input, a "
                f"tuple of {len(xs)}, but returned {locals_!r:.80}"
            )
        for local, expected in zip(locals_, found):
            _agree(rule, "array_derivatives", local, expected, xs)


def _agree(rule: PrimitiveRule, what: str, got: Any, expected: Any, xs: tuple) -> None:
    got = float(sum(got)) if hasattr(got, "__len__") else float(got)
    expected = float(expected)
    if abs(got - expected) > 1e-7 * max(1.0, abs(expected)):
        raise ValueError(
            f"{rule.name}: {what} gives {got!r} at {xs!r} where the float form gives "
            f"{expected!r}: the two forms must compute the same thing"
        )


_warned: set[str] = set()


def _each_entry(
    rule: PrimitiveRule, function: Any, outputs: int | None, np: Any, *arrays: Any
) -> Any:
    """A float form run on arrays entry by entry: `forward` (one result) or `derivatives` (a
    tuple), for a primitive without an array form. NumPy arrays, or tensors through the host."""
    key = f"{rule.module}.{rule.qualname}"
    if key not in _warned:
        _warned.add(key)
        which = "array_forward" if outputs == 1 else "array_derivatives"
        warnings.warn(
            f"{rule.name}: a tape runs this primitive's float form entry by entry, which is slow; "
            f"give primitive(..., {which}=) to run it on whole arrays",
            stacklevel=2,
        )
    import numpy  # an extra: only tapes reach here

    template = next((a for a in arrays if hasattr(a, "shape")), None)
    host = [
        a.detach().cpu().numpy() if hasattr(a, "detach") else numpy.asarray(a, float)
        for a in arrays
    ]
    shape = numpy.broadcast_shapes(*(a.shape for a in host))
    columns = [numpy.broadcast_to(a, shape).ravel().tolist() for a in host]
    results = numpy.empty((outputs or len(arrays) - 1, *shape))
    flat = results.reshape(len(results), -1)
    for k, entry in enumerate(zip(*columns)):
        try:
            found = function(*entry)
        except (ArithmeticError, ValueError) as error:
            example = numpy.unravel_index(k, shape)[-1] if shape else 0
            raise type(error)(f"{error} (example {example} of the batch)") from None
        flat[:, k] = found
    if hasattr(template, "detach"):  # a PyTorch tensor: back to its device and dtype
        torch = sys.modules["torch"]
        results = torch.as_tensor(results, dtype=template.dtype, device=template.device)
    return results[0] if outputs == 1 else tuple(results)
