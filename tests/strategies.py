"""Shared hypothesis strategies: points in each operation's domain, random expression graphs,
random nn models.

A graph is drawn as plain data (`Graph`), so the same graph can be built from `Value`s, evaluated
for finite differences, or rebuilt in another engine (PyTorch) by passing `build` other functions.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from autograd import Value, dot, no_grad, sum_values
from nn import (
    ACTIVATIONS,
    GELU,
    MLP,
    BatchNorm1d,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)


# --- points inside each operation's domain --------------------------------------------------------
def reals(low: float = -10.0, high: float = 10.0) -> st.SearchStrategy[float]:
    """Finite floats in [low, high]."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(margin: float = 0.1, high: float = 10.0) -> st.SearchStrategy[float]:
    """Floats with margin <= |x| <= high: clear of a kink or a pole at 0."""
    return st.one_of(reals(margin, high), reals(-high, -margin))


# Where each unary rule is smooth and its finite differences are accurate; keys are rule names.
UNARY_DOMAINS: dict[str, st.SearchStrategy[float]] = {
    "neg": reals(),
    "abs": away_from_zero(),
    "exp": reals(-20.0, 20.0),
    "log": reals(0.01, 100.0),
    "sqrt": reals(0.01, 100.0),
    "tanh": reals(),
    "sigmoid": reals(-30.0, 30.0),
    "relu": away_from_zero(),
    "softplus": reals(-30.0, 30.0),
    "silu": reals(-30.0, 30.0),
    "gelu": reals(),
    "erf": reals(-5.0, 5.0),
    "sin": reals(),
    "cos": reals(),
}
# How to call each unary rule on a Value, by rule name.
UNARY_CALLS: dict[str, Callable[[Value], Value]] = {
    "neg": operator.neg,
    "abs": abs,
    **{name: getattr(Value, name) for name in UNARY_DOMAINS if name not in ("neg", "abs")},
}
positive_bases = reals(0.1, 5.0)
exponents = reals(-3.0, 3.0)
alphas = reals(0.0, 1.0)


# --- central finite differences -------------------------------------------------------------------
def difference_step(x: float) -> float:
    """The step h of `central_difference` at x: about the cube root of float precision."""
    return 1e-6 * max(1.0, abs(x))


def central_difference(f: Callable[[list[float]], float], xs: Sequence[float], i: int) -> float:
    """(f(x + h e_i) - f(x - h e_i)) / 2h, with h scaled to x_i and the step actually taken."""
    h = difference_step(xs[i])
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (up[i] - down[i])


def close_to_difference(derivative: float, difference: float, scale: float = 1.0) -> bool:
    """Whether an exact derivative agrees with a central difference of step ~1e-6.

    The difference is off by its truncation error (relative, ~h**2) and by rounding in f,
    which grows with the size of the numbers f handles (`scale`) divided by the step.
    """
    return abs(derivative - difference) <= 1e-6 * abs(difference) + 1e-8 * max(1.0, scale)


# --- random expression graphs ---------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One node of a drawn graph: an operation on earlier nodes (inputs first), maybe a number."""

    op: str
    operands: tuple[int, ...]
    constant: Any = None


@dataclass(frozen=True)
class Graph:
    """Inputs x0..x{n-1}, then one node per step; the output adds up every node nobody consumes."""

    n_inputs: int
    steps: tuple[Step, ...]

    def sinks(self) -> list[int]:
        used = {i for step in self.steps for i in step.operands}
        return [i for i in range(self.n_inputs + len(self.steps)) if i not in used]


@dataclass(frozen=True)
class Functions:
    """What `build` needs besides the operators and methods that `Value` and tensors share."""

    softplus: Callable
    silu: Callable
    gelu: Callable
    leaky_relu: Callable  # (x, alpha)
    sum: Callable  # (nodes, number): the nodes and the number added up
    dot: Callable  # (nodes, numbers): the dot product


