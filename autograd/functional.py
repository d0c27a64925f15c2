"""Function transforms in JAX's style, built on the engine: gradients, grad, hessian, gradcheck.

`f` is a plain Python function of scalar arguments that computes with `Value`s. Floats go in and
floats come out. Called with `Value`s instead (as happens when transforms are nested,
`grad(grad(f))`), or from inside another transform's f (`grad(lambda x: x * grad(g)(1.0))`, where g
may close over x), a transform builds the derivative's graph, to be differentiated again.
A transform called on its own returns floats even when f closes over `Value`s (a model's weights):
to differentiate its result with respect to them (a gradient penalty), use
`gradients(..., create_graph=True)`.
Keyword arguments are passed on to f as they are, never differentiated (as in JAX and torch.func).

As `torch.func`'s transforms, they ignore a `no_grad()` around the call: f records its graph all the
same (`modes.recording`), since the derivative is read from it. A `no_grad()` inside f still holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from numbers import Real
from typing import Any

from autograd.auxiliary import check_callable, check_transform, concrete, split_aux
from autograd.backward import adjoints
from autograd.modes import no_grad, recording
from autograd.value import Value

Argnums = int | Sequence[int] | None

# True while a transform runs f. A transform called inside f then builds its result as a graph,
# as when given Values: in grad(lambda x: x * grad(lambda y: x * y)(1.0)), the inner gradient is
# x, and a float in its place would silently drop the outer derivative through it (2 for 4).
_inside_f: ContextVar[bool] = ContextVar("chainrule_inside_a_transform", default=False)


def _call(f: Callable[..., Any], nodes: list[Value], kwargs: dict[str, Any]) -> Any:
    """f(*nodes, **kwargs), marked as running inside a transform."""
    token = _inside_f.set(True)
    try:
        return f(*nodes, **kwargs)
    finally:
        _inside_f.reset(token)


def gradients(
    output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
) -> list[Any]:
    """d(output)/d(input) for each input (a list, also for one `Value`), without touching `.grad`.

    Unlike `output.backward()`, which adds into `.grad` of every node, this returns the adjoints
    and leaves the graph as it was. With `create_graph=True` they are `Value`s whose graph can be
    differentiated again, to any order.

    >>> x = Value(3.0)
    >>> y = x ** 3
    >>> [dy] = gradients(y, [x], create_graph=True)
    >>> dy.data, gradients(dy, [x])[0]
    (27.0, 18.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):  # one input, as torch.autograd.grad takes one tensor
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(
            f"gradients: inputs must be a Value or a list of Values, "
            f"got {type(inputs).__name__} {inputs!r}"
        )
    for position, node in enumerate(inputs):
        if not isinstance(node, Value):
            raise TypeError(f"gradients: inputs[{position}] must be a Value, got {node!r}")
    adjoint = adjoints(output, create_graph)
    found = [adjoint.get(node, 0.0) for node in inputs]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in found]
    return [g.data if isinstance(g, Value) else g for g in found]


def _positions(argnums: Argnums, count: int, caller: str) -> tuple[list[int], bool]:
    """The argument positions to differentiate, and whether the caller asked for just one."""
    if argnums is None:
        return list(range(count)), False
    single = isinstance(argnums, int)
    if not single and not isinstance(argnums, (tuple, list)):
        raise TypeError(
            f"{caller}: argnums must be an int, a tuple or list of ints, or None, "
            f"got {type(argnums).__name__} {argnums!r}"
        )
    chosen = [argnums] if single else list(argnums)
    for position in chosen:
        if isinstance(position, bool) or not isinstance(position, int):
            raise TypeError(f"{caller}: argnums must be ints, got {position!r}")
        if not -count <= position < count:
            raise ValueError(
                f"{caller}: argnums {position} is out of range for a function "
                f"called with {count} argument{'s' if count != 1 else ''}"
            )
    return [position % count for position in chosen], single


