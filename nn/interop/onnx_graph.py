"""A small builder of ONNX graphs over `onnx.helper`, for `nn.export_onnx`.

Nodes are added in order, each output named after its operation and a counter shared by a graph
and its subgraphs (the body of a Scan), so no name is ever used twice; weights become
initializers of the outer graph, which subgraphs may read. `layer_norm` writes nn's LayerNorm and
RMSNorm, for the feed-forward graphs and the GPT's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

from nn.layers.layer_norm import LayerNorm, RMSNorm

OPSET = 17  # has every operator used here; onnxruntime runs it from version 1.14 on
IR_VERSION = 8  # the IR version of opset 17, which older runtimes read too
# erf(t) = (2 / sqrt(pi)) t integral_0^1 exp(-(t u)**2) du, by Gauss-Legendre quadrature on
# [0, 1] with this many nodes: within 3e-15 of math.erf for |t| <= ERF_CLIP; beyond, erf(t) is
# +-1 to 2e-17, and is given as exactly that. Used in float64, where onnxruntime has no Erf.
ERF_NODES = 32
ERF_CLIP = 6.0
_OPERATORS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}


class OnnxGraph:
    """Nodes and initializers of one graph in one float type ("float32" or "float64").

    >>> import onnx
    >>> graph = OnnxGraph(onnx, "float64")
    >>> graph.node("Relu", ["input"])
    'Relu_0'
    """

    def __init__(self, onnx: Any, dtype: str, parent: OnnxGraph | None = None) -> None:
        import numpy

        self.onnx, self.numpy, self.dtype = onnx, numpy, dtype
        self.element_type = onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))
        self.nodes: list[Any] = []
        self.initializers: list[Any] = [] if parent is None else parent.initializers
        self._counter: Iterator[int] = itertools.count() if parent is None else parent._counter

    def fresh(self, hint: str) -> str:
        return f"{hint}_{next(self._counter)}"

    def node(self, op: str, inputs: Sequence[str], outputs: int = 1, **attributes: Any) -> Any:
        """Add an `op` node reading `inputs`; its output name (a list when `outputs` > 1)."""
        names = [self.fresh(op) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names, **attributes))
        return names[0] if outputs == 1 else names

    def constant(self, values: Any, hint: str, integer: bool = False) -> str:
        """An initializer holding `values` (nested lists or numbers) in the graph's float type."""
        array = self.numpy.asarray(values, dtype="int64" if integer else self.dtype)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def value_info(self, name: str, shape: Sequence[int | str], integer: bool = False) -> Any:
        element = self.onnx.TensorProto.INT64 if integer else self.element_type
        return self.onnx.helper.make_tensor_value_info(name, element, list(shape))

    def rename_output(self, name: str, new: str) -> None:
        """Call the value `name` `new` wherever a node writes or reads it (to name a graph
        output after the fact)."""
        for node in self.nodes:
            for i, output in enumerate(node.output):
                if output == name:
                    node.output[i] = new
            for i, input in enumerate(node.input):
                if input == name:
                    node.input[i] = new

    # --- functions of one tensor ----------------------------------------------------------------
    def affine(self, x: str, rows: Sequence[Sequence[float]], bias: Sequence[float] | None) -> str:
        """x W^T + b, for W given as `rows` (one per output: nn's and PyTorch's layout)."""
        transposed = self.numpy.asarray(rows, dtype=self.dtype).T
        y = self.node("MatMul", [x, self.constant(transposed, "weight")])
        return y if bias is None else self.node("Add", [y, self.constant(bias, "bias")])

    def activation(self, name: str, x: str, negative_slope: float = 0.01) -> str:
        """nn's activation `name` (a key of `nn.ACTIVATIONS`) of `x`."""
        if name == "linear":
            return x
        if name in _OPERATORS:
            return self.node(_OPERATORS[name], [x])
        if name == "leaky_relu":  # not LeakyRelu, whose alpha ONNX stores in float32
            zero, slope = self.constant(0.0, "zero"), self.constant(negative_slope, "slope")
            below = self.node("Mul", [x, slope])
            return self.node("Where", [self.node("Greater", [x, zero]), x, below])
        if name == "softplus":  # max(x, 0) + log(1 + e**-|x|): no overflow, as nn's
            tail = self.node("Exp", [self.node("Neg", [self.node("Abs", [x])])])
            tail = self.node("Log", [self.node("Add", [tail, self.constant(1.0, "one")])])
            return self.node("Add", [self.node("Relu", [x]), tail])
        if name == "silu":
            # x / (1 + e**-x), the same as x sigmoid(x) (e**-x overflowing to inf gives -0.0, as
            # x sigmoid(x) underflows to). Not Mul(x, Sigmoid(x)): onnxruntime 1.23, the newest
            # for Python 3.10, fuses that into its QuickGelu, which has no float64 kernel.
            one = self.constant(1.0, "one")
            denominator = self.node("Add", [one, self.node("Exp", [self.node("Neg", [x])])])
            return self.node("Div", [x, denominator])
        if name == "gelu":  # x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
            half = self.node("Mul", [x, self.constant(0.5, "half")])
            erf = self.erf(self.node("Mul", [x, self.constant(1 / math.sqrt(2), "sqrt_half")]))
            return self.node("Mul", [half, self.node("Add", [erf, self.constant(1.0, "one")])])
        raise ValueError(f"export_onnx: no ONNX form for the activation {name!r}")

    def erf(self, t: str) -> str:
        """erf(t): the Erf operator in float32; in float64, Gauss-Legendre quadrature."""
        if self.dtype == "float32":
            return self.node("Erf", [t])
        nodes, weights = self.numpy.polynomial.legendre.leggauss(ERF_NODES)
        # from [-1, 1] to [0, 1] halves the weights; the factor 2 / sqrt(pi) goes in with them
        nodes, weights = (nodes + 1.0) / 2.0, weights / math.sqrt(math.pi)
        low, high = self.constant(-ERF_CLIP, "erf_low"), self.constant(ERF_CLIP, "erf_high")
        clipped = self.node("Clip", [t, low, high])
        column = self.node("Unsqueeze", [clipped, self.constant([-1], "axes", integer=True)])
        scaled = self.node("Mul", [column, self.constant(nodes, "erf_nodes")])  # t u_i
        gauss = self.node("Exp", [self.node("Neg", [self.node("Mul", [scaled, scaled])])])
        integral = self.node("MatMul", [gauss, self.constant(weights, "erf_weights")])
        inside = self.node("Mul", [clipped, integral])
        outside = self.node("Greater", [self.node("Abs", [t]), high])  # erf is +-1 there, exactly
        return self.node("Where", [outside, self.node("Sign", [t]), inside])