VALUE_FUNCTIONS = Functions(
    softplus=Value.softplus,
    silu=Value.silu,
    gelu=Value.gelu,
    leaky_relu=Value.leaky_relu,
    sum=lambda nodes, c: sum_values([*nodes, c]),
    dot=dot,
)


@dataclass(frozen=True)
class GraphOp:
    """How a graph step builds its node, and the numbers it draws."""

    arity: int  # 0: any number of operands, 1 to 4
    make: Callable[..., Any]  # (functions, operands, constant) -> node
    constants: Callable[[int], st.SearchStrategy] | None = None  # from the number of operands


def _numbers(low: float = -3.0, high: float = 3.0) -> Callable[[int], st.SearchStrategy]:
    return lambda n: reals(low, high)


def _unary(method: str) -> GraphOp:
    return GraphOp(1, lambda f, xs, c: getattr(xs[0], method)())


# Every operation applied so that any real operand is inside its domain: a graph of these ops is
# defined everywhere, smooth except at the kinks of abs, relu and leaky_relu (see `smooth_around`).
GRAPH_OPS: dict[str, GraphOp] = {
    "neg": GraphOp(1, lambda f, xs, c: -xs[0]),
    "abs": GraphOp(1, lambda f, xs, c: abs(xs[0])),
    "exp": GraphOp(1, lambda f, xs, c: xs[0].sin().exp()),
    "log": GraphOp(1, lambda f, xs, c: (f.softplus(xs[0]) + 0.1).log()),
    "sqrt": GraphOp(1, lambda f, xs, c: (xs[0] * xs[0] + 0.1).sqrt()),
    **{name: _unary(name) for name in ("tanh", "sigmoid", "relu", "erf", "sin", "cos")},
    "softplus": GraphOp(1, lambda f, xs, c: f.softplus(xs[0])),
    "silu": GraphOp(1, lambda f, xs, c: f.silu(xs[0])),
    "gelu": GraphOp(1, lambda f, xs, c: f.gelu(xs[0])),
    "leaky_relu": GraphOp(1, lambda f, xs, c: f.leaky_relu(xs[0], c), lambda n: alphas),
    "add_number": GraphOp(1, lambda f, xs, c: xs[0] + c, _numbers()),
    "number_add": GraphOp(1, lambda f, xs, c: c + xs[0], _numbers()),
    "sub_number": GraphOp(1, lambda f, xs, c: xs[0] - c, _numbers()),
    "number_sub": GraphOp(1, lambda f, xs, c: c - xs[0], _numbers()),
    "mul_number": GraphOp(1, lambda f, xs, c: xs[0] * c, _numbers()),
    "number_mul": GraphOp(1, lambda f, xs, c: c * xs[0], _numbers()),
    "div_number": GraphOp(1, lambda f, xs, c: xs[0] / c, lambda n: away_from_zero(0.5, 3.0)),
    "number_div": GraphOp(1, lambda f, xs, c: c / (xs[0] * xs[0] + 1.0), _numbers()),
    "pow_number": GraphOp(1, lambda f, xs, c: (xs[0] * xs[0] + 0.5) ** c, _numbers(-2.5, 2.5)),
    "pow_integer": GraphOp(1, lambda f, xs, c: xs[0] ** c, lambda n: st.integers(0, 3)),
    "number_pow": GraphOp(1, lambda f, xs, c: c ** xs[0].sin(), _numbers(0.2, 4.0)),
    "add": GraphOp(2, lambda f, xs, c: xs[0] + xs[1]),
    "sub": GraphOp(2, lambda f, xs, c: xs[0] - xs[1]),
    "mul": GraphOp(2, lambda f, xs, c: xs[0] * xs[1]),
    "div": GraphOp(2, lambda f, xs, c: xs[0] / (xs[1] * xs[1] + 1.0)),
    "pow": GraphOp(2, lambda f, xs, c: (xs[0] * xs[0] + 0.5) ** xs[1].tanh()),
    "sum": GraphOp(0, lambda f, xs, c: f.sum(xs, c), _numbers()),
    "dot": GraphOp(0, lambda f, xs, c: f.dot(xs, c), lambda n: st.tuples(*[reals(-3, 3)] * n)),
}
KINKS = {"abs", "relu", "leaky_relu"}  # not differentiable where their operand is 0