def _inputs(args: tuple, caller: str) -> tuple[list[Value], bool]:
    """Fresh input nodes for the arguments, and whether the result must be a graph (nesting):
    some argument is a Value, or this transform runs inside another one's f."""
    nodes, nested = [], False
    for position, arg in enumerate(args):
        if isinstance(arg, Value):
            # A new node per call keeps nested transforms apart: differentiating with respect
            # to it does not also count paths through the outer transform's variable.
            nodes.append(arg + 0.0)
            nested = True
        elif isinstance(arg, Real) and not isinstance(arg, bool):
            nodes.append(Value(float(arg)))
        else:
            raise TypeError(
                f"{caller}: argument {position} must be a real number or a Value, "
                f"got {type(arg).__name__} {arg!r}"
            )
    return nodes, nested or _inside_f.get()


def _numbers(items: Any, caller: str, what: str) -> list:
    """`items` as a list, refused unless a tuple or list of real numbers and `Value`s."""
    if not isinstance(items, (tuple, list)):
        raise TypeError(
            f"{caller}: {what} must be a tuple or list with one entry per argument of f, "
            f"got {type(items).__name__} {items!r}"
        )
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, (Real, Value)):
            raise TypeError(
                f"{caller}: {what}[{i}] must be a real number or a Value, "
                f"got {type(item).__name__} {item!r}"
            )
    return list(items)


def _scalar_output(out: Any, caller: str) -> Value:
    if isinstance(out, Value):
        return out
    if isinstance(out, (list, tuple)):
        raise TypeError(
            f"{caller}: f must return a single Value (a scalar), but it returned a "
            f"{type(out).__name__} of {len(out)}; use jacobian for several outputs"
        )
    raise TypeError(
        f"{caller}: f must return a Value, but it returned {type(out).__name__} {out!r}"
    )


def _pick(values: list, single: bool) -> Any:
    return values[0] if single else tuple(values)


def _transform(
    f: Callable[..., Value], argnums: Argnums, has_aux: bool, caller: str
) -> Callable[..., tuple]:
    check_transform(f, has_aux, caller)

    @recording()
    def value_and_gradient(*args: Any, **kwargs: Any) -> tuple:
        nodes, nested = _inputs(args, caller)
        positions, single = _positions(argnums, len(nodes), caller)
        returned, aux = split_aux(_call(f, nodes, kwargs), has_aux, caller)
        out = _scalar_output(returned, caller)
        found = gradients(out, [nodes[p] for p in positions], create_graph=nested)
        value = out if nested else out.data
        if has_aux:
            value = (value, concrete(aux, nested))
        return value, _pick(found, single)

    return value_and_gradient


def value_and_grad(
    f: Callable[..., Value], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., tuple]:
    """A function returning `(f(*args), gradient)`, the gradient taken as `grad` takes it.

    With `has_aux=True`, f returns `(output, aux)` and the result is `((output, aux), gradient)`,
    as in JAX (`grad` says what becomes of aux).

    >>> value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    (10.0, (5.0, 2.0))
    >>> value_and_grad(lambda x: (x * x, {"doubled": 2 * x}), has_aux=True)(3.0)
    ((9.0, {'doubled': 6.0}), 6.0)
    """
    return _transform(f, argnums, has_aux, "value_and_grad")


