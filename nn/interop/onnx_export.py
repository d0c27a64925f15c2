"""`export_onnx(module, path)`: a model as an ONNX file, which onnxruntime and other engines run.

The graph is built with the `onnx` package's helpers (not through PyTorch), checked with
`onnx.checker.check_model` (with shape inference), and written atomically.
"""

from __future__ import annotations

import os
from typing import Any

from nn.extras import require
from nn.files import atomic_write_bytes
from nn.interop.onnx_conv import CONVS, LAYERS, POOLS, conv_graph
from nn.interop.onnx_gpt import gpt_graph
from nn.interop.onnx_graph import IR_VERSION, OPSET, OnnxGraph, layer_norm
from nn.interop.onnx_recurrent import recurrent_graph
from nn.layers.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from nn.layers.cells import GRUCell, LSTMCell, RNNCell
from nn.layers.dropout import Dropout
from nn.layers.embedding import Embedding
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.linear import Linear, Sequential
from nn.layers.mlp import MLP, Layer, Neuron
from nn.layers.norm import BatchNorm1d
from nn.layers.pooling import Flatten
from nn.layers.rnn import GRU, LSTM, RNN
from nn.models.gpt import GPT
from nn.module import Module

DTYPES = ("float32", "float64")
# A layout: how many axes an example has (1: features; 2: channels x length; 3: channels x
# height x width) and the size of the first (None: any); the batch's axis comes before them.
Layout = tuple[int, int | None]
_SPATIAL = {1: [], 2: ["length"], 3: ["height", "width"]}
RECURRENT = (RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU)
_ACTIVATION_NAMES = {
    ReLU: "relu",
    Tanh: "tanh",
    Sigmoid: "sigmoid",
    Softplus: "softplus",
    SiLU: "silu",
    GELU: "gelu",
}


