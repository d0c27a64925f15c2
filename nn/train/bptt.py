"""Truncated backpropagation through time: training on a long sequence one window at a time.

Backpropagating through a whole sequence of T steps keeps the graph of all T steps alive until
`backward()` runs. Truncation (Williams and Peng, 1990, "An efficient gradient-based algorithm
for on-line training of recurrent network trajectories") updates the weights every k1 steps and
lets the gradient flow back at most k2 steps: the state is carried forward across windows, but
detached, so the graph alive at any time spans k2 steps. Memory is then in proportion to k2,
not to T; the price is that no gradient connects events more than k2 steps apart.

With `snapshots=k`, the windows run through `autograd.checkpoint_scan` instead: no step's graph is
kept, backward() recomputes the steps on Griewank's binomial schedule from k snapshots of the
state, and the gradients are the same. With k1 = len(inputs), one window is the whole sequence:
exact full BPTT, with memory for k states and one step's graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograd import Value, checkpoint_scan, topological_order
from nn.data.sources import positive_int
from nn.optim.optimizers import clip_grad_norm

SequenceModel = Callable[[Sequence[Any], Any], tuple[list[Any], Any]]


@dataclass(repr=False)
class BPTTHistory:
    """What `truncated_bptt` measured, one entry per update (one per window of k1 steps).

    `loss` is the window's mean loss, `grad_norm` the gradients' L2 norm before any clipping,
    `nodes` (with `count_nodes=True`) how many graph nodes the update backpropagated through
    (the graph alive at once), and `state` the model's state after the last step, detached.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    state: Any = None

    def __repr__(self) -> str:
        latest = f", loss={self.loss[-1]:.4g}" if self.loss else ""
        latest += f", nodes={max(self.nodes)}" if self.nodes else ""
        return f"BPTTHistory(updates={len(self.loss)}{latest})"