def grad(
    f: Callable[..., Value], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of `f` as a function: floats in, floats out (a tuple when argnums is a tuple).

    Nesting works, `grad(grad(f))` being the second derivative.

    With `has_aux=True`, f returns `(output, aux)` and the result is `(gradient, aux)`: aux comes
    back undifferentiated, its `Value`s as floats, as JAX's concrete arrays (autograd/auxiliary.py).

    >>> f = lambda x: x ** 3
    >>> grad(f)(2.0), grad(grad(f))(2.0)
    (12.0, 12.0)
    >>> grad(lambda x: (x ** 3, {"cube": x ** 3, "note": "kept"}), has_aux=True)(2.0)
    (12.0, {'cube': 8.0, 'note': 'kept'})
    """
    with_value = _transform(f, argnums, has_aux, "grad")

    def gradient(*args: Any, **kwargs: Any) -> Any:
        value, found = with_value(*args, **kwargs)
        return (found, value[1]) if has_aux else found

    return gradient


def jacobian(
    f: Callable[..., Sequence[Value]], argnums: Argnums = None, has_aux: bool = False
) -> Callable[..., Any]:
    """`J[i][j]` = d f_i / d arg_j for a function returning a list of Values (all arguments when
    argnums is None), by one reverse sweep per output. With `has_aux=True`, f returns
    `(outputs, aux)` and the result is `(J, aux)`, aux as `grad` hands it back.

    >>> jacobian(lambda x, y: [x * y, x + y])(2.0, 3.0)
    [[3.0, 2.0], [1.0, 1.0]]
    """
    check_transform(f, has_aux, "jacobian")

    @recording()
    def jacobian_at(*args: Any, **kwargs: Any) -> Any:
        nodes, nested = _inputs(args, "jacobian")
        positions, _ = _positions(argnums, len(nodes), "jacobian")
        outs, aux = split_aux(_call(f, nodes, kwargs), has_aux, "jacobian")
        if isinstance(outs, Value):
            outs = [outs]
        if not isinstance(outs, (list, tuple)) or not all(isinstance(o, Value) for o in outs):
            raise TypeError(f"jacobian: f must return a list of Values, got {outs!r}")
        chosen = [nodes[p] for p in positions]
        jac = [gradients(out, chosen, create_graph=nested) for out in outs]
        return (jac, concrete(aux, nested)) if has_aux else jac

    return jacobian_at


def hessian(f: Callable[..., Value], argnums: Argnums = None) -> Callable[..., list]:
    """`H[i][j]` = d2 f / d arg_i d arg_j (all arguments when argnums is None), by reverse over
    reverse: the gradient is built as a graph with the same rules, then differentiated again.

    >>> hessian(lambda x, y: x * x * y)(3.0, 2.0)
    [[4.0, 6.0], [6.0, 0.0]]
    """
    return _hessian(f, argnums, "hessian")


def _hessian(f: Callable[..., Value], argnums: Argnums, caller: str) -> Callable[..., list]:
    """`hessian`, its errors prefixed with `caller` (gradgradcheck's own name)."""
    check_callable(f, caller)

    @recording()
    def hessian_at(*args: Any, **kwargs: Any) -> list:
        nodes, nested = _inputs(args, caller)
        positions, _ = _positions(argnums, len(nodes), caller)
        chosen = [nodes[p] for p in positions]
        out = _scalar_output(_call(f, nodes, kwargs), caller)
        first = gradients(out, chosen, create_graph=True)
        return [gradients(g, chosen, create_graph=nested) for g in first]

    return hessian_at


def hvp(f: Callable[..., Value], args: Sequence[float], vector: Sequence[float]) -> list:
    """The Hessian-vector product H v without forming H: the gradient of (grad f . v).

    >>> hvp(lambda x, y: x * x * y, (3.0, 2.0), (1.0, 0.0))
    [4.0, 6.0]
    """
    check_callable(f, "hvp")
    args = _numbers(args, "hvp", "args")
    vector = _numbers(vector, "hvp", "vector")
    if len(vector) != len(args):
        raise ValueError(f"hvp: vector has {len(vector)} entries but f takes {len(args)} arguments")
    with recording():
        nodes, nested = _inputs(tuple(args), "hvp")
        out = _scalar_output(_call(f, nodes, {}), "hvp")
        first = gradients(out, nodes, create_graph=True)
        # A Value in the vector (hvp nested in a transform) stays one, so v's paths are counted.
        directional = sum((g * v for g, v in zip(first, vector)), Value(0.0))
        nested = nested or any(isinstance(v, Value) for v in vector)
        return gradients(directional, nodes, create_graph=nested)


class GradcheckError(AssertionError):
    """An analytic derivative disagrees with its finite-difference estimate."""


def _evaluate(f: Callable[..., Value], args: Sequence[float]) -> float:
    with no_grad():
        return _scalar_output(f(*(Value(a) for a in args)), "gradcheck").data


def _central_difference(g: Callable[[list], Any], args: list, i: int, eps: float) -> Any:
    up, down = list(args), list(args)
    up[i] += eps
    down[i] -= eps
    high, low = g(up), g(down)
    if isinstance(high, list):
        return [(h - lo) / (2 * eps) for h, lo in zip(high, low)]
    return (high - low) / (2 * eps)


def _check_worst(entries: list[tuple[str, float, float]], atol: float, rtol: float) -> None:
    """Raise for the entry (name, analytic, numeric) furthest outside its tolerance, if any is."""

    def excess(entry: tuple[str, float, float]) -> float:
        """How many times the allowed difference this entry is off by: 0 when within (NaN: inf)."""
        _, analytic, numeric = entry
        difference = abs(analytic - numeric)
        allowed = atol + rtol * abs(numeric)
        if difference <= allowed:
            return 0.0
        return difference / allowed if allowed > 0 and difference < math.inf else math.inf

    worst = max(entries, key=excess)
    if excess(worst) > 0.0:
        what, analytic, numeric = worst
        raise GradcheckError(
            f"{what}: engine gives {analytic!r}, central differences give {numeric!r} "
            f"(difference {abs(analytic - numeric):.3g}, "
            f"allowed {atol + rtol * abs(numeric):.3g})"
        )


def _value_at(f: Callable[..., Value]) -> Callable[[list], float]:
    return lambda args: _evaluate(f, args)


def _tolerances(caller: str, **given: Any) -> None:
    """Refuse a step or tolerance that is not a finite real number, a step that is not > 0 and a
    tolerance that is negative."""
    for name, x in given.items():
        if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
            raise TypeError(f"{caller}: {name} must be a finite real number, got {x!r}")
        if x < 0 or (name == "eps" and x == 0):
            bound = "> 0" if name == "eps" else ">= 0"
            raise ValueError(f"{caller}: {name} must be {bound}, got {x}")


def _point(args: Any, caller: str) -> list[float]:
    """The point to check at, as floats: a tuple or list of at least one real number."""
    numbers = _numbers(args, caller, "args")
    if not numbers:
        raise ValueError(f"{caller}: args is empty; give f at least one argument to check")
    for i, number in enumerate(numbers):
        if isinstance(number, Value):
            raise TypeError(f"{caller}: args[{i}] must be a real number, got {number!r}")
        if not math.isfinite(number):
            raise ValueError(
                f"{caller}: args[{i}] is {number!r}; derivatives are checked at finite points"
            )
    return [float(a) for a in numbers]


def _finite_value(value: float, args: list[float], caller: str) -> None:
    """Refuse a point where f itself is NaN or infinite: no difference quotient means anything."""
    if not math.isfinite(value):
        raise ValueError(
            f"{caller}: f({', '.join(map(repr, args))}) is {value!r}; derivatives are checked "
            "where f is finite"
        )


def gradcheck(
    f: Callable[..., Value],
    args: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare the engine's gradient of `f` at `args` with central finite differences.

    Returns True, or raises `GradcheckError` for the argument furthest outside the tolerance,
    naming it, both values and the difference.

    >>> gradcheck(lambda x, y: (x * y).tanh(), (0.3, -1.2))
    True
    """
    check_callable(f, "gradcheck")
    args = _point(args, "gradcheck")
    _tolerances("gradcheck", eps=eps, atol=atol, rtol=rtol)
    value, analytic = _transform(f, tuple(range(len(args))), False, "gradcheck")(*args)
    _finite_value(value, args, "gradcheck")
    entries = [
        (f"d f / d argument {i}", analytic[i], _central_difference(_value_at(f), args, i, eps))
        for i in range(len(args))
    ]
    _check_worst(entries, atol, rtol)
    return True


def gradgradcheck(
    f: Callable[..., Value],
    args: Sequence[float],
    eps: float = 1e-5,
    atol: float = 1e-4,
    rtol: float = 1e-3,
) -> bool:
    """Compare the engine's Hessian of `f` with central differences of its gradient.

    >>> gradgradcheck(lambda x, y: x.sin() * y.exp(), (0.5, 0.2))
    True
    """
    check_callable(f, "gradgradcheck")
    args = _point(args, "gradgradcheck")
    _tolerances("gradgradcheck", eps=eps, atol=atol, rtol=rtol)
    value_and_gradient = _transform(f, tuple(range(len(args))), False, "gradgradcheck")
    _finite_value(value_and_gradient(*args)[0], args, "gradgradcheck")
    exact = _hessian(f, None, "gradgradcheck")(*args)
    entries = []
    for i in range(len(args)):
        numeric_row = _central_difference(lambda a: list(value_and_gradient(*a)[1]), args, i, eps)
        entries += [
            (f"d2 f / d argument {i} d argument {j}", exact[i][j], numeric)
            for j, numeric in enumerate(numeric_row)
        ]
    _check_worst(entries, atol, rtol)
    return True