@st.composite
def graphs(draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 10) -> Graph:
    """Random graphs over every op in `GRAPH_OPS`, sharing nodes: `a + a`, diamonds, fan-out."""
    n_inputs = draw(st.integers(1, max_inputs))
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        n_nodes = n_inputs + len(steps)
        name = draw(st.sampled_from(sorted(GRAPH_OPS)))
        op = GRAPH_OPS[name]
        # The newest node half the time, so graphs grow deep as well as wide.
        node = st.just(n_nodes - 1) | st.integers(0, n_nodes - 1)
        arity = op.arity or draw(st.integers(1, 4))
        operands = tuple(draw(node) for _ in range(arity))
        constant = draw(op.constants(arity)) if op.constants else None
        steps.append(Step(name, operands, constant))
    return Graph(n_inputs, tuple(steps))


def build(graph: Graph, inputs: Sequence[Any], functions: Functions = VALUE_FUNCTIONS) -> list:
    """Every node of `graph` made from `inputs` (inputs first), the output last."""
    nodes = list(inputs)
    for step in graph.steps:
        operands = [nodes[i] for i in step.operands]
        nodes.append(GRAPH_OPS[step.op].make(functions, operands, step.constant))
    output, *rest = (nodes[i] for i in graph.sinks())
    for node in rest:
        output = output + node
    return [*nodes, output]


def evaluate(graph: Graph, xs: Sequence[float]) -> list[float]:
    """The data of every node of `graph` at the point `xs`, the output last."""
    with no_grad():
        return [node.data for node in build(graph, [Value(x) for x in xs])]


def _kink_signs(graph: Graph, xs: Sequence[float]) -> tuple[int, ...]:
    data = evaluate(graph, xs)
    return tuple(
        (data[i] > 0) - (data[i] < 0)
        for step in graph.steps
        if step.op in KINKS
        for i in step.operands
    )


def smooth_around(graph: Graph, xs: Sequence[float], i: int) -> bool:
    """Whether moving x_i by a difference step either way keeps every kink on the same side.

    Across a kink of abs or relu a central difference measures neither side's slope.
    """
    h = difference_step(xs[i])
    signs = _kink_signs(graph, xs)
    return all(
        _kink_signs(graph, [x + step if j == i else x for j, x in enumerate(xs)]) == signs
        for step in (h, -h)
    )


LIMIT = 1e3  # graphs whose nodes grow beyond this are redrawn: differences lose their accuracy


@st.composite
def graphs_with_points(draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 10):
    """A graph and a point (inputs in [-2, 2]) where every node stays within +-LIMIT."""
    graph = draw(graphs(max_inputs, max_steps))
    xs = draw(st.lists(reals(-2.0, 2.0), min_size=graph.n_inputs, max_size=graph.n_inputs))
    assume(all(math.isfinite(d) and abs(d) <= LIMIT for d in evaluate(graph, xs)))
    return graph, xs


# --- random nn models -----------------------------------------------------------------------------
ACTIVATION_NAMES = sorted(name for name in ACTIVATIONS if name != "linear") + ["linear"]
small_sizes = st.integers(1, 4)
model_seeds = st.integers(0, 2**16)


def activation_modules(name: str, negative_slope: float = 0.2) -> Module:
    """The activation module for a name of `nn.ACTIVATIONS` ("linear": Identity)."""
    modules = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "softplus": Softplus, "silu": SiLU}
    modules |= {"gelu": GELU, "linear": Identity}
    return LeakyReLU(negative_slope) if name == "leaky_relu" else modules[name]()


