"""Forward-mode differentiation: `jvp` and `jacfwd`, by pushing tangents through the recorded graph.

Reverse mode (`backward`, `grad`) sweeps the graph from the output back to the inputs, and one
sweep gives the derivative of one output with respect to every input. Forward mode sweeps the other
way. Choose a direction v in input space; the tangent of a node is its derivative along v, and it
follows from the tangents of the node's parents by the chain rule,

    tangent(node) = sum over parents p of  d(node)/d(p) * tangent(p),    tangent(input i) = v_i,

so one sweep in evaluation order gives the derivative of every output along v: a Jacobian-vector
product. A full Jacobian takes one sweep per input, where reverse mode takes one per output.

How f runs. `f` is called on `Value`s, exactly as under `grad`: its operators, methods,
`sum_values`, `dot` and nn's modules record the graph, each node with the local derivatives
d(node)/d(parent) that the rule table's `derivatives` gave when the node was made. The tangent
sweep then walks the nodes that depend on the inputs, parents first, multiplying by those same
local derivatives. There is no second set of derivative formulas, and every rule works, n-ary and
bound ones included, because whatever f computed is already in the graph.

Why not dual numbers. A dual number (value, tangent) carried through f's operators is forward
mode's textbook form, and it keeps no graph. But user code reaches the engine through more than
operators: `sum_values`, `dot` and nn's layers take `Value`s (the fast paths in value.py check the
type), and `grad`, `hessian` and `jacobian` take functions of `Value`s. A dual type would have to be
accepted by all of them, a check on every hot path, and still would not nest with reverse mode,
whose sweep multiplies floats or `Value`s. Recording first makes the two modes compose for free:

- forward over reverse, `jvp(grad(f), ...)`: `grad` called on `Value`s builds the gradient as a
  graph, and the tangent sweep runs through it like any other graph (a Hessian-vector product);
- reverse over forward, `grad` of a function built with `jvp`: called on `Value`s, the sweep takes
  the local derivatives as `Value`s (the same rules evaluated on the graph, as `create_graph=True`
  does), so the tangent it returns is a `Value` that can be differentiated again.

Cost. Time: calling f costs what it costs before `backward()`; each sweep then visits every node
that depends on the inputs once, one multiply-add per edge, as the backward sweep does. So `jvp`
costs about what `value_and_grad` costs, and `jacfwd` of f from n inputs to m outputs costs one call
of f plus n sweeps, where `jacobian` (reverse mode) costs one call plus m sweeps: forward mode is
the cheaper one when n < m, reverse mode when n > m, as for a gradient (m = 1). Memory: the whole
graph, as reverse mode keeps it; dual numbers would keep only the live values, the one advantage
this design gives up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograd.auxiliary import check_callable, check_has_aux, check_transform, concrete, split_aux
from autograd.backward import local_derivatives_as_values
from autograd.custom_gradients import CustomVjpRule
from autograd.functional import Argnums, _call, _inputs, _numbers, _positions
from autograd.modes import recording
from autograd.value import Value

# A sweep's program: for each node that depends on an input, in evaluation order, its position
# and the (parent position, local derivative) pair of each parent that depends on an input too.
Program = list[tuple[int, tuple[tuple[int, Any], ...]]]


def evaluation_order(outputs: Sequence[Value], inputs: Sequence[Value]) -> list[Value]:
    """Every node the outputs depend on, each after its parents, not looking behind the inputs."""
    stop = set(inputs)
    order: list[Value] = []
    seen: set[Value] = set()
    for output in outputs:
        if output in seen:
            continue
        seen.add(output)
        stack = [(output, iter(() if output in stop else output.parents))]
        while stack:  # depth first, iteratively: graphs of any depth work
            node, parents = stack[-1]
            for parent in parents:
                if parent not in seen:
                    seen.add(parent)
                    stack.append((parent, iter(() if parent in stop else parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def tangent_program(order: list[Value], inputs: Sequence[Value], as_values: bool) -> Program:
    """The sweep over `order` for tangents seeded at `inputs`; nodes independent of them are left
    out. With `as_values`, the local derivatives are `Value`s, so the sweep builds a graph."""
    position = {node: i for i, node in enumerate(order)}
    dependent = set(inputs)
    program: Program = []
    for i, node in enumerate(order):
        if node in dependent:
            continue
        parents = node.parents
        if not any(parent in dependent for parent in parents):
            continue
        if isinstance(node._op, CustomVjpRule):  # its bwd gives no tangent
            raise TypeError(node._op.refusal("forward mode (jvp, jacfwd)"))
        locals_ = local_derivatives_as_values(node) if as_values else node.local_derivatives
        terms = tuple(
            (position[parent], local)
            for parent, local in zip(parents, locals_)
            if parent in dependent
        )
        program.append((i, terms))
        dependent.add(node)
    return program


def push_tangents(program: Program, size: int, seeds: list[tuple[int, Any]]) -> list:
    """One forward sweep: the tangent of every node of the order, given the inputs' tangents."""
    tangent: list[Any] = [0.0] * size
    for i, seed in seeds:
        tangent[i] = seed
    for i, terms in program:
        if len(terms) == 1:
            ((p, local),) = terms
            tangent[i] = local * tangent[p]
            continue
        total = None
        for p, local in terms:
            term = local * tangent[p]
            total = term if total is None else total + term
        tangent[i] = total
    return tangent


