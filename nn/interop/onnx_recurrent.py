"""Recurrent cells and sequence models as ONNX graphs, for `nn.export_onnx`.

A cell's step is written out in plain operators (MatMul, Add, Sigmoid, Tanh, Mul), with one weight
matrix per gate cut from PyTorch's stacked layout (LSTM: i, f, g, o; GRU: r, z, n), so the gate
order is never in doubt. A sequence model runs that step over the time axis with ONNX's `Scan`,
one Scan per layer: the graph takes any sequence length and batch size. ONNX's own RNN, LSTM and
GRU operators are not used: onnxruntime runs them only in float32, and their LSTM stacks its
gates in another order (i, o, f, c).

Graph inputs and outputs follow PyTorch's names and shapes:

- `RNNCell`, `GRUCell`: input (batch, input_size), hx (batch, hidden_size) -> h_1;
  `LSTMCell`: input, hx, cx -> h_1, c_1.
- `RNN`, `GRU`: input (seq, batch, input_size), h0 (num_layers, batch, hidden_size) -> output
  (seq, batch, hidden_size), h_n (num_layers, batch, hidden_size); `LSTM`: input, h0, c0 ->
  output, h_n, c_n.
"""

from __future__ import annotations

from typing import Any

from nn.interop.onnx_graph import OnnxGraph
from nn.layers.cells import GRUCell, LSTMCell, RNNCell, _Cell
from nn.layers.rnn import LSTM, _Recurrent

CELLS = (RNNCell, LSTMCell, GRUCell)


def recurrent_graph(graph: OnnxGraph, module: _Cell | _Recurrent) -> tuple[list, list]:
    """Add `module` (a cell or a sequence model) to `graph`; its inputs' and outputs' value infos.

    >>> import onnx
    >>> from nn import GRUCell
    >>> inputs, outputs = recurrent_graph(OnnxGraph(onnx, "float32"), GRUCell(2, 3, seed=0))
    >>> [i.name for i in inputs], [o.name for o in outputs]
    (['input', 'hx'], ['h_1'])
    """
    if isinstance(module, _Cell):
        return _cell_graph(graph, module)
    return _sequence_graph(graph, module)


def _cell_graph(graph: OnnxGraph, cell: _Cell) -> tuple[list, list]:
    lstm = type(cell) is LSTMCell
    batch_state = ["batch", cell.hidden_size]
    inputs = [graph.value_info("input", ["batch", cell.input_size])]
    inputs += [graph.value_info(name, batch_state) for name in ("hx", "cx")[: 1 + lstm]]
    h, c = step(graph, cell, "input", "hx", "cx" if lstm else None)
    graph.rename_output(h, "h_1")
    outputs = [graph.value_info("h_1", batch_state)]
    if lstm:
        graph.rename_output(c, "c_1")
        outputs.append(graph.value_info("c_1", batch_state))
    return inputs, outputs


def _sequence_graph(graph: OnnxGraph, model: _Recurrent) -> tuple[list, list]:
    lstm = type(model) is LSTM
    states = ("h0", "c0")[: 1 + lstm]
    layered = [model.num_layers, "batch", model.hidden_size]
    inputs = [graph.value_info("input", ["sequence", "batch", model.input_size])]
    inputs += [graph.value_info(name, layered) for name in states]
    below, finals = "input", [[] for _ in states]
    for layer, cell in enumerate(model.cells):
        index = graph.constant(layer, "layer", integer=True)
        initial = [graph.node("Gather", [name, index], axis=0) for name in states]
        *last, below = graph.node(
            "Scan",
            [*initial, below],
            outputs=len(states) + 1,
            body=_scan_body(graph, cell, lstm),
            num_scan_inputs=1,
        )
        axis = graph.constant([0], "axes", integer=True)
        for kept, state in zip(finals, last):
            kept.append(graph.node("Unsqueeze", [state, axis]))
    graph.rename_output(below, "output")
    outputs = [graph.value_info("output", ["sequence", "batch", model.hidden_size])]
    for name, kept in zip(("h_n", "c_n"), finals):
        graph.rename_output(graph.node("Concat", kept, axis=0), name)
        outputs.append(graph.value_info(name, layered))
    return inputs, outputs


