"""`checkpoint(f)`: f's graph is not kept, backward() recomputes it (as torch.utils.checkpoint)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from autograd.checkpointing.joint import joint_outputs
from autograd.checkpointing.recompute import Inside, outside_nodes, sweep_inside
from autograd.checkpointing.trees import flatten, same_numbers, unflatten
from autograd.modes import graph_scope, is_grad_enabled, recording
from autograd.value import Value


def checkpoint(f: Callable[..., Any]) -> Callable[..., Any]:
    """f, run without keeping its graph: `backward()` runs f again to recompute it.

    `checkpoint(f)(*args)` returns what f returns (a Value, or lists and tuples of Values and
    numbers), but each returned Value is a node whose one parent is a joint node standing for
    all of f's graph. The joint node's parents are the Values f read from outside: its arguments,
    and any Value it closes over (a model's weights), so those get their gradients too. When
    backward() reaches it, f runs again with recording on, and the outputs' adjoints are swept
    through that fresh graph into the parents; the fresh graph is dropped after. The gradients
    are those of the plain graph (to the last bit where each outside Value is read once).

    How the parents are found: the first call runs f recording, inside a graph scope of its own,
    then walks back from f's outputs through the nodes made in that scope; the nodes it stops at
    were made outside. The graph is dropped as soon as the call returns. So one f's graph is alive
    during the call, as it will be again during backward(): the peak is f's graph once, the graph
    kept between forward and backward is two nodes per output.

    f must compute the same graph each time: the recomputed outputs are checked against the first
    ones (bit for bit), and a recomputation that reads a Value the first run did not raises.
    Higher derivatives (`create_graph=True`, `hessian`) go through: the recomputation then sweeps
    with Value adjoints and its graph stays in the derivative's graph. Forward mode (`jvp`) and
    tapes (`trace`) refuse a checkpoint with a TypeError. Under `no_grad()`, f just runs.

    >>> from autograd import Value
    >>> w = Value(0.5)
    >>> def layer(x):  # w is closed over: it gets its gradient too
    ...     return (w * x).tanh() + x
    >>> x = Value(2.0)
    >>> y = checkpoint(layer)(checkpoint(layer)(x))
    >>> y.backward()
    >>> checkpointed = x.grad, w.grad
    >>> x.grad = w.grad = 0.0
    >>> layer(layer(x)).backward()  # the plain graph
    >>> (x.grad, w.grad) == checkpointed
    True
    """
    if not callable(f):
        raise TypeError(f"checkpoint: f must be callable, got {type(f).__name__} {f!r}")

    @functools.wraps(f)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        if not is_grad_enabled():
            return f(*args, **kwargs)
        with graph_scope(f, "checkpoint") as scope:
            result = f(*args, **kwargs)
        leaves, shape = flatten(result)
        positions = [i for i, leaf in enumerate(leaves) if type(leaf) is Value]
        if not positions:
            return result
        outputs = [leaves[i] for i in positions]
        parents: dict[Value, int] = {}
        outside_nodes(outputs, Inside(scope), parents)
        datas = [output.data for output in outputs]
        replay = _Replay(f, args, kwargs, parents, positions, datas)
        for i, output in zip(positions, joint_outputs(datas, tuple(parents), replay)):
            leaves[i] = output
        return unflatten(shape, leaves)

    return checkpointed


class _Replay:
    """What backward() needs to recompute f's graph: the call, and f's outside inputs."""

    __slots__ = ("f", "args", "kwargs", "parents", "positions", "datas")

    def __init__(
        self, f: Callable, args: tuple, kwargs: dict, parents: dict, positions: list, datas: list
    ) -> None:
        self.f, self.args, self.kwargs, self.parents = f, args, kwargs, parents
        self.positions, self.datas = positions, datas

    def __call__(self, seeds: list, as_values: bool) -> list:
        with recording(), graph_scope(self.f, "checkpoint") as scope:
            result = self.f(*self.args, **self.kwargs)
        leaves = flatten(result)[0]
        outputs = [leaves[i] if i < len(leaves) else None for i in self.positions]
        for output, data in zip(outputs, self.datas):
            if type(output) is not Value or not same_numbers(output.data, data):
                raise RuntimeError(
                    f"checkpoint: recomputing {_name(self.f)} gave {output!r} where the first call "
                    f"gave {data!r}: a checkpointed function must compute the same values each "
                    "time (no randomness, no state changed between the call and backward())"
                )
        adjoints = [0.0] * len(self.parents)
        sweep_inside(outputs, seeds, self.parents, Inside(scope), adjoints, as_values)
        return adjoints


def _name(f: Callable) -> str:
    return getattr(f, "__qualname__", repr(f))
