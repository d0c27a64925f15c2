"""Linear and Sequential, as PyTorch names them; the activation modules and Dropout live in
`nn.layers.activation` and `nn.layers.dropout`.

A layer takes one example (a list of Values or numbers) and returns a list; `Sequential` chains
layers. Weights come from Python's global `random` unless a module is given a `seed`, as in the
rest of nn: `random.seed(0)` before building makes a model repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from autograd import Value, matvec
from nn.layers.arguments import boolean_flag, positive_size, random_source_for
from nn.model_files import registry, saveable
from nn.module import Module

Example = Sequence[Value | float]


@saveable
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
        self.in_features = positive_size("in_features", in_features)
        self.out_features = positive_size("out_features", out_features)
        rng = random_source_for(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = [
            [Value(rng.uniform(-bound, bound)) for _ in range(self.in_features)]
            for _ in range(self.out_features)
        ]
        self.bias: list[Value] | None = None
        if boolean_flag("bias", bias):
            self.bias = [Value(rng.uniform(-bound, bound)) for _ in range(self.out_features)]

    def forward(self, x: Example) -> list[Value]:
        _check_length(self, x, self.in_features)
        if self.bias is None:
            return matvec(self.weight, x)
        return [y + b for y, b in zip(matvec(self.weight, x), self.bias)]

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        rows = positive_size("out_features", config["out_features"])
        inputs = positive_size("in_features", config["in_features"])
        return rows * (inputs + boolean_flag("bias", config["bias"]))

    def config(self) -> dict[str, Any]:
        bias = self.bias is not None
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": bias}

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


@saveable
class Sequential(Module):
    """Modules applied in order, each to the output of the one before: `Sequential(m0, m1, ...)`.

    Indexable (`model[0]`; a slice is a `Sequential`), iterable and sized. Parameters are named
    by position, as in PyTorch (`0.weight.2.1`), and graph drawings name each part after its
    class and position ("Linear 0", "ReLU 1"). `forward_batch` hands a batch to each part in
    turn, so a `BatchNorm1d` inside sees its batch whole.

    >>> from nn import ReLU
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
        known = registry()
        for i, module in enumerate(self._parts):
            if known.get(type(module).__name__) is not type(module):
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


def _parts_of(config: Any) -> list[tuple[type[Module], dict[str, Any]]]:
    """The (class, config) of each part a Sequential's config lists, checked."""
    parts = config["modules"] if isinstance(config, dict) else None
    if not isinstance(parts, list):
        raise ValueError("modules must be a list of {'class': ..., 'config': ...} objects")
    known, found = registry(), []
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or set(part) != {"class", "config"}:
            raise ValueError(f"modules[{i}] must be an object with the keys class, config")
        name, part_config = part["class"], part["config"]
        if not isinstance(name, str) or name not in known:
            raise ValueError(f"modules[{i}]: unknown class {name!r}")
        part_class = known[name]
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
