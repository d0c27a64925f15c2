"""`nn.GPT` as an ONNX graph, for `nn.export_onnx`: any batch size and any sequence length up to
`block_size`, from one file.

The graph reads `input`, int64 token ids of shape (batch, seq), and writes `output`, the logits
(batch, seq, vocab_size); both axes are dynamic. Every step is a plain operator that onnxruntime
runs in float32 and float64 (Gather, MatMul, Add, Mul, Reshape, Transpose, Where, Softmax, the
norms' ReduceMean and Pow), with no fused attention or LayerNormalization operator:

    x = wte[input] + wpe[0..seq-1]                           Gather, Range over Shape(input)[1]
    q, k, v = x W_q^T + b_q, ...                              three MatMuls from in_proj_weight
    q_h = transpose(reshape(q, (batch, seq, H, d)))            (batch, H, seq, d), and k_h, v_h
    scores = q_h k_h^T * d**-0.5, set to -inf where s > l       the causal mask, built from seq
    heads = softmax(scores) v_h, back to (batch, seq, n_embd), then out_proj

A token outside the vocabulary, or a sequence longer than `block_size` (a position past `wpe`),
is an index out of range, which onnxruntime refuses at run time.
"""

from __future__ import annotations

import math

from nn.interop.onnx_graph import OnnxGraph, layer_norm
from nn.layers.activation import ReLU
from nn.layers.attention import MultiheadAttention
from nn.layers.linear import Linear
from nn.models.blocks import Block
from nn.models.gpt import GPT


def gpt_graph(graph: OnnxGraph, model: GPT) -> tuple[list, list]:
    """Add `model` to `graph`; its input's and output's value infos.

    >>> import onnx
    >>> inputs, outputs = gpt_graph(OnnxGraph(onnx, "float32"), GPT(5, 4, 4, 2, 1, seed=0))
    >>> [i.name for i in inputs], [o.name for o in outputs]
    (['input'], ['output'])
    """
    tokens = "input"
    x = graph.node("Add", [_gather(graph, model.wte.weight, tokens), _positions(graph, model)])
    if model.norm_e is not None:
        x = layer_norm(graph, model.norm_e, x)
    mask = _causal_mask(graph, tokens)
    for block in model.blocks:
        x = _block(graph, block, x, mask)
    if model.norm_f is not None:
        x = layer_norm(graph, model.norm_f, x)
    logits = graph.affine(x, _numbers(model.lm_head.weight), None)
    graph.rename_output(logits, "output")
    inputs = [graph.value_info("input", ["batch", "seq"], integer=True)]
    outputs = [graph.value_info("output", ["batch", "seq", model.vocab_size])]
    return inputs, outputs


def _numbers(rows: list) -> list[list[float]]:
    return [[v.data for v in row] for row in rows]


def _gather(graph: OnnxGraph, table: list, indices: str) -> str:
    """Rows of `table` (an nn weight) at `indices`. Gather reads a negative index from the end,
    where nn and torch refuse it: sent past the end instead, the runtime refuses it as it does
    every index out of range."""
    constant = graph.constant(_numbers(table), "embedding")
    negative = graph.node("Less", [indices, graph.constant(0, "zero", integer=True)])
    past_end = graph.constant(len(table), "num_embeddings", integer=True)
    return graph.node("Gather", [constant, graph.node("Where", [negative, past_end, indices])])


def _length(graph: OnnxGraph, tokens: str) -> str:
    """The sequence length, a scalar int64: Shape(tokens)[1]."""
    shape = graph.node("Shape", [tokens])
    return graph.node("Gather", [shape, graph.constant(1, "seq_axis", integer=True)], axis=0)


def _positions(graph: OnnxGraph, model: GPT) -> str:
    """wpe's rows 0 .. seq-1, (seq, n_embd), added to every sequence of the batch."""
    zero, one = graph.constant(0, "zero", integer=True), graph.constant(1, "one", integer=True)
    positions = graph.node("Range", [zero, _length(graph, "input"), one])
    return _gather(graph, model.wpe.weight, positions)


def _causal_mask(graph: OnnxGraph, tokens: str) -> str:
    """(seq, seq) booleans, True where key position s comes after query position l."""
    zero, one = graph.constant(0, "zero", integer=True), graph.constant(1, "one", integer=True)
    steps = graph.node("Range", [zero, _length(graph, tokens), one])
    rows = graph.node("Unsqueeze", [steps, graph.constant([1], "axes", integer=True)])
    columns = graph.node("Unsqueeze", [steps, graph.constant([0], "axes", integer=True)])
    return graph.node("Greater", [columns, rows])


def _block(graph: OnnxGraph, block: Block, x: str, mask: str) -> str:
    """x + attn(norm_1(x)), then + mlp(norm_2(x)), over (batch, seq, n_embd)."""
    attended = _attention(graph, block.attn, layer_norm(graph, block.norm_1, x), mask)
    x = graph.node("Add", [x, attended])
    first, activation, second = block.mlp
    h = graph.affine(layer_norm(graph, block.norm_2, x), *_weights(first))
    h = graph.activation("relu" if type(activation) is ReLU else "gelu", h)
    return graph.node("Add", [x, graph.affine(h, *_weights(second))])


def _weights(linear: Linear) -> tuple[list[list[float]], list[float] | None]:
    bias = None if linear.bias is None else [b.data for b in linear.bias]
    return _numbers(linear.weight), bias


def _attention(graph: OnnxGraph, attention: MultiheadAttention, x: str, mask: str) -> str:
    """Causal multi-head self-attention of (batch, seq, embed_dim), as the module docstring
    writes it."""
    n, heads, d = attention.embed_dim, attention.num_heads, attention.head_dim
    split = graph.constant([0, 0, heads, d], "head_shape", integer=True)
    projected = []
    for part in range(3):  # the query, key and value blocks of in_proj_weight
        rows = _numbers(attention.in_proj_weight[part * n : (part + 1) * n])
        bias = attention.in_proj_bias
        bias = None if bias is None else [b.data for b in bias[part * n : (part + 1) * n]]
        y = graph.node("Reshape", [graph.affine(x, rows, bias), split])
        # (batch, H, seq, d); the keys straight to (batch, H, d, seq), in one Transpose: one of
        # the last two axes alone, feeding a MatMul, is what onnxruntime 1.23 (the newest for
        # Python 3.10) fuses into its FusedMatMul, which has no float64 kernel.
        perm = [0, 2, 3, 1] if part == 1 else [0, 2, 1, 3]
        projected.append(graph.node("Transpose", [y], perm=perm))
    q, k_t, v = projected
    scores = graph.node("MatMul", [q, k_t])
    scores = graph.node("Mul", [scores, graph.constant(1.0 / math.sqrt(d), "scale")])
    scores = graph.node("Where", [mask, graph.constant(-math.inf, "minus_inf"), scores])
    weights = graph.node("Softmax", [scores], axis=-1)
    heads_out = graph.node("Transpose", [graph.node("MatMul", [weights, v])], perm=[0, 2, 1, 3])
    joined = graph.node("Reshape", [heads_out, graph.constant([0, 0, n], "joined", integer=True)])
    return graph.affine(joined, *_weights(attention.out_proj))