def _outputs(out: Any, caller: str) -> tuple[list[Value], type | None]:
    """f's result as a list of Values, and the container to give results back in (None: one)."""
    if isinstance(out, Value):
        return [out], None
    if isinstance(out, (list, tuple)) and all(isinstance(o, Value) for o in out):
        return list(out), type(out)
    raise TypeError(f"{caller}: f must return a Value or a list of Values, got {out!r}")


def _as_value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def jvp(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> tuple:
    """`(f(*primals), d/dt f(primals + t * tangents) at t = 0)`, by one forward sweep.

    As JAX's `jax.jvp`: `primals` and `tangents` are tuples (or lists) with one number per
    argument of f; f returns a Value, or a list of Values (then both results are lists).
    Floats come out; with a `Value` among the primals or tangents, or called inside another
    transform's f (nesting inside `grad`), `Value`s come out, to be differentiated again.
    With `has_aux=True`, f returns `(output, aux)` and the result is `(output, tangent, aux)`,
    aux handed back undifferentiated as `grad` hands it back.

    >>> jvp(lambda x, y: x * y.sin(), (2.0, 0.0), (1.0, 1.0))
    (0.0, 2.0)
    """
    check_callable(f, "jvp")
    check_has_aux(has_aux, "jvp")
    primals = _numbers(primals, "jvp", "primals")
    tangents = _numbers(tangents, "jvp", "tangents")
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal"
        )
    with recording():  # f records even under an outer no_grad(), as in torch.func
        nodes, nested_primals = _inputs(tuple(primals), "jvp")
        nested = nested_primals or any(isinstance(t, Value) for t in tangents)
        returned, aux = split_aux(_call(f, nodes, {}), has_aux, "jvp")
        outputs, container = _outputs(returned, "jvp")
        order = evaluation_order(outputs, nodes)
        position = {node: i for i, node in enumerate(order)}
        seeds = [
            (position[node], t if isinstance(t, Value) else float(t))
            for node, t in zip(nodes, tangents)
            if node in position
        ]
        tangent = push_tangents(tangent_program(order, nodes, nested_primals), len(order), seeds)
        values = [out if nested else out.data for out in outputs]
        slopes = [tangent[position[out]] for out in outputs]
        slopes = [_as_value(s) for s in slopes] if nested else [float(s) for s in slopes]
        if container is None:
            result = (values[0], slopes[0])
        else:
            result = (container(values), container(slopes))
        return (*result, concrete(aux, nested)) if has_aux else result


def jacfwd(f: Callable[..., Any], argnums: Argnums = None, has_aux: bool = False) -> Callable:
    """`J[i][j] = d f_i / d arg_j` by forward mode, one sweep per argument: the forward twin of
    `jacobian`, with its conventions (all arguments when argnums is None, J as a list of lists,
    a one-row J when f returns a single Value, `(J, aux)` with `has_aux=True`).

    `jacfwd(grad(f, argnums=(0, 1)))` is the Hessian by forward over reverse.

    >>> jacfwd(lambda x, y: [x * y, x + y])(2.0, 3.0)
    [[3.0, 2.0], [1.0, 1.0]]
    """
    check_transform(f, has_aux, "jacfwd")

    @recording()
    def jacobian_at(*args: Any, **kwargs: Any) -> Any:
        nodes, nested = _inputs(args, "jacfwd")
        positions, _ = _positions(argnums, len(nodes), "jacfwd")
        returned, aux = split_aux(_call(f, nodes, kwargs), has_aux, "jacfwd")
        outputs, _ = _outputs(returned, "jacfwd")
        chosen = [nodes[p] for p in positions]
        order = evaluation_order(outputs, nodes)
        position = {node: i for i, node in enumerate(order)}
        program = tangent_program(order, chosen, nested)
        columns = []
        for node in chosen:
            seeds = [(position[node], 1.0)] if node in position else []
            tangent = push_tangents(program, len(order), seeds)
            columns.append([tangent[position[out]] for out in outputs])
        finish = _as_value if nested else float
        jac = [[finish(column[i]) for column in columns] for i in range(len(outputs))]
        return (jac, concrete(aux, nested)) if has_aux else jac

    return jacobian_at