def _scan_body(graph: OnnxGraph, cell: _Cell, lstm: bool) -> Any:
    """One time step as a graph: (states..., x_t) -> (new states..., h_t), for Scan."""
    body = OnnxGraph(graph.onnx, graph.dtype, parent=graph)
    h, c, x = body.fresh("h"), body.fresh("c") if lstm else None, body.fresh("x")
    new_h, new_c = step(body, cell, x, h, c)
    emitted = body.node("Identity", [new_h])
    state = ["batch", cell.hidden_size]
    inputs = [body.value_info(h, state)]
    outputs = [body.value_info(new_h, state)]
    if lstm:
        inputs.append(body.value_info(c, state))
        outputs.append(body.value_info(new_c, state))
    inputs.append(body.value_info(x, ["batch", cell.input_size]))
    outputs.append(body.value_info(emitted, state))
    return graph.onnx.helper.make_graph(body.nodes, body.fresh("step"), inputs, outputs)


def step(graph: OnnxGraph, cell: _Cell, x: str, h: str, c: str | None) -> tuple[str, str | None]:
    """One step of `cell` on batches x and h (and c for an LSTM): the new h (and c), as nn's
    cells compute it, gate by gate.

    >>> import onnx
    >>> from nn import RNNCell
    >>> graph = OnnxGraph(onnx, "float64")
    >>> h, _ = step(graph, RNNCell(1, 2, seed=0), "x", "h", None)
    >>> [node.op_type for node in graph.nodes]
    ['MatMul', 'Add', 'MatMul', 'Add', 'Add', 'Tanh']
    """
    n = cell.hidden_size

    def gate(k: int) -> tuple[str, str]:
        """W_ih x + b_ih and W_hh h + b_hh for the k-th block of rows."""
        rows = slice(k * n, (k + 1) * n)
        biases = [None, None] if cell.bias_ih is None else [cell.bias_ih[rows], cell.bias_hh[rows]]
        from_input = graph.affine(x, _data(cell.weight_ih[rows]), _data(biases[0]))
        from_state = graph.affine(h, _data(cell.weight_hh[rows]), _data(biases[1]))
        return from_input, from_state

    def add(pair: tuple[str, str]) -> str:
        return graph.node("Add", list(pair))

    if type(cell) is RNNCell:
        return graph.node("Tanh" if cell.nonlinearity == "tanh" else "Relu", [add(gate(0))]), None
    if type(cell) is LSTMCell:
        i, f, o = (graph.node("Sigmoid", [add(gate(k))]) for k in (0, 1, 3))
        g = graph.node("Tanh", [add(gate(2))])
        c_next = graph.node("Add", [graph.node("Mul", [f, c]), graph.node("Mul", [i, g])])
        return graph.node("Mul", [o, graph.node("Tanh", [c_next])]), c_next
    # GRU: r and z from both sides; n = tanh(W_in x + b_in + r (W_hn h + b_hn))
    r, z = (graph.node("Sigmoid", [add(gate(k))]) for k in (0, 1))
    from_input, from_state = gate(2)
    new = graph.node("Tanh", [graph.node("Add", [from_input, graph.node("Mul", [r, from_state])])])
    keep = graph.node("Sub", [graph.constant(1.0, "one"), z])
    h_next = graph.node("Add", [graph.node("Mul", [keep, new]), graph.node("Mul", [z, h])])
    return h_next, None


def _data(values: Any) -> Any:
    """Floats of a list (or a list of lists) of Values; None stays None."""
    if values is None:
        return None
    if values and isinstance(values[0], list):
        return [[v.data for v in row] for row in values]
    return [v.data for v in values]
