"""Truncated backpropagation through time: training on a long sequence one window at a time.

Backpropagating through a whole sequence of T steps keeps the graph of all T steps alive until
`backward()` runs. Truncation (Williams and Peng, 1990, "An efficient gradient-based algorithm
for on-line training of recurrent network trajectories") updates the weights every k1 steps and
lets the gradient flow back at most k2 steps: the state is carried forward across windows, but
detached, so only the last k2 / k1 windows' graphs are alive at once. Memory is then in
proportion to k2, not to T; the price is that no gradient connects events more than k2 steps
apart.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograd import Value, dot, topological_order
from nn.data import _positive_int
from nn.optim import clip_grad_norm

SequenceModel = Callable[[Sequence[Any], Any], tuple[list[Any], Any]]


@dataclass(repr=False)
class BPTTHistory:
    """What `truncated_bptt` measured, one entry per update (one per window of k1 steps).

    `loss` is the window's mean loss, `grad_norm` the gradients' L2 norm before any clipping,
    `nodes` how many graph nodes the update backpropagated through (the graph alive at once),
    and `state` the model's state after the last step, detached.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    state: Any = None

    def __repr__(self) -> str:
        latest = f", loss={self.loss[-1]:.4g}, nodes={max(self.nodes)}" if self.loss else ""
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
) -> BPTTHistory:
    """Train a sequence model on one long sequence `data = (inputs, targets)`, by BPTT(k1, k2).

    `model(inputs, state) -> (outputs, state)` reads a window of inputs from a state (None at
    the start, or `state`) and returns one output per input and the state after them. Every
    k1 steps: the window's `loss(outputs, targets)` is backpropagated through it and through the
    windows before it, k2 steps in all (`k2` defaults to k1 and must be a multiple of it); the
    gradients are clipped to `max_norm` when given (`nn.optim.clip_grad_norm`); the optimizer
    steps. The state goes on into the next window detached, as constants: the graph behind it
    is kept only while a later update still reaches back into it (k2 / k1 - 1 windows), each
    with the weights it was computed with, as in Williams and Peng. Every epoch starts again
    from the first step and from `state`.

    >>> from nn import RNN
    >>> from nn.data import sine_wave
    >>> from nn.losses import mse
    >>> from nn.optim import Adam
    >>> rnn = RNN(1, 1, seed=0)
    >>> def model(inputs, state):  # the RNN's one hidden unit predicts the next value
    ...     output, state = rnn(inputs, state)
    ...     return [h[0] for h in output], state
    >>> optimizer = Adam(rnn.parameters(), lr=0.05)
    >>> history = truncated_bptt(model, mse, optimizer, sine_wave(40), k1=10, k2=20)
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
    k1 = _positive_int(k1, "truncated_bptt", "k1")
    k2 = k1 if k2 is None else _positive_int(k2, "truncated_bptt", "k2")
    if k2 % k1:
        raise ValueError(f"truncated_bptt: k2={k2} must be a multiple of k1={k1}")
    epochs = _positive_int(epochs, "truncated_bptt", "epochs")
    owner = model if callable(getattr(model, "parameters", None)) else optimizer
    parameters = list(owner.parameters() if owner is model else getattr(owner, "params", []))
    if not parameters:
        raise TypeError(
            "truncated_bptt: found no parameters, neither model.parameters() nor optimizer.params"
        )
    history = BPTTHistory()
    for _ in range(epochs):
        carried = detach(state)
        earlier: deque[tuple[list[Value], list[Value]]] = deque(maxlen=k2 // k1 - 1)
        for start in range(0, len(inputs), k1):
            window = slice(start, start + k1)
            outputs, end = model(list(inputs[window]), carried)
            window_loss = loss(outputs, list(targets[window]))
            optimizer.zero_grad()
            for starting, _ in earlier:
                for leaf in starting:
                    leaf.grad = 0.0
            window_loss.backward()
            nodes = len(topological_order(window_loss))
            later = _values(carried)
            for starting, ending in reversed(earlier):  # on back into the earlier windows
                if not ending:
                    break
                seed = dot(ending, [leaf.grad for leaf in later])
                seed.backward()
                nodes += len(topological_order(seed)) - 1  # the seed node is not the model's
                later = starting
            norm = _norm(parameters) if max_norm is None else clip_grad_norm(parameters, max_norm)
            optimizer.step()
            history.loss.append(window_loss.data)
            history.grad_norm.append(norm)
            history.nodes.append(nodes)
            next_carried = detach(end)
            if earlier.maxlen:
                earlier.append((_values(carried), _values(end)))
            carried = next_carried
        history.state = carried
    return history


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


def _values(state: Any) -> list[Value]:
    """The Values in a state, depth first."""
    if isinstance(state, Value):
        return [state]
    if isinstance(state, (list, tuple)):
        return [value for item in state for value in _values(item)]
    return []


def _norm(parameters: list[Value]) -> float:
    return math.hypot(*(float(p.grad) for p in parameters))
