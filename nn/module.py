"""`Module`: the parameters of a model found by walking its attributes, and saving and loading them.

A model file is JSON: a format tag and version, the class name, the constructor config that
rebuilds the architecture, and the parameters by name. Loading rebuilds only nn's own classes,
named in the file and looked up in a fixed registry: nothing in the file is ever executed.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator, Mapping
from numbers import Real
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from autograd import Value, graph_scope
from nn.files import atomic_write_text

FORMAT = "chainrule.nn model"
VERSION = 1
_FILE_KEYS = ("format", "version", "class", "config", "parameters")

M = TypeVar("M", bound="Module")


class Module:
    """Base class of models: parameters, gradients, state dicts, files.

    Parameters are found by walking the attributes in definition order: a `Value` is a parameter
    named after its attribute, a list or tuple of Values gives `name.i` (nested: `name.i.j`), a
    dict `name.key`, and a sub-module, wherever it sits, prefixes its own names
    (`layers.0.neurons.3.w.1`); a module met twice is walked once. Attributes whose name starts
    with `_` are private and not walked. Calling a module runs `forward` inside a `graph_scope`,
    so graph drawings can box every node the module makes.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         self.w = Value(2.0)
    ...         self.b = Value(0.5)
    ...     def forward(self, x):
    ...         return self.w * x + self.b
    >>> model = Affine()
    >>> model(3.0).data
    6.5
    >>> model.state_dict()
    {'w': 2.0, 'b': 0.5}
    """

    config_keys: ClassVar[tuple[str, ...]] = ()  # the constructor arguments `save` records
    _scope_name: str | None = None  # the name graph drawings give it (None: its class name),
    # read at the first call, when the module makes the `graph_scope` it enters on every call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        scope = self.__dict__.get("_graph_scope")
        if scope is None:
            scope = self._graph_scope = graph_scope(self, self._scope_name or type(self).__name__)
        with scope:
            return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # --- parameters -------------------------------------------------------------------------
    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, parameter) pairs in definition order; a shared parameter appears once.

        >>> from nn import MLP
        >>> [name for name, _ in MLP(1, [1]).named_parameters()]
        ['layers.0.neurons.0.w.0', 'layers.0.neurons.0.b']
        """
        seen: set[int] = set()
        found = []
        for name, parameter in self._walk(""):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                found.append((name, parameter))
        return found

    def _walk(self, prefix: str, visited: set[int] | None = None) -> Iterator[tuple[str, Value]]:
        visited = set() if visited is None else visited
        visited.add(id(self))  # a module reachable twice (or from itself) is walked once
        for name, attribute in vars(self).items():
            if not name.startswith("_"):
                yield from _parameters_in(prefix + name, attribute, visited)

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters()`.

        >>> from nn import MLP
        >>> len(MLP(3, [4, 4, 1]).parameters())
        41
        """
        return [parameter for _, parameter in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0, before the next `backward()`.

        >>> from nn import Neuron
        >>> neuron = Neuron(2)
        >>> neuron([1.0, 2.0]).backward()
        >>> neuron.zero_grad()
        >>> [p.grad for p in neuron.parameters()]
        [0.0, 0.0, 0.0]
        """
        for parameter in self.parameters():
            parameter.grad = 0.0

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture: `type(m)(**m.config())`.

        >>> from nn import MLP
        >>> MLP(2, [3, 1]).config()
        {'nin': 2, 'nouts': [3, 1], 'activation': 'relu', 'init': 'uniform'}
        """
        return {key: _copy(getattr(self, key)) for key in self.config_keys}

    # --- state dicts ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, float]:
        """The parameters' values by name, in the order of `named_parameters()`.

        >>> from nn import Neuron
        >>> Neuron(1).state_dict().keys()
        dict_keys(['w.0', 'b'])
        """
        return {name: parameter.data for name, parameter in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from `state`, which must name each one once with a finite number.

        Everything is checked before anything is assigned: on a ValueError that says what
        differs (missing and unexpected names, values that are not finite real numbers), the
        model is left as it was. Gradients are not touched.

        >>> from nn import Neuron
        >>> neuron = Neuron(1)
        >>> neuron.load_state_dict({"w.0": 0.5, "b": -1.0})
        >>> neuron.state_dict()
        {'w.0': 0.5, 'b': -1.0}
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict: expected a mapping of names to numbers, "
                f"got {type(state).__name__}"
            )
        named = dict(self.named_parameters())
        problems = []
        missing = [name for name in named if name not in state]
        unexpected = [name for name in state if name not in named]
        if missing:
            problems.append(f"{len(missing)} missing ({_few(missing)})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
        bad = [
            f"{name!r}: {value!r}"
            for name, value in state.items()
            if name in named and not _is_finite_real(value)
        ]
        if bad:
            problems.append(f"{len(bad)} not finite real numbers ({_few(bad, quote=False)})")
        if problems:
            raise ValueError(
                f"load_state_dict: the state does not match {type(self).__name__}: "
                + "; ".join(problems)
            )
        for name, parameter in named.items():
            parameter.data = float(state[name])

    # --- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to `path` as JSON; `type(model).load(path)` rebuilds it exactly.

        The write is atomic (`nn.files.atomic_write_text`): however it is interrupted, `path`
        holds the old complete file or the new one, never a mixture.

        >>> import os, tempfile
        >>> from nn import MLP
        >>> model = MLP(2, [3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> MLP.load(path).state_dict() == model.state_dict()
        True
        """
        name = type(self).__name__
        if _registry().get(name) is not type(self):
            known = ", ".join(_registry())
            raise TypeError(
                f"save: only nn's own modules ({known}) can be saved, not {name}; "
                "save its state_dict() instead"
            )
        state = self.state_dict()
        for key, value in state.items():
            if not math.isfinite(value):
                raise ValueError(f"save: parameter {key!r} is {value!r}; JSON holds finite numbers")
        document = {
            "format": FORMAT,
            "version": VERSION,
            "class": name,
            "config": self.config(),
            "parameters": state,
        }
        # json writes floats with repr, which reads back as the same float to the last bit
        atomic_write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")

    @classmethod
    def load(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Rebuild the model saved in `path`, which must be of this class (any, for `Module`).

        A malformed file is refused with a ValueError saying what is wrong with it; a missing
        file raises FileNotFoundError. See `save` for an example.

        Threads: building the model draws its throwaway initial weights from the global `random`
        and then puts that generator's state back, so a thread drawing from the global `random`
        meanwhile may draw some numbers twice. Threads that need their own stream should have
        their own `random.Random` (or pass seeds).
        """
        raw = Path(path).read_bytes()
        try:
            document = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"load: {path} is not a chainrule model: not JSON ({error})") from None
        model_class, config, parameters = _check_document(document, cls, f"load: {path}")
        where = f"load: {path}: {model_class.__name__}"
        try:
            needed = model_class._count_parameters(config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: bad config {config!r}: {error}") from None
        if needed != len(parameters):
            raise ValueError(
                f"{where} with config {config!r} has {needed} parameters, "
                f"but the file has {len(parameters)}"
            )
        state = random.getstate()  # building draws weights; the caller's random stream is kept
        try:
            model = model_class(**config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: bad config {config!r}: {error}") from None
        finally:
            random.setstate(state)
        try:
            model.load_state_dict(parameters)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        return model

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        """How many parameters `cls(**config)` has, from the config alone (a guard for `load`)."""
        raise NotImplementedError(f"{cls.__name__} cannot be loaded from a file")


def _parameters_in(name: str, item: Any, visited: set[int]) -> Iterator[tuple[str, Value]]:
    """The parameters in one attribute: a Value, a Module, or lists, tuples and dicts of them."""
    if isinstance(item, Value):
        yield name, item
    elif isinstance(item, Module):
        if id(item) not in visited:
            yield from item._walk(name + ".", visited)
    elif isinstance(item, (list, tuple)):
        for i, entry in enumerate(item):
            yield from _parameters_in(f"{name}.{i}", entry, visited)
    elif isinstance(item, dict):
        for key, entry in item.items():
            yield from _parameters_in(f"{name}.{key}", entry, visited)


def _registry() -> dict[str, type[Module]]:
    from nn.layers import MLP, Layer, Neuron  # here: nn.layers imports this module

    return {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}


def _check_document(document: Any, cls: type[Module], where: str) -> tuple:
    """The class, config and parameters of a parsed model file, or a ValueError saying why not."""
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(document).__name__}")
    missing = [key for key in _FILE_KEYS if key not in document]
    extra = [key for key in document if key not in _FILE_KEYS]
    if missing or extra:
        raise ValueError(
            f"{where}: expected the keys {', '.join(_FILE_KEYS)}; "
            f"missing: {_few(missing) or 'none'}; unexpected: {_few(extra) or 'none'}"
        )
    if document["format"] != FORMAT:
        raise ValueError(f"{where}: format is {document['format']!r}, expected {FORMAT!r}")
    version = document["version"]
    if type(version) is not int or version != VERSION:
        raise ValueError(f"{where}: version {version!r} is not supported; expected {VERSION}")
    registry = _registry()
    name = document["class"]
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{where}: unknown class {name!r}; known: {', '.join(registry)}")
    model_class = registry[name]
    if not issubclass(model_class, cls):
        raise ValueError(f"{where}: the file holds a {name}, but {cls.__name__}.load was called")
    config = document["config"]
    if not isinstance(config, dict) or set(config) != set(model_class.config_keys):
        raise ValueError(
            f"{where}: config must be an object with the keys "
            f"{', '.join(model_class.config_keys)}, got {config!r}"
        )
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(
            f"{where}: parameters must be an object of names to numbers, "
            f"got {type(parameters).__name__}"
        )
    return model_class, config, parameters


def _refuse_constant(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number; parameters must be finite")


def _is_finite_real(value: Any) -> bool:
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int too large for a float
        return False


def _few(items: list, limit: int = 3, quote: bool = True) -> str:
    """The first few items and how many more, for error messages."""
    shown = [repr(item) if quote else str(item) for item in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value
