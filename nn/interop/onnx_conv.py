"""Convolution, pooling and Flatten as ONNX nodes, for `nn.export_onnx`.

nn's layers take one example (channels x length, or channels x height x width); the graph takes a
batch of them, (batch, channels, ...), as ONNX's Conv, MaxPool, AveragePool and Flatten do. In
float32 those operators are written as they are. onnxruntime has no float64 kernel for Conv or
AveragePool, so in float64 both are written in plain operators: the input zero-padded (Pad), one
strided Slice per kernel offset, and for a convolution the slices stacked along the channels and
multiplied by the weights in one MatMul, the weights on the left (im2col); for average pooling the
slices summed and divided by the kernel's size. Spatial sizes stay symbolic: the file takes any
length.
"""

from __future__ import annotations

import itertools
import math

from nn.interop.onnx_graph import OnnxGraph
from nn.layers.conv import Conv1d, Conv2d, _ConvNd
from nn.layers.pooling import AvgPool1d, AvgPool2d, Flatten, MaxPool1d, MaxPool2d, _Pool

CONVS = (Conv1d, Conv2d)
POOLS = (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d)
LAYERS = (*CONVS, *POOLS, Flatten)
_END = 2**62  # a Slice end past any axis: "to the end"


def conv_graph(graph: OnnxGraph, module: _ConvNd | _Pool | Flatten, x: str) -> str:
    """Add the nodes of `module` applied to the batch `x`; the name of its output.

    >>> import onnx
    >>> conv_graph(OnnxGraph(onnx, "float32"), Conv1d(1, 2, 3, seed=0), "input")
    'Conv_2'
    """
    if isinstance(module, Flatten):
        return graph.node("Flatten", [x], axis=1)
    if isinstance(module, _ConvNd):
        return _conv(graph, module, x)
    kernel, stride, padding = module._kernel, module._stride, module._padding
    if isinstance(module, (MaxPool1d, MaxPool2d)):  # its padding never wins, as -inf
        return graph.node(
            "MaxPool", [x], kernel_shape=list(kernel), strides=list(stride), pads=list(padding) * 2
        )
    if graph.dtype == "float32":
        return graph.node(
            "AveragePool",
            [x],
            kernel_shape=list(kernel),
            strides=list(stride),
            pads=list(padding) * 2,
            count_include_pad=1,
        )
    slices = _slices(graph, x, kernel, stride, padding, (1,) * len(kernel))
    total = slices[0]
    for part in slices[1:]:
        total = graph.node("Add", [total, part])
    return graph.node("Div", [total, graph.constant(float(math.prod(kernel)), "kernel_size")])


def _conv(graph: OnnxGraph, conv: _ConvNd, x: str) -> str:
    weight = [[_floats(kernel) for kernel in row] for row in conv.weight]
    bias = None if conv.bias is None else [b.data for b in conv.bias]
    if graph.dtype == "float32":
        inputs = [x, graph.constant(weight, "weight")]
        if bias is not None:
            inputs.append(graph.constant(bias, "bias"))
        return graph.node(
            "Conv",
            inputs,
            kernel_shape=list(conv.kernel_size),
            strides=list(conv.stride),
            pads=list(conv.padding) * 2,
            dilations=list(conv.dilation),
        )
    args = (conv.kernel_size, conv.stride, conv.padding, conv.dilation)
    columns = graph.node("Concat", _slices(graph, x, *args), axis=1)  # (batch, K*C, ...)
    # W (out, K*C), its columns in the order of the stacked slices: kernel offset first, then
    # input channel. W on the left, so the columns go in as they are: a Transpose feeding a
    # MatMul is what onnxruntime 1.23 (the newest for Python 3.10) fuses into its FusedMatMul,
    # which has no float64 kernel.
    offsets = list(itertools.product(*map(range, conv.kernel_size)))
    matrix = [
        [_at(weight[o][i], k) for k in offsets for i in range(conv.in_channels)]
        for o in range(conv.out_channels)
    ]
    dims = len(conv.kernel_size)
    flat = columns
    if dims > 1:  # the output positions on one axis: (batch, K*C, positions)
        shape = [0, len(matrix[0]), -1]
        flat = graph.node("Reshape", [columns, graph.constant(shape, "shape", integer=True)])
    y = graph.node("MatMul", [graph.constant(matrix, "weight"), flat])  # (batch, out, positions)
    if bias is not None:
        y = graph.node("Add", [y, graph.constant([[b] for b in bias], "bias")])
    if dims == 1:
        return y
    # back to (batch, out, output sizes...): the batch as it is (0), the sizes the columns have
    sizes = graph.node("Shape", [columns], start=2)
    out = graph.constant([0, conv.out_channels], "out_channels", integer=True)
    return graph.node("Reshape", [y, graph.node("Concat", [out, sizes], axis=0)])


def _slices(
    graph: OnnxGraph,
    x: str,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> list[str]:
    """For each kernel offset (row-major), the strided slice of the zero-padded input that it
    meets at every output position: each (batch, channels, output sizes...)."""
    if any(padding):
        pads = graph.constant([0, 0, *padding, 0, 0, *padding], "pads", integer=True)
        x = graph.node("Pad", [x, pads])
    axes = graph.constant(list(range(2, 2 + len(kernel))), "axes", integer=True)
    steps = graph.constant(list(stride), "steps", integer=True)
    found = []
    for offsets in itertools.product(*map(range, kernel)):
        starts = [j * d for j, d in zip(offsets, dilation)]
        # the last window starts d (k - 1) - j d before the end: so many entries are left over
        ends = [
            s - d * (k - 1) if d * (k - 1) > s else _END
            for k, d, s in zip(kernel, dilation, starts)
        ]
        inputs = [
            x,
            graph.constant(starts, "starts", integer=True),
            graph.constant(ends, "ends", integer=True),
            axes,
            steps,
        ]
        found.append(graph.node("Slice", inputs))
    return found


def _floats(nested: list) -> list:
    if type(nested[0]) is list:
        return [_floats(part) for part in nested]
    return [v.data for v in nested]


def _at(nested: list, index: tuple[int, ...]) -> float:
    for i in index:
        nested = nested[i]
    return nested
