"""Composable layers as PyTorch names them: Linear, Sequential, activation modules, Dropout.

A layer takes one example (a list of Values or numbers) and returns a list; `Sequential` chains
layers. Weights come from Python's global `random` unless a module is given a `seed`, as in the
rest of nn: `random.seed(0)` before building makes a model repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from numbers import Real
from typing import Any, ClassVar

from autograd import Value, dot
from nn.layers import _seeded, _size
from nn.module import Module, _registry

Example = Sequence[Value | float]


class Linear(Module):
    """y = W x + b for one example: `out_features` outputs from `in_features` inputs.

    PyTorch's layout and initialisation: `weight` is a list of `out_features` rows of
    `in_features` Values (`weight[j][i]` joins input i to output j), `bias` a list of
    `out_features` Values, all drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)), weights
    row by row and then the biases, from `random.Random(seed)` (the global `random` when None).

    >>> layer = Linear(2, 3, seed=0)
    >>> layer
    Linear(in_features=2, out_features=3, bias=True)
    >>> len(layer([1.0, -1.0])), len(layer.parameters())
    (3, 9)
    """

    config_keys = ("in_features", "out_features", "bias")

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *, seed: int | None = None
    ) -> None:
        self.in_features = _size("in_features", in_features)
        self.out_features = _size("out_features", out_features)
        rng = _seeded(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = [
            [Value(rng.uniform(-bound, bound)) for _ in range(self.in_features)]
            for _ in range(self.out_features)
        ]
        self.bias: list[Value] | None = None
        if _flag("bias", bias):
            self.bias = [Value(rng.uniform(-bound, bound)) for _ in range(self.out_features)]

    def forward(self, x: Example) -> list[Value]:
        _check_length(self, x, self.in_features)
        if self.bias is None:
            return [dot(row, x) for row in self.weight]
        return [dot(row, x) + b for row, b in zip(self.weight, self.bias)]

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        rows = _size("out_features", config["out_features"])
        inputs = _size("in_features", config["in_features"])
        return rows * (inputs + _flag("bias", config["bias"]))

    def config(self) -> dict[str, Any]:
        bias = self.bias is not None
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": bias}

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


class Sequential(Module):
    """Modules applied in order, each to the output of the one before: `Sequential(m0, m1, ...)`.

    Indexable (`model[0]`; a slice is a `Sequential`), iterable and sized. Parameters are named
    by position, as in PyTorch (`0.weight.2.1`), and graph drawings name each part after its
    class and position ("Linear 0", "ReLU 1"). `forward_batch` hands a batch to each part in
    turn, so a `BatchNorm1d` inside sees its batch whole.

    >>> model = Sequential(Linear(2, 4, seed=0), ReLU(), Linear(4, 1, seed=1))
    >>> len(model), type(model[1]).__name__, len(model([0.5, -1.0]))
    (3, 'ReLU', 1)
    """

    config_keys = ("modules",)

    def __init__(self, *modules: Module) -> None:
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: part {i} must be a Module, got {type(module).__name__} {module!r}"
                )
            # Parts are attributes named "0", "1", ...: the walk names parameters as PyTorch does.
            setattr(self, str(i), module)
            if "_scope_name" not in vars(module):
                module._scope_name = f"{type(module).__name__} {i}"
        self._parts = modules

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._parts[index])
        return self._parts[index]

    def __len__(self) -> int:
        return len(self._parts)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._parts)

    def forward(self, x: Any) -> Any:
        for module in self._parts:
            x = module(x)
        return x

    def forward_batch(self, batch: Sequence[Any]) -> list[Any]:
        with self._scope():
            for module in self._parts:
                batch = module.forward_batch(batch)
        return list(batch)

    def config(self) -> dict[str, Any]:
        registry = _registry()
        for i, module in enumerate(self._parts):
            if registry.get(type(module).__name__) is not type(module):
                raise TypeError(
                    f"Sequential: part {i} is a {type(module).__name__}, not one of nn's own "
                    "modules, so the model cannot be saved; save its state_dict() instead"
                )
        parts = [{"class": type(m).__name__, "config": m.config()} for m in self._parts]
        return {"modules": parts}

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return sum(part._count_parameters(c) for part, c in _parts_of(config))

    @classmethod
    def _count_buffers(cls, config: dict[str, Any]) -> int:
        return sum(part._count_buffers(c) for part, c in _parts_of(config))

    @classmethod
    def _from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls(*(part._from_config(c) for part, c in _parts_of(config)))

    def __repr__(self) -> str:
        lines = [f"  ({i}): " + repr(m).replace("\n", "\n  ") for i, m in enumerate(self._parts)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


class _Elementwise(Module):
    """An activation applied to each entry of an example (a list), or to a single Value."""

    function: ClassVar[Callable[[Value], Value]]  # a staticmethod, or a method for LeakyReLU

    def forward(self, x: Example | Value | float) -> list[Value] | Value:
        apply = self.function
        if isinstance(x, (list, tuple)):
            return [apply(v if type(v) is Value else _constant(v)) for v in x]
        return apply(x if type(x) is Value else _constant(x))

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """max(0, x) for each entry. `ReLU()([-1.0, 2.0])` gives Values 0.0 and 2.0.

    >>> [y.data for y in ReLU()([-1.0, 2.0])]
    [0.0, 2.0]
    """

    function = staticmethod(Value.relu)


class Tanh(_Elementwise):
    """tanh(x) for each entry.

    >>> Tanh()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.tanh)