def layer_norm(graph: OnnxGraph, norm: LayerNorm | RMSNorm, x: str) -> str:
    """LayerNorm: (x - mean) * (var + eps) ** -0.5 * weight + bias; RMSNorm: x * (mean(x**2) +
    eps) ** -0.5 * weight, over the last axis, in nn's order of operations, rather than ONNX's
    LayerNormalization, whose epsilon attribute is stored in float32. RMSNorm's eps None is the
    machine epsilon of the graph's dtype, as PyTorch takes that of its computation's."""
    eps = norm.eps if norm.eps is not None else float(graph.numpy.finfo(graph.dtype).eps)
    if type(norm) is LayerNorm:
        x = graph.node("Sub", [x, graph.node("ReduceMean", [x], axes=[-1])])
    square_mean = graph.node("ReduceMean", [graph.node("Mul", [x, x])], axes=[-1])
    shifted = graph.node("Add", [square_mean, graph.constant(eps, "eps")])
    y = graph.node("Mul", [x, graph.node("Pow", [shifted, graph.constant(-0.5, "minus_half")])])
    if norm.weight is not None:
        y = graph.node("Mul", [y, graph.constant([w.data for w in norm.weight], "weight")])
    if getattr(norm, "bias", None) is not None:
        y = graph.node("Add", [y, graph.constant([b.data for b in norm.bias], "bias")])
    return y
