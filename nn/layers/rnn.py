"""RNN, LSTM, GRU: recurrent cells run over a sequence, layer on layer, as torch.nn's are.

`model(input, hx)` takes a sequence (a list of steps, each a list of `input_size` numbers or
Values) and an optional initial state, and returns `(output, h_n)`: `output` holds the last
layer's hidden state at every step, `h_n` every layer's state after the last step (for LSTM,
`(h_n, c_n)`). This is PyTorch's unbatched form, (L, input_size) -> (L, hidden_size) and
(num_layers, hidden_size). Parameters are named as PyTorch names them (`weight_ih_l0`,
`bias_hh_l1`, ...). Each step's nodes are made inside a graph scope "step t", so
`draw_graph(y, collapse="step")` draws the network unrolled in time, one box per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from autograd import Value, graph_scope
from nn.layers.arguments import boolean_flag, positive_size, random_source_for
from nn.layers.cells import GRUCell, LSTMCell, RNNCell, _Cell
from nn.model_files import saveable
from nn.module import Module

Steps = Sequence[Sequence[Value | float]]


class _Recurrent(Module):
    """The shared loop: for every step, every layer's cell reads the layer below's new state."""

    cell_class: ClassVar[type[_Cell]]
    config_keys: tuple[str, ...] = ("input_size", "hidden_size", "num_layers", "bias")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        *,
        seed: int | None = None,
        **cell_options: Any,
    ) -> None:
        self.input_size = positive_size("input_size", input_size)
        self.hidden_size = positive_size("hidden_size", hidden_size)
        self.num_layers = positive_size("num_layers", num_layers)
        self.bias = boolean_flag("bias", bias)
        rng = random_source_for(seed)  # each layer's cell draws from a seed taken from this stream
        cells = []
        for layer in range(self.num_layers):
            size = self.input_size if layer == 0 else self.hidden_size
            seed_of_cell = rng.getrandbits(64)
            cell = self.cell_class(size, self.hidden_size, bias, seed=seed_of_cell, **cell_options)
            cell._scope_name = f"layer {layer}"
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if getattr(cell, name) is not None:
                    setattr(self, f"{name}_l{layer}", getattr(cell, name))  # PyTorch's names
            cells.append(cell)
        self.cells = cells
        self._steps: list[graph_scope] = []

    def forward(self, input: Steps, hx: Any = None) -> tuple[list[Any], Any]:
        if not isinstance(input, (list, tuple)) or not input:
            is_list = isinstance(input, (list, tuple))
            raise (ValueError if is_list else TypeError)(
                f"{self!r}: input must be a non-empty list of steps, each a list of "
                f"input_size={self.input_size} numbers, "
                f"got {'an empty list' if is_list else type(input).__name__}"
            )
        for t, step in enumerate(input):
            if not isinstance(step, (list, tuple)) or len(step) != self.input_size:
                is_list = isinstance(step, (list, tuple))
                raise (ValueError if is_list else TypeError)(
                    f"{self!r}: input[{t}] must be a list of input_size={self.input_size} "
                    f"numbers, got {f'{len(step)} entries' if is_list else _described(step)}"
                )
        states = self._initial_states(hx)
        while len(self._steps) < len(input):
            self._steps.append(graph_scope(self, f"step {len(self._steps)}"))
        output = []
        for t, step in enumerate(input):
            with self._steps[t]:
                below = step
                for layer, cell in enumerate(self.cells):
                    states[layer] = cell(below, states[layer])
                    below = self._hidden(states[layer])
            output.append(below)
        return output, self._final(states)

    def _initial_states(self, hx: Any) -> list[Any]:
        if hx is None:
            return [None] * self.num_layers
        return self._layers_of(hx, "hx")

    def _layers_of(self, states: Any, name: str) -> list[Any]:
        if not isinstance(states, (list, tuple)) or len(states) != self.num_layers:
            raise (ValueError if isinstance(states, (list, tuple)) else TypeError)(
                f"{self!r}: {name} must hold one state per layer, num_layers={self.num_layers}, "
                f"got {_described(states)}"
            )
        return list(states)

    def _hidden(self, state: Any) -> list[Value]:
        return state

    def _final(self, states: list[Any]) -> Any:
        return states

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        hidden, layers = positive_size("hidden_size", config["hidden_size"]), config["num_layers"]
        first = {**config, "input_size": positive_size("input_size", config["input_size"])}
        deeper = {**config, "input_size": hidden}
        per_cell = [cls.cell_class._count_parameters(first)]
        per_cell += [cls.cell_class._count_parameters(deeper)] * (
            positive_size("num_layers", layers) - 1
        )
        return sum(per_cell)

    def __repr__(self) -> str:
        extra = "" if self.num_layers == 1 else f", num_layers={self.num_layers}"
        extra += "" if self.bias else ", bias=False"
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{extra})"


@saveable
class RNN(_Recurrent):
    """`num_layers` Elman `RNNCell`s over a sequence: `rnn(input, h0) -> (output, h_n)`.

    `h0` (zeros when None) and `h_n` hold one hidden state per layer.

    >>> rnn = RNN(1, 3, seed=0)
    >>> output, h_n = rnn([[0.5], [-1.0], [2.0]])
    >>> len(output), len(output[0]), output[-1] == h_n[-1]
    (3, 3, True)
    """

    cell_class = RNNCell
    config_keys = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, seed=seed, nonlinearity=nonlinearity
        )
        self.nonlinearity = nonlinearity

    def __repr__(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().__repr__()[:-1] + extra + ")"


@saveable
class LSTM(_Recurrent):
    """`num_layers` `LSTMCell`s over a sequence: `lstm(input, (h0, c0)) -> (output, (h_n, c_n))`.

    `h0`, `c0` (zeros when the state is None), `h_n` and `c_n` hold one state per layer.

    >>> lstm = LSTM(2, 4, num_layers=2, seed=0)
    >>> output, (h_n, c_n) = lstm([[1.0, 0.0], [0.0, 1.0]])
    >>> len(output), len(h_n), len(c_n[1])
    (2, 2, 4)
    """

    cell_class = LSTMCell

    def _initial_states(self, hx: Any) -> list[Any]:
        if hx is None:
            return [None] * self.num_layers
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise (ValueError if isinstance(hx, (tuple, list)) else TypeError)(
                f"{self!r}: hx must be a pair (h0, c0), got {_described(hx)}"
            )
        h0, c0 = self._layers_of(hx[0], "hx[0] (h0)"), self._layers_of(hx[1], "hx[1] (c0)")
        return list(zip(h0, c0))

    def _hidden(self, state: Any) -> list[Value]:
        return state[0]

    def _final(self, states: list[Any]) -> Any:
        return [h for h, _ in states], [c for _, c in states]


@saveable
class GRU(_Recurrent):
    """`num_layers` `GRUCell`s over a sequence: `gru(input, h0) -> (output, h_n)`.

    >>> gru = GRU(1, 2, seed=0)
    >>> output, h_n = gru([[1.0], [0.0]])
    >>> len(output), len(h_n)
    (2, 1)
    """

    cell_class = GRUCell


def _described(states: Any) -> str:
    if isinstance(states, (list, tuple)):
        return f"a {type(states).__name__} of {len(states)}"
    return f"{type(states).__name__} {states!r:.80}"