class Sigmoid(_Elementwise):
    """1 / (1 + e**-x) for each entry.

    >>> Sigmoid()([0.0])[0].data
    0.5
    """

    function = staticmethod(Value.sigmoid)


class Softplus(_Elementwise):
    """log(1 + e**x) for each entry: PyTorch's Softplus with beta = 1, computed without overflow.

    >>> round(Softplus()([0.0])[0].data, 6)
    0.693147
    """

    function = staticmethod(Value.softplus)


class SiLU(_Elementwise):
    """x sigmoid(x) for each entry.

    >>> SiLU()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.silu)


class GELU(_Elementwise):
    """x Phi(x) for each entry, Phi the standard normal CDF (PyTorch's exact form).

    >>> GELU()([0.0])[0].data
    0.0
    """

    function = staticmethod(Value.gelu)


class Identity(_Elementwise):
    """Returns its input unchanged; a placeholder, as in PyTorch.

    >>> Identity()([1.0, 2.0])
    [1.0, 2.0]
    """

    def forward(self, x: Any) -> Any:
        return x


class LeakyReLU(_Elementwise):
    """x for x > 0, `negative_slope` * x below.

    >>> [y.data for y in LeakyReLU(0.1)([-2.0, 3.0])]
    [-0.2, 3.0]
    """

    config_keys = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = _real("LeakyReLU: negative_slope", negative_slope)

    def function(self, x: Value) -> Value:
        return x.leaky_relu(self.negative_slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


ACTIVATION_MODULES = (ReLU, Tanh, Sigmoid, LeakyReLU, Softplus, SiLU, GELU, Identity)


class Dropout(Module):
    """Inverted dropout: while training, each entry is zeroed with probability `p` and the rest
    are scaled by 1 / (1 - p), so the expected output is the input; in eval mode, the identity.

    The coin flips come from `random.Random(seed)`, or the global `random` when None (a saved
    model records only `p`). A dropped entry is the input times 0, so its gradient is 0; a kept
    one passes its gradient on times 1 / (1 - p).

    >>> drop = Dropout(0.5, seed=0)
    >>> sorted({y.data for y in drop([Value(1.0)] * 20)})
    [0.0, 2.0]
    >>> drop.eval()([1.0, 2.0])
    [1.0, 2.0]
    """

    config_keys = ("p",)

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        p = _real("Dropout: p", p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = p
        self._rng = _seeded(seed)

    def forward(self, x: Example) -> list[Any]:
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"Dropout takes one example, a list, got {type(x).__name__} {x!r}")
        if not self.training or self.p == 0.0:
            return list(x)
        scale, p, draw = 1.0 / (1.0 - self.p), self.p, self._rng.random
        return [v * (0.0 if draw() < p else scale) for v in x]

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def _parts_of(config: Any) -> list[tuple[type[Module], dict[str, Any]]]:
    """The (class, config) of each part a Sequential's config lists, checked."""
    parts = config["modules"] if isinstance(config, dict) else None
    if not isinstance(parts, list):
        raise ValueError("modules must be a list of {'class': ..., 'config': ...} objects")
    registry, found = _registry(), []
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or set(part) != {"class", "config"}:
            raise ValueError(f"modules[{i}] must be an object with the keys class, config")
        name, part_config = part["class"], part["config"]
        if not isinstance(name, str) or name not in registry:
            raise ValueError(f"modules[{i}]: unknown class {name!r}")
        part_class = registry[name]
        if not isinstance(part_config, dict) or set(part_config) != set(part_class.config_keys):
            raise ValueError(
                f"modules[{i}]: the config of {name} must have the keys "
                f"{', '.join(part_class.config_keys) or 'none'}, got {part_config!r}"
            )
        found.append((part_class, part_config))
    return found


def _check_length(module: Module, x: Any, expected: int) -> None:
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"{module!r} takes one example, a list of {expected} numbers, "
            f"got {type(x).__name__} {x!r}"
        )
    if len(x) != expected:
        raise ValueError(f"{module!r} takes {expected} inputs, got {len(x)}")


def _constant(x: Any) -> Value:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"expected a Value or a real number, got {type(x).__name__} {x!r}")
    return Value(x)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)
