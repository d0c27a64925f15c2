"""Dropout (Srivastava et al., 2014): a regulariser that zeroes random entries while training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd import Value
from nn.layers.arguments import finite_real, random_source_for
from nn.model_files import saveable
from nn.module import Module
from nn.random_states import uniforms
from nn.tape_requests import tracing


@saveable
class Dropout(Module):
    """Inverted dropout: while training, each entry is zeroed with probability `p` and the rest
    are scaled by 1 / (1 - p), so the expected output is the input; in eval mode, the identity.
    As in PyTorch, `p` is in [0, 1]: p = 1 zeroes every entry while training.

    The coin flips come from `random.Random(seed)`, or the global `random` when None (a saved
    model records only `p`). A dropped entry is the input times 0, so its gradient is 0; a kept
    one passes its gradient on times 1 / (1 - p). Trained through a tape (`fit(...,
    compile=True)`), the masks are inputs of the tape, drawn for every batch from the same
    generator in the same order (`nn.train.model_tape`): the same coin flips as eager training.

    >>> drop = Dropout(0.5, seed=0)
    >>> sorted({y.data for y in drop([Value(1.0)] * 20)})
    [0.0, 2.0]
    >>> drop.eval()([1.0, 2.0])
    [1.0, 2.0]
    """

    config_keys = ("p",)

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        p = finite_real("Dropout: p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p!r}")
        self.p = p
        self._rng = random_source_for(seed)

    def forward(self, x: Sequence[Value | float]) -> list[Any]:
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"Dropout takes one example, a list, got {type(x).__name__} {x!r}")
        if not self.training or self.p == 0.0:
            return list(x)
        traced = tracing()
        if traced is not None:  # nn.train.compiled fills the masks in, per example, per step
            return [v * m for v, m in zip(x, traced.random_inputs(len(x), self._masks, self._rng))]
        scale, p, draw = self._scale(), self.p, self._rng.random
        return [v * (0.0 if draw() < p else scale) for v in x]

    def _masks(self, np: Any, calls: int, count: int) -> Any:
        """The (calls x count) factors that `calls` training calls on `count` entries multiply
        by, drawn now from this module's generator in their order: example by example, entry
        by entry, each 0 with probability p, else 1 / (1 - p)."""
        u = uniforms(self._rng, calls * count, np).reshape(calls, count)
        return np.where(u < self.p, 0.0, self._scale())

    def _scale(self) -> float:
        """What a kept entry is multiplied by: 1 / (1 - p); with p = 1 none is kept."""
        return 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