@st.composite
def micrograd_networks(draw: st.DrawFn, nin: int, min_outputs: int = 1) -> Module:
    """An MLP, a Layer or (when one output may do) a Neuron reading `nin` features."""
    names = st.sampled_from(ACTIVATION_NAMES)
    kind = draw(st.sampled_from(["MLP", "Layer", "Neuron"][: 3 if min_outputs == 1 else 2]))
    rng = random.Random(draw(model_seeds))
    if kind == "Neuron":
        return Neuron(nin, activation=draw(names), rng=rng)
    if kind == "Layer":
        return Layer(nin, draw(st.integers(min_outputs, 4)), activation=draw(names), rng=rng)
    nouts = draw(st.lists(small_sizes, min_size=0, max_size=2))
    nouts.append(draw(st.integers(min_outputs, 4)))
    per_layer = st.lists(names, min_size=len(nouts), max_size=len(nouts))
    activation = draw(st.one_of(names, per_layer))
    return MLP(nin, nouts, activation=activation, seed=draw(model_seeds))


@st.composite
def sequentials(
    draw: st.DrawFn, nin: int, dropout_ps: tuple[float, ...], depth: int = 0
) -> tuple[Module, int]:
    """A Sequential of layers reading `nin` features, and how many it writes."""
    parts, width = [], nin
    for _ in range(draw(st.integers(1 if depth else 0, 4))):
        kind = draw(st.sampled_from(["Linear", "activation", "Dropout", "BatchNorm1d", "network"]))
        if kind == "Linear":
            out = draw(small_sizes)
            parts.append(Linear(width, out, draw(st.booleans()), seed=draw(model_seeds)))
            width = out
        elif kind == "activation":
            parts.append(activation_modules(draw(st.sampled_from(ACTIVATION_NAMES))))
        elif kind == "Dropout":
            parts.append(Dropout(draw(st.sampled_from(dropout_ps))))
        elif kind == "BatchNorm1d":
            momentum = draw(st.sampled_from([0.1, 0.5, None]))
            parts.append(BatchNorm1d(width, momentum=momentum, affine=draw(st.booleans())))
        elif depth == 0 and draw(st.booleans()):
            inner, width = draw(sequentials(width, dropout_ps, depth + 1))
            parts.append(inner)
        else:  # a micrograd network inside: at least two outputs, so it still gives a list
            network = draw(micrograd_networks(width, min_outputs=2))
            width = network.nouts[-1] if isinstance(network, MLP) else network.nout
            parts.append(network)
    return Sequential(*parts), width


@st.composite
def feed_forward_models(
    draw: st.DrawFn, dropout_ps: tuple[float, ...] = (0.0, 0.5)
) -> tuple[Module, int]:
    """A feed-forward nn model (a micrograd network, a Sequential or one layer) and the number
    of features it reads, its weights and batch-norm statistics drawn away from their starts."""
    nin = draw(small_sizes)
    kind = draw(st.sampled_from(["network", "Sequential", "Linear", "activation"]))
    if kind == "network":
        model: Module = draw(micrograd_networks(nin))
    elif kind == "Sequential":
        model = draw(sequentials(nin, dropout_ps))[0]
    elif kind == "Linear":
        model = Linear(nin, draw(small_sizes), draw(st.booleans()), seed=draw(model_seeds))
    else:
        model = activation_modules(draw(st.sampled_from(ACTIVATION_NAMES)))
    return randomized(model, random.Random(draw(model_seeds))), nin


def randomized(model: Module, rng: random.Random) -> Module:
    """`model` with every parameter in [-1.5, 1.5] and its batch-norm statistics moved too."""
    for parameter in model.parameters():
        parameter.data = rng.uniform(-1.5, 1.5)
    for module in model.modules():
        if isinstance(module, BatchNorm1d):
            module.running_mean = [rng.uniform(-1.0, 1.0) for _ in module.running_mean]
            module.running_var = [rng.uniform(0.3, 2.0) for _ in module.running_var]
            module.num_batches_tracked = rng.randrange(10)
    return model


def outputs_of(output: Any) -> list[Any]:
    """A model's output for one example as a list: a bare Value (one neuron) becomes [Value]."""
    return output if isinstance(output, list) else [output]
