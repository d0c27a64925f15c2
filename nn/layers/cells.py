"""Recurrent cells with PyTorch's weight layout and gate order, and the wrappers that run them
over a sequence: RNNCell, LSTMCell, GRUCell; RNN, LSTM, GRU.

A cell holds `weight_ih` (gates * hidden_size rows of input_size Values), `weight_hh` (gates *
hidden_size rows of hidden_size), `bias_ih` and `bias_hh` (gates * hidden_size each), the gates
stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n), all drawn from U(-k, k) with
k = 1 / sqrt(hidden_size), in that order, so weights compare with torch.nn entry for entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from autograd import Value, dot
from nn.layers.arguments import boolean_flag, positive_size, random_source_for
from nn.model_files import saveable
from nn.module import Module

Vector = Sequence[Value | float]


class _Cell(Module):
    """What the three cells share: the weights, their drawing, checking inputs and states."""

    gates = 1
    config_keys: tuple[str, ...] = ("input_size", "hidden_size", "bias")

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, seed: int | None = None
    ) -> None:
        self.input_size = positive_size("input_size", input_size)
        self.hidden_size = positive_size("hidden_size", hidden_size)
        rng, rows = random_source_for(seed), self.gates * self.hidden_size
        k = 1.0 / math.sqrt(self.hidden_size)

        def draw(count: int) -> list[Value]:
            return [Value(rng.uniform(-k, k)) for _ in range(count)]

        self.weight_ih = [draw(self.input_size) for _ in range(rows)]
        self.weight_hh = [draw(self.hidden_size) for _ in range(rows)]
        self.bias_ih: list[Value] | None = None
        self.bias_hh: list[Value] | None = None
        if boolean_flag("bias", bias):
            self.bias_ih, self.bias_hh = draw(rows), draw(rows)

    def _affine(self, x: Vector, h: Vector) -> tuple[list[Value], list[Value]]:
        """W_ih x + b_ih and W_hh h + b_hh, every gate stacked."""
        ih = [dot(row, x) for row in self.weight_ih]
        hh = [dot(row, h) for row in self.weight_hh]
        if self.bias_ih is not None and self.bias_hh is not None:
            ih = [a + b for a, b in zip(ih, self.bias_ih)]
            hh = [a + b for a, b in zip(hh, self.bias_hh)]
        return ih, hh

    def _check(self, what: str, vector: Any, size: int, size_name: str) -> None:
        if not isinstance(vector, (list, tuple)):
            raise TypeError(
                f"{self!r}: {what} must be a list of {size_name}={size}, "
                f"got {type(vector).__name__} {vector!r:.80}"
            )
        if len(vector) != size:
            raise ValueError(
                f"{self!r}: {what} must be a list of {size_name}={size}, got {len(vector)} entries"
            )

    def _zeros(self) -> list[float]:
        return [0.0] * self.hidden_size

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        rows = cls.gates * positive_size("hidden_size", config["hidden_size"])
        columns = positive_size("input_size", config["input_size"]) + positive_size(
            "hidden_size", config["hidden_size"]
        )
        return rows * (columns + 2 * boolean_flag("bias", config["bias"]))

    def config(self) -> dict[str, Any]:
        bias = self.bias_ih is not None
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": bias}

    def __repr__(self) -> str:
        extra = "" if self.bias_ih is not None else ", bias=False"
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{extra})"


@saveable
class RNNCell(_Cell):
    """Elman's cell: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu, by `nonlinearity`).

    `cell(x, h)` returns h'; `h` None starts from zeros.

    >>> cell = RNNCell(2, 3, seed=0)
    >>> h = cell([1.0, -1.0])
    >>> len(cell([0.5, 0.5], h)), len(cell.parameters())
    (3, 21)
    """

    config_keys = ("input_size", "hidden_size", "bias", "nonlinearity")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        *,
        seed: int | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, seed=seed)
        self.nonlinearity = nonlinearity

    def forward(self, input: Vector, hx: Vector | None = None) -> list[Value]:
        self._check("input", input, self.input_size, "input_size")
        h = self._zeros() if hx is None else hx
        self._check("hx", h, self.hidden_size, "hidden_size")
        ih, hh = self._affine(input, h)
        if self.nonlinearity == "tanh":
            return [(a + b).tanh() for a, b in zip(ih, hh)]
        return [(a + b).relu() for a, b in zip(ih, hh)]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "nonlinearity": self.nonlinearity}

    def __repr__(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().__repr__()[:-1] + extra + ")"


@saveable
class LSTMCell(_Cell):
    """Hochreiter and Schmidhuber's long short-term memory, with a forget gate (PyTorch's form).

    i = sigmoid(.), f = sigmoid(.), g = tanh(.), o = sigmoid(.), each of W_ih x + b_ih + W_hh h +
    b_hh for its block of rows; c' = f c + i g and h' = o tanh(c'). The cell state c is carried
    forward by addition, so its gradient is not squashed step after step as an RNN's is.
    `cell(x, (h, c))` returns (h', c'); no state starts from zeros.

    >>> cell = LSTMCell(1, 2, seed=0)
    >>> h, c = cell([1.0])
    >>> len(h), len(c), len(cell.parameters())
    (2, 2, 40)
    """

    gates = 4

    def forward(
        self, input: Vector, hx: tuple[Vector, Vector] | None = None
    ) -> tuple[list[Value], list[Value]]:
        self._check("input", input, self.input_size, "input_size")
        h, c = (self._zeros(), self._zeros()) if hx is None else _pair(self, hx)
        self._check("hx[0] (h)", h, self.hidden_size, "hidden_size")
        self._check("hx[1] (c)", c, self.hidden_size, "hidden_size")
        ih, hh = self._affine(input, h)
        n = self.hidden_size
        pre = [a + b for a, b in zip(ih, hh)]
        i = [v.sigmoid() for v in pre[:n]]
        f = [v.sigmoid() for v in pre[n : 2 * n]]
        g = [v.tanh() for v in pre[2 * n : 3 * n]]
        o = [v.sigmoid() for v in pre[3 * n :]]
        c_next = [f_k * c_k + i_k * g_k for f_k, c_k, i_k, g_k in zip(f, c, i, g)]
        h_next = [o_k * c_k.tanh() for o_k, c_k in zip(o, c_next)]
        return h_next, c_next


@saveable
class GRUCell(_Cell):
    """Cho et al.'s gated recurrent unit (PyTorch's form).

    r = sigmoid(.), z = sigmoid(.) of W_ih x + b_ih + W_hh h + b_hh for their rows;
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h.
    `cell(x, h)` returns h'; `h` None starts from zeros.

    >>> cell = GRUCell(1, 2, seed=0)
    >>> len(cell([1.0])), len(cell.parameters())
    (2, 30)
    """

    gates = 3

    def forward(self, input: Vector, hx: Vector | None = None) -> list[Value]:
        self._check("input", input, self.input_size, "input_size")
        h = self._zeros() if hx is None else hx
        self._check("hx", h, self.hidden_size, "hidden_size")
        ih, hh = self._affine(input, h)
        n = self.hidden_size
        r = [(a + b).sigmoid() for a, b in zip(ih[:n], hh[:n])]
        z = [(a + b).sigmoid() for a, b in zip(ih[n : 2 * n], hh[n : 2 * n])]
        new = [(a + r_k * b).tanh() for a, r_k, b in zip(ih[2 * n :], r, hh[2 * n :])]
        return [(1.0 - z_k) * n_k + z_k * h_k for z_k, n_k, h_k in zip(z, new, h)]


def _pair(cell: Module, hx: Any) -> tuple[Any, Any]:
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"{cell!r}: hx must be a pair (h, c), got {type(hx).__name__}")
    if len(hx) != 2:
        raise ValueError(f"{cell!r}: hx must be a pair (h, c), got {len(hx)} entries")
    return hx[0], hx[1]