def truncated_bptt(
    model: SequenceModel,
    loss: Callable[[list[Any], list[Any]], Value],
    optimizer: Any,
    data: tuple[Sequence[Any], Sequence[Any]],
    k1: int,
    k2: int | None = None,
    *,
    epochs: int = 1,
    state: Any = None,
    max_norm: float | None = None,
    count_nodes: bool = False,
    snapshots: int | None = None,
) -> BPTTHistory:
    """Train a sequence model on one long sequence `data = (inputs, targets)`, by BPTT(k1, k2).

    `model(inputs, state) -> (outputs, state)` reads a window of inputs from a state (None at
    the start, or `state`) and returns one output per input and the state after them. Every
    k1 steps there is one update: the loss of those k1 steps, `loss(outputs, targets)`, is
    backpropagated through them and, when `k2` > k1, through the k2 - k1 steps before them
    (`k2` defaults to k1 and must be a multiple of it); the gradients are clipped to
    `max_norm` when given (`nn.optim.clip_grad_norm`); the optimizer steps. Between updates the
    state is carried forward detached, as constants, so no graph outlives its update.

    With k2 > k1 an update runs the model again, with the current weights, from the state saved
    k2 steps back, k1 steps at a time; the gradient is then exactly that of the last k1 steps'
    loss as a function of the weights, through k2 steps. (Williams and Peng reuse the graph of
    the first run instead, built with older weights; re-running costs k2 / k1 forward passes
    per step, and keeps one graph of k2 steps alive.) Every epoch starts again from the first
    step and from `state`. With `count_nodes`, the history records how many graph nodes each
    update backpropagates through: the graph alive at once, which grows with k2, not with the
    length of the sequence.

    `snapshots=k` runs each window through `autograd.checkpoint_scan`, calling `model` one step
    at a time (`model([x], state)`), so that backward() recomputes the steps keeping k states
    rather than the window's graph: the same gradients for about two to three times the time.
    With `k1=len(inputs)` (one update per epoch) that is exact full BPTT over the sequence.

    >>> from nn import RNN
    >>> from nn.data import sine_wave
    >>> from nn.losses import mse
    >>> from nn.optim import Adam
    >>> rnn = RNN(1, 1, seed=0)
    >>> def model(inputs, state):  # the RNN's one hidden unit predicts the next value
    ...     output, state = rnn(inputs, state)
    ...     return [h[0] for h in output], state
    >>> optimizer = Adam(rnn.parameters(), lr=0.05)
    >>> data = sine_wave(40)
    >>> history = truncated_bptt(model, mse, optimizer, data, k1=10, k2=20, count_nodes=True)
    >>> len(history.loss), history.nodes[0] < history.nodes[1]
    (4, True)
    """
    inputs, targets = data if isinstance(data, (tuple, list)) and len(data) == 2 else (None, None)
    if not isinstance(inputs, Sequence) or not isinstance(targets, Sequence):
        raise TypeError("truncated_bptt: data must be a pair (inputs, targets) of sequences")
    if len(inputs) != len(targets) or not inputs:
        raise ValueError(
            f"truncated_bptt: inputs has {len(inputs)} steps and targets {len(targets)}; "
            "they must be as long as each other, and not empty"
        )
    k1 = positive_int(k1, "truncated_bptt", "k1")
    k2 = k1 if k2 is None else positive_int(k2, "truncated_bptt", "k2")
    if k2 % k1:
        raise ValueError(f"truncated_bptt: k2={k2} must be a multiple of k1={k1}")
    epochs = positive_int(epochs, "truncated_bptt", "epochs")
    if snapshots is not None:
        snapshots = positive_int(snapshots, "truncated_bptt", "snapshots")
    owner = model if callable(getattr(model, "parameters", None)) else optimizer
    parameters = list(owner.parameters() if owner is model else getattr(owner, "params", []))
    if not parameters:
        raise TypeError(
            "truncated_bptt: found no parameters, neither model.parameters() nor optimizer.params"
        )
    history = BPTTHistory()
    for _ in range(epochs):
        saved = {0: detach(state)}  # the state before step t, at the starts of windows
        for newest in range(0, len(inputs), k1):
            first = max(0, newest - (k2 - k1))
            carried = saved[first]
            for start in range(first, newest + 1, k1):
                window = list(inputs[start : start + k1])
                if snapshots is None:
                    outputs, carried = model(window, carried)
                else:
                    carried, outputs = checkpoint_scan(
                        _one_step(model), carried, window, snapshots=snapshots
                    )
                saved[start + k1] = detach(carried)
            window_loss = loss(outputs, list(targets[newest : newest + k1]))
            optimizer.zero_grad()
            window_loss.backward()
            if count_nodes:  # a walk over the graph: about as long as backward() itself
                history.nodes.append(len(topological_order(window_loss)))
            norm = _norm(parameters) if max_norm is None else clip_grad_norm(parameters, max_norm)
            optimizer.step()
            history.loss.append(window_loss.data)
            history.grad_norm.append(norm)
            for position in [p for p in saved if p < newest + k1 - (k2 - k1)]:
                del saved[position]  # no later window starts there
        history.state = saved[max(saved)]
    return history


def _one_step(model: SequenceModel) -> Callable[[Any, Any], tuple[Any, Any]]:
    """`model` over a window of one input, as a scan's step: (state, x) -> (state, output)."""

    def step(state: Any, x: Any) -> tuple[Any, Any]:
        outputs, state = model([x], state)
        return state, outputs[0]

    return step


def detach(state: Any) -> Any:
    """`state` with every Value replaced by a constant copy (`Value.detach`), structure kept.

    Lists and tuples (an LSTM's `(h, c)`, one state per layer) are copied; numbers and None
    pass through.

    >>> h = [Value(1.0) * 2, Value(3.0)]
    >>> [v.parents for v in detach((h, None))[0]]
    [(), ()]
    """
    if isinstance(state, Value):
        return state.detach()
    if isinstance(state, (list, tuple)):
        return type(state)(detach(item) for item in state)
    return state


def _norm(parameters: list[Value]) -> float:
    return math.hypot(*(float(p.grad) for p in parameters))
