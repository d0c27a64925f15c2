"""Neuron, Layer and MLP: micrograd's networks, with more activations and initialisations.

As in micrograd, weights come from Python's global `random` module unless told otherwise (so
`random.seed(1337)` before building makes a model reproducible), biases start at 0, hidden layers
use ReLU and the last layer is linear.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograd import Value, dot
from nn.init import RandomSource, initializer
from nn.layers.arguments import positive_size, random_source_for
from nn.model_files import saveable
from nn.module import Module

Inputs = Sequence[Value | float]

# The activation after w . x + b, by name; "linear" applies none.
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,  # slope 0.01 below 0
    "softplus": Value.softplus,
    "silu": Value.silu,
    "gelu": Value.gelu,
    "linear": None,
}


@saveable
class Neuron(Module):
    """One unit: activation(w . x + b), with `nin` weights and a bias starting at 0.

    `nonlin` is micrograd's switch (True: ReLU, False: linear); `activation`, when given,
    names the activation instead (see `ACTIVATIONS`). `init` names the weight initialisation
    (see `nn.init`), drawn from `rng` (the `random` module when None) for a layer of `fan_out`
    neurons; `seed`, as MLP's, draws them from `random.Random(seed)` instead.

    >>> neuron = Neuron(2, activation="tanh")
    >>> neuron
    Neuron(2, activation='tanh')
    >>> neuron.load_state_dict({"w.0": 1.0, "w.1": -1.0, "b": 0.0})
    >>> neuron([0.5, 0.5])
    Value(data=0.0, grad=0.0)
    """

    config_keys = ("nin", "activation", "init")

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str | None = None,
        init: str = "uniform",
        rng: RandomSource | None = None,
        fan_out: int = 1,
        seed: int | None = None,
    ) -> None:
        self.nin = positive_size("nin", nin)
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self._activate = _activation_function(activation)
        self.activation = activation
        self.init = init
        draw = initializer(init)
        weights = draw(self.nin, positive_size("fan_out", fan_out), _source(rng, seed, "Neuron"))
        self.w = [Value(weight) for weight in weights]
        self.b = Value(0.0)

    def forward(self, x: Inputs) -> Value:
        if len(x) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(x)}")
        act = dot(self.w, x) + self.b
        return act if self._activate is None else self._activate(act)

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return positive_size("nin", config["nin"]) + 1

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r}{_init_text(self.init)})"


@saveable
class Layer(Module):
    """`nout` neurons reading the same `nin` inputs; `kwargs` go to each `Neuron`.

    Calling it returns a list of `nout` Values, or one Value when `nout` is 1 (as micrograd).
    `seed`, as MLP's, draws the weights of all its neurons from one `random.Random(seed)`.

    >>> layer = Layer(2, 3, activation="relu", seed=0)
    >>> layer
    Layer(2, 3, activation='relu')
    >>> len(layer([1.0, -1.0]))
    3
    >>> layer.state_dict() == Layer(2, 3, activation="relu", seed=0).state_dict()
    True
    """

    config_keys = ("nin", "nout", "activation", "init")

    def __init__(self, nin: int, nout: int, *, seed: int | None = None, **kwargs: Any) -> None:
        self.nin = positive_size("nin", nin)
        self.nout = positive_size("nout", nout)
        kwargs["rng"] = _source(kwargs.get("rng"), seed, "Layer")
        self.neurons = [Neuron(self.nin, fan_out=self.nout, **kwargs) for _ in range(self.nout)]
        for j, neuron in enumerate(self.neurons):
            neuron._scope_name = f"neuron {j}"
        self.activation = self.neurons[0].activation
        self.init = self.neurons[0].init

    def forward(self, x: Inputs) -> Value | list[Value]:
        if len(x) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(x)}")
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return positive_size("nout", config["nout"]) * (positive_size("nin", config["nin"]) + 1)

    def __repr__(self) -> str:
        return (
            f"Layer({self.nin}, {self.nout}, activation={self.activation!r}{_init_text(self.init)})"
        )


@saveable
class MLP(Module):
    """A multilayer perceptron: `nin` inputs, then layers of `nouts[0]`, `nouts[1]`, ... neurons.

    `activation` is one name for every hidden layer (the last stays linear) or a list with one
    name per layer. `seed` makes the weights come from `random.Random(seed)` instead of the
    global `random` module. Calling it returns a Value when the last layer has one neuron,
    else a list of Values.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2, [16, 16, 1], activation='relu')
    >>> len(model.parameters())
    337
    >>> model([1.0, -0.5]).data == MLP(2, [16, 16, 1], seed=0)([1.0, -0.5]).data
    True
    """

    config_keys = ("nin", "nouts", "activation", "init")

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str | Sequence[str] = "relu",
        init: str = "uniform",
        seed: int | None = None,
    ) -> None:
        self.nin = positive_size("nin", nin)
        self.nouts = _sizes(nouts)
        per_layer = _activations_per_layer(activation, len(self.nouts))
        self.activation = activation if isinstance(activation, str) else list(activation)
        self.init = init
        rng = random_source_for(seed)
        sizes = [self.nin, *self.nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=per_layer[i], init=init, rng=rng)
            for i in range(len(self.nouts))
        ]
        for i, layer in enumerate(self.layers):
            layer._scope_name = f"layer {i}"

    def forward(self, x: Inputs) -> Value | list[Value]:
        if len(x) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(x)}")
        for layer in self.layers:
            x = layer([x] if type(x) is Value else x)  # a one-neuron layer returns a bare Value
        return x

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        sizes = [positive_size("nin", config["nin"]), *_sizes(config["nouts"])]
        return sum((n + 1) * m for n, m in zip(sizes, sizes[1:]))

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{_init_text(self.init)})"
        )


def _sizes(nouts: Any) -> list[int]:
    if not isinstance(nouts, (list, tuple)):
        raise TypeError(
            f"nouts must be a list of layer sizes, got {type(nouts).__name__} {nouts!r}"
        )
    if not nouts:
        raise ValueError("nouts must name at least one layer size, got an empty list")
    return [positive_size(f"nouts[{i}]", n) for i, n in enumerate(nouts)]


def _activation_function(name: Any) -> Callable[[Value], Value] | None:
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name, got {type(name).__name__} {name!r}")
    if name not in ACTIVATIONS:
        known = ", ".join(repr(known) for known in ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; known: {known}")
    return ACTIVATIONS[name]


def _activations_per_layer(activation: Any, layers: int) -> list[str]:
    if isinstance(activation, str):
        _activation_function(activation)  # the last layer is linear: check the name here
        return [activation] * (layers - 1) + ["linear"]
    if not isinstance(activation, (list, tuple)):
        raise TypeError(
            "activation must be a name or a list of names, one per layer, "
            f"got {type(activation).__name__} {activation!r}"
        )
    if len(activation) != layers:
        raise ValueError(
            f"activation lists {len(activation)} names for {layers} layers: {activation!r}"
        )
    return list(activation)


def _source(rng: RandomSource | None, seed: Any, caller: str) -> RandomSource:
    """Where weights are drawn from: `rng`, else `random.Random(seed)`, else the global stream."""
    if rng is not None and seed is not None:
        raise TypeError(f"{caller}: give seed or rng, not both")
    return random_source_for(seed) if rng is None else rng


def _init_text(init: str) -> str:
    return "" if init == "uniform" else f", init={init!r}"
