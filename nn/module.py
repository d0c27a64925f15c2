"""`Module`: the parameters and buffers of a model found by walking its attributes, its modes,
its state dicts; `save` and `load` (the file format is `nn.model_files`')."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, TypeVar

from autograd import Value, graph_scope
from nn.model_files import read_model, write_model
from nn.states import few

M = TypeVar("M", bound="Module")


class _GlobalRandom:
    """Stands for the `random` module in a pickled or copied module's state."""

    def __reduce__(self) -> str:
        return "GLOBAL_RANDOM"  # saved as a reference to the one below: loads as itself

    def __deepcopy__(self, memo: dict) -> _GlobalRandom:
        return self


GLOBAL_RANDOM = _GlobalRandom()


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
    # Attributes holding buffers: state that is saved but not trained (BatchNorm1d's running
    # statistics), each a number or a list of numbers.
    buffer_keys: ClassVar[tuple[str, ...]] = ()
    # Those of the buffers that must not be negative (a variance): load_state_dict refuses it.
    nonnegative_buffer_keys: ClassVar[tuple[str, ...]] = ()
    training: bool = True  # set on the instance by train() and eval()
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

    def forward_batch(self, batch: Sequence[Any]) -> list[Any]:
        """The outputs for a batch of examples, one per example: `[self(x) for x in batch]`.

        A module takes one example per call, as micrograd's do, except where the output depends
        on the whole batch: `BatchNorm1d` takes the batch, and overrides this to `self(batch)`;
        containers (`Sequential`) override it to hand the batch to each part in turn. `fit` and
        `evaluate` pass every batch through this method, so a model with batch normalisation
        inside sees its batches whole; a hand-written module that holds one should override it.

        >>> from nn import MLP
        >>> model = MLP(2, [3, 1], seed=0)
        >>> [y.data for y in model.forward_batch([[1.0, 2.0]])] == [model([1.0, 2.0]).data]
        True
        """
        return [self(x) for x in batch]

    def _scope(self) -> graph_scope:
        """The `graph_scope` every call enters (`__call__` inlines this on its hot path)."""
        scope = self.__dict__.get("_graph_scope")
        if scope is None:
            scope = self._graph_scope = graph_scope(self, self._scope_name or type(self).__name__)
        return scope

    # --- pickle and copy -----------------------------------------------------------------------
    # A module built with seed=None draws from the `random` module itself (micrograd's global
    # stream), which pickle and deepcopy refuse: it travels as `GLOBAL_RANDOM` and comes back as
    # `random`, so the loaded or copied module draws from the global stream too. The Values it
    # holds pickle and copy as autograd/pickling.py does, with their graphs.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__
        if any(value is random for value in state.values()):
            state = {key: GLOBAL_RANDOM if v is random else v for key, v in state.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(
            (key, random if value is GLOBAL_RANDOM else value) for key, value in state.items()
        )

    # --- sub-modules and modes --------------------------------------------------------------
    def modules(self) -> list[Module]:
        """This module and every module inside it, each once, in definition order (PyTorch's).

        >>> from nn import MLP
        >>> [type(m).__name__ for m in MLP(1, [2]).modules()]
        ['MLP', 'Layer', 'Neuron', 'Neuron']
        """
        return [module for _, module in self._named_modules("", set())]

    def _named_modules(self, prefix: str, visited: set[int]) -> Iterator[tuple[str, Module]]:
        visited.add(id(self))
        yield prefix, self
        for name, attribute in vars(self).items():
            if not name.startswith("_"):
                yield from _modules_in(prefix + name, attribute, visited)

    def train(self: M, mode: bool = True) -> M:
        """Set training mode (`mode=True`) or evaluation mode on this module and all inside it.

        `.training` tells which. Dropout drops only while training; BatchNorm1d normalises with
        the batch's statistics while training and with its running statistics in evaluation.
        Returns the module, as PyTorch's does.

        >>> from nn import Dropout, Sequential
        >>> model = Sequential(Dropout(0.5)).eval()
        >>> model.training, model[0].training
        (False, False)
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self: M) -> M:
        """Evaluation mode: `train(False)`. Returns the module.

        >>> from nn import MLP
        >>> MLP(1, [1]).eval().training
        False
        """
        return self.train(False)

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

    # --- buffers and state dicts -----------------------------------------------------------
    def named_buffers(self) -> list[tuple[str, float | int]]:
        """(dotted name, number) pairs of every buffer: state that is saved but not trained.

        A module lists the attributes holding its buffers in `buffer_keys`; an attribute holding
        a list gives one entry per number (`running_mean.0`, ...).

        >>> from nn import BatchNorm1d
        >>> [name for name, _ in BatchNorm1d(1).named_buffers()]
        ['running_mean.0', 'running_var.0', 'num_batches_tracked']
        """
        return [(name, _read(owner, key)) for name, owner, key in self._buffer_slots()]

    def buffers(self) -> list[float | int]:
        """Every buffer's number, in the order of `named_buffers()`."""
        return [value for _, value in self.named_buffers()]

    def _buffer_slots(self) -> list[tuple[str, Any, Any]]:
        """(name, owner, key) of every buffer entry: `owner[key]` for a list, else an attribute."""
        slots = []
        for prefix, module in self._named_modules("", set()):
            for key in module.buffer_keys:
                held = getattr(module, key)
                if isinstance(held, list):
                    slots += [(f"{prefix}{key}.{i}", held, i) for i in range(len(held))]
                else:
                    slots.append((prefix + key, module, key))
        return [(name.removeprefix("."), owner, key) for name, owner, key in slots]

    def state_dict(self) -> dict[str, float]:
        """The parameters' values by name, in the order of `named_parameters()`, then the buffers.

        >>> from nn import Neuron
        >>> Neuron(1).state_dict().keys()
        dict_keys(['w.0', 'b'])
        """
        state = {name: parameter.data for name, parameter in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter and buffer from `state`, which must name each once with a number.

        Everything is checked before anything is assigned: on a ValueError that says what
        differs (missing and unexpected names, values that are not finite real numbers, not
        whole numbers for a count such as `num_batches_tracked`, or negative for a variance such
        as `running_var`), the model is left as it was.
        Gradients are not touched.

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
        slots = {name: (owner, key) for name, owner, key in self._buffer_slots()}
        counts = {name for name, (owner, key) in slots.items() if type(_read(owner, key)) is int}
        problems = []
        missing = [name for name in [*named, *slots] if name not in state]
        unexpected = [name for name in state if name not in named and name not in slots]
        if missing:
            problems.append(f"{len(missing)} missing ({few(missing)})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected ({few(unexpected)})")
        bad = [
            f"{name!r}: {value!r}"
            for name, value in state.items()
            if (name in named or name in slots) and not _is_finite_real(value)
        ]
        if bad:
            problems.append(f"{len(bad)} not finite real numbers ({few(bad, quote=False)})")
        fractional = [
            f"{name!r}: {state[name]!r}"
            for name in counts
            if name in state and _is_finite_real(state[name]) and not _is_count(state[name])
        ]
        if fractional:
            problems.append(f"{len(fractional)} not counts ({few(fractional, quote=False)})")
        floored = tuple(
            prefix + key
            for prefix, module in self._named_modules("", set())
            for key in module.nonnegative_buffer_keys
        )
        negative = [
            f"{name!r}: {state[name]!r}"
            for name in slots
            if name in state and _is_finite_real(state[name]) and state[name] < 0
            and (name in floored or name.rpartition(".")[0] in floored)
        ]  # fmt: skip
        if negative:
            problems.append(
                f"{len(negative)} negative where a variance is ({few(negative, quote=False)})"
            )
        if problems:
            raise ValueError(
                f"load_state_dict: the state does not match {type(self).__name__}: "
                + "; ".join(problems)
            )
        for name, parameter in named.items():
            parameter.data = float(state[name])
        for name, (owner, key) in slots.items():
            value = int(state[name]) if name in counts else float(state[name])
            if isinstance(owner, list):
                owner[key] = value
            else:
                setattr(owner, key, value)

    # --- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to `path` as JSON; `type(model).load(path)` rebuilds it exactly.

        The write is atomic (`nn.files.atomic_write_text`): however it is interrupted, `path`
        holds the old complete file or the new one, never a mixture. The format is
        `nn.model_files`'.

        >>> import os, tempfile
        >>> from nn import MLP
        >>> model = MLP(2, [3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> MLP.load(path).state_dict() == model.state_dict()
        True
        """
        write_model(self, path)

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
        return read_model(cls, path)

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        """How many parameters `cls(**config)` has, from the config alone (a guard for `load`)."""
        raise NotImplementedError(f"{cls.__name__} cannot be loaded from a file")

    @classmethod
    def _count_buffers(cls, config: dict[str, Any]) -> int:
        """How many buffer entries `cls(**config)` has, from the config alone (0 unless told)."""
        return 0

    @classmethod
    def _from_config(cls: type[M], config: dict[str, Any]) -> M:
        """The module `config()` describes: `cls(**config)`, unless a container says otherwise."""
        return cls(**config)


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


def _modules_in(name: str, item: Any, visited: set[int]) -> Iterator[tuple[str, Module]]:
    """The modules in one attribute (as `_parameters_in` finds parameters), with dotted names."""
    if isinstance(item, Module):
        if id(item) not in visited:
            yield from item._named_modules(name + ".", visited)
    elif isinstance(item, (list, tuple)):
        for i, entry in enumerate(item):
            yield from _modules_in(f"{name}.{i}", entry, visited)
    elif isinstance(item, dict):
        for key, entry in item.items():
            yield from _modules_in(f"{name}.{key}", entry, visited)


def _read(owner: Any, key: Any) -> Any:
    return owner[key] if isinstance(owner, list) else getattr(owner, key)


def _is_finite_real(value: Any) -> bool:
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int too large for a float
        return False


def _is_count(value: Any) -> bool:
    """A whole number >= 0 (an int, or a float such as 3.0), for buffers that count."""
    return (isinstance(value, Integral) or float(value).is_integer()) and value >= 0


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value