def export_onnx(module: Module, path: str | os.PathLike[str], dtype: str = "float32") -> Any:
    """Write `module` to `path` as an ONNX model in `dtype` ("float32" or "float64"); return it
    (an `onnx.ModelProto`).

    The graph computes what the module computes in eval mode (Dropout is the identity, BatchNorm1d
    uses its running statistics), whatever its mode, and takes a batch: its first axis is "batch",
    of any size. A feed-forward model (MLP, Layer, Neuron, Linear, Sequential, the activations,
    Dropout, BatchNorm1d, LayerNorm, RMSNorm) reads `input` (batch, features) and writes `output`
    (batch, outputs); a model that starts with an Embedding reads int64 indices (batch,); one that
    starts with a convolution or pooling layer reads (batch, channels, length) or (batch, channels,
    height, width), of any length, height and width (see `nn.interop.onnx_conv`); recurrent cells
    and RNN, LSTM, GRU read and write PyTorch's tensors, sequence first (see
    `nn.interop.onnx_recurrent`). A `GPT` reads int64 token ids `input` (batch, seq) and writes
    its logits `output` (batch, seq, vocab_size), for any seq up to block_size, with causal
    attention in plain operators (see `nn.interop.onnx_gpt`). Everything is written in ONNX
    operators that onnxruntime runs in both dtypes (GELU's erf, which it lacks in float64, as a
    32-point Gauss-Legendre sum there; Conv and AveragePool, which it lacks in float64, as slices
    and a MatMul). A module with no ONNX form (one of your own) is refused with a TypeError naming
    where it sits.

    >>> import os, tempfile
    >>> import numpy, onnxruntime
    >>> from nn import MLP, export_onnx
    >>> model = MLP(2, [4, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> _ = export_onnx(model, path, dtype="float64")
    >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> (y,) = session.run(None, {"input": numpy.array([[1.0, -0.5]])})
    >>> bool(abs(y[0, 0] - model([1.0, -0.5]).data) < 1e-12)
    True
    """
    onnx = require("onnx", "onnx", "export_onnx")
    if dtype not in DTYPES:
        raise ValueError(f"export_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    if not isinstance(module, Module):
        raise TypeError(f"export_onnx: expected an nn Module, got {type(module).__name__}")
    graph = OnnxGraph(onnx, dtype)
    if type(module) in RECURRENT:
        inputs, outputs = recurrent_graph(graph, module)
    elif type(module) is GPT:
        inputs, outputs = gpt_graph(graph, module)
    else:
        inputs, outputs = _feed_forward_graph(graph, module)
    helper = onnx.helper
    model = helper.make_model(
        helper.make_graph(graph.nodes, type(module).__name__, inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="chainrule",
        doc_string=repr(module),
    )
    onnx.checker.check_model(model, full_check=True)
    atomic_write_bytes(path, model.SerializeToString())
    return model


def _feed_forward_graph(graph: OnnxGraph, module: Module) -> tuple[list, list]:
    reads, writes = _sizes(module, "model")
    if _first(module) is Embedding:
        inputs = [graph.value_info("input", ["batch"], integer=True)]
    else:
        inputs = [graph.value_info("input", _axes(reads, ""))]
    output = _emit(graph, module, "input", "model", first=True)
    if output == "input":  # an empty Sequential: the graph must still compute its output
        output = graph.node("Identity", ["input"])
    graph.rename_output(output, "output")
    return inputs, [graph.value_info("output", _axes(writes or reads, "output_"))]


def _axes(layout: Layout | None, prefix: str) -> list[int | str]:
    """The graph's axes for a batch of examples of `layout`; unknown sizes are named."""
    rank, size = layout or (1, None)
    first = size or ("features" if rank == 1 else "channels")
    return ["batch", first, *(prefix + axis for axis in _SPATIAL[rank])]


def _emit(graph: OnnxGraph, module: Module, x: str, where: str, first: bool) -> str:
    """Add the nodes of `module` applied to the batch `x`; the name of its output."""
    kind = type(module)
    if kind is Sequential:
        for i, part in enumerate(module):
            x = _emit(graph, part, x, f"{where}.{i}", first and i == 0)
        return x
    if kind is Linear:
        bias = None if module.bias is None else [b.data for b in module.bias]
        return graph.affine(x, [[w.data for w in row] for row in module.weight], bias)
    if kind is MLP:
        for layer in module.layers:
            x = _neurons(graph, layer.neurons, layer.activation, x)
        return x
    if kind is Layer:
        return _neurons(graph, module.neurons, module.activation, x)
    if kind is Neuron:
        return _neurons(graph, [module], module.activation, x)
    if kind in _ACTIVATION_NAMES:
        return graph.activation(_ACTIVATION_NAMES[kind], x)
    if kind is LeakyReLU:
        return graph.activation("leaky_relu", x, module.negative_slope)
    if kind in (Identity, Dropout):  # Dropout is the identity in eval mode
        return graph.node("Identity", [x])
    if kind is BatchNorm1d:
        return _batch_norm(graph, module, x)
    if kind in (LayerNorm, RMSNorm):
        return layer_norm(graph, module, x)
    if kind is Embedding:
        if not first:
            raise ValueError(
                f"export_onnx: {where} is an Embedding after other layers; an Embedding reads "
                "integer indices, so it can only come first"
            )
        table = graph.constant([[w.data for w in row] for row in module.weight], "embedding")
        # Gather reads a negative index from the end, where nn and torch refuse it: sent past
        # the end instead, it is refused by the runtime as every out-of-range index is
        negative = graph.node("Less", [x, graph.constant(0, "zero", integer=True)])
        past_end = graph.constant(module.num_embeddings, "num_embeddings", integer=True)
        return graph.node("Gather", [table, graph.node("Where", [negative, past_end, x])], axis=0)
    if kind in LAYERS:
        return conv_graph(graph, module, x)
    if kind in RECURRENT:
        raise TypeError(
            f"export_onnx: {where} is an {kind.__name__} inside another module; recurrent "
            "modules are exported on their own"
        )
    raise TypeError(
        f"export_onnx: {where} is a {kind.__module__}.{kind.__qualname__}, which has no ONNX "
        "form here; export_onnx writes nn's MLP, Layer, Neuron, Linear, Sequential, the "
        "activations, Dropout, BatchNorm1d, LayerNorm, RMSNorm, Embedding, Conv1d, Conv2d, "
        "MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, Flatten, the recurrent cells, RNN, LSTM, "
        "GRU and GPT"
    )


def _neurons(graph: OnnxGraph, neurons: list[Neuron], activation: str, x: str) -> str:
    """A layer of micrograd neurons: their weights as the rows of one matrix, then activation."""
    rows = [[w.data for w in neuron.w] for neuron in neurons]
    return graph.activation(activation, graph.affine(x, rows, [n.b.data for n in neurons]))


def _batch_norm(graph: OnnxGraph, norm: BatchNorm1d, x: str) -> str:
    """(x - running_mean) * (1 / sqrt(running_var + eps)) * weight + bias, in nn's order of
    operations (so float64 agrees to the bit), rather than BatchNormalization, whose epsilon
    attribute ONNX stores in float32."""
    inverse = [1.0 / (var + norm.eps) ** 0.5 for var in norm.running_var]
    y = graph.node("Sub", [x, graph.constant(norm.running_mean, "running_mean")])
    y = graph.node("Mul", [y, graph.constant(inverse, "inverse_std")])
    if norm.weight is not None and norm.bias is not None:
        y = graph.node("Mul", [y, graph.constant([w.data for w in norm.weight], "weight")])
        y = graph.node("Add", [y, graph.constant([b.data for b in norm.bias], "bias")])
    return y


def _first(module: Module) -> type[Module]:
    while type(module) is Sequential and len(module):
        module = module[0]
    return type(module)


def _sizes(
    module: Module, where: str, flowing: Layout | None = None
) -> tuple[Layout | None, Layout | None]:
    """The layouts `module` reads and writes; None for a side it leaves as it finds it (an
    activation) or that holds indices (an Embedding's input). `flowing` is the layout that flows
    into it: a part of a Sequential that reads another (Linear(2, 3) then Linear(4, 1), or a
    Linear straight after a convolution) is refused, naming where it sits."""
    kind = type(module)
    if kind is Sequential:
        reads = None
        for i, part in enumerate(module):
            part_reads, part_writes = _sizes(part, f"{where}.{i}", flowing)
            reads = part_reads if reads is None and flowing is None else reads
            flowing = part_writes if part_writes is not None else flowing
        return reads, flowing
    reads, writes = _own_sizes(module, flowing)
    if reads is not None and flowing is not None and not _fits(reads, flowing):
        raise ValueError(
            f"export_onnx: {where} ({module!r}) reads {_describe(reads)}, but the layers before "
            f"it write {_describe(flowing)}"
        )
    return reads, writes


def _fits(reads: Layout, written: Layout) -> bool:
    return reads[0] == written[0] and None in (reads[1], written[1]) or reads == written


def _describe(layout: Layout) -> str:
    rank, size = layout
    if rank == 1:
        return "features" if size is None else f"{size} features"
    axes = " x ".join(_SPATIAL[rank])
    return f"{'' if size is None else f'{size} '}channels of {axes}"


def _own_sizes(module: Module, flowing: Layout | None) -> tuple[Layout | None, Layout | None]:
    kind = type(module)
    if kind in CONVS:
        rank = len(module.kernel_size) + 1
        return (rank, module.in_channels), (rank, module.out_channels)
    if kind in POOLS:
        rank = len(module._kernel) + 1
        keeps = flowing if flowing is not None and flowing[0] == rank else (rank, None)
        return (rank, None), keeps
    if kind is Flatten:
        return None, (1, None)
    reads, writes = _own_features(module)
    return (None if reads is None else (1, reads)), (None if writes is None else (1, writes))


def _own_features(module: Module) -> tuple[int | None, int | None]:
    kind = type(module)
    if kind is Linear:
        return module.in_features, module.out_features
    if kind is MLP:
        return module.nin, module.nouts[-1]
    if kind is Layer:
        return module.nin, module.nout
    if kind is Neuron:
        return module.nin, 1
    if kind is BatchNorm1d:
        return module.num_features, module.num_features
    if kind in (LayerNorm, RMSNorm):
        return module.size, module.size
    if kind is Embedding:
        return None, module.embedding_dim
    return None, None
