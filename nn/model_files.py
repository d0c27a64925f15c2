"""Model files: a model as JSON, written atomically, read back only as one of nn's own classes.

A model file holds a format tag and version, the class name, the constructor config that rebuilds
the architecture, and the state dict (the parameters, then the buffers, by name) under
"parameters". Loading rebuilds only nn's own classes, named in the file and looked up in a fixed
registry: nothing in the file is ever executed. `Module.save` and `Module.load` call this module;
each of nn's classes joins the registry where it is defined, with the `@saveable` decorator.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nn.files import atomic_write_text
from nn.states import few

if TYPE_CHECKING:
    from nn.module import Module

FORMAT = "chainrule.nn model"
VERSION = 1
_FILE_KEYS = ("format", "version", "class", "config", "parameters")
_REGISTRY: dict[str, type[Module]] = {}  # filled at import by @saveable, in nn.layers' order
ModuleClass = TypeVar("ModuleClass", bound=type)


def saveable(cls: ModuleClass) -> ModuleClass:
    """Register one of nn's module classes, so that model files may name it (`Module.load`).

    Only nn's own classes register: a file never rebuilds a class a user defined, so loading a
    file runs nothing but nn's constructors.
    """
    _REGISTRY[cls.__name__] = cls
    return cls


def write_model(model: Module, path: str | os.PathLike[str]) -> None:
    """Write `model` to `path` (`Module.save`); only nn's own classes can be written."""
    name = type(model).__name__
    if registry().get(name) is not type(model):
        known = ", ".join(registry())
        raise TypeError(
            f"save: only nn's own modules ({known}) can be saved, not {name}; "
            "save its state_dict() instead"
        )
    state = model.state_dict()
    for key, value in state.items():
        if not math.isfinite(value):
            raise ValueError(f"save: parameter {key!r} is {value!r}; JSON holds finite numbers")
    document = {
        "format": FORMAT,
        "version": VERSION,
        "class": name,
        "config": model.config(),
        "parameters": state,
    }
    # json writes floats with repr, which reads back as the same float to the last bit
    atomic_write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def read_model(cls: type[Module], path: str | os.PathLike[str]) -> Any:
    """The model saved in `path`, which must be a `cls` (`Module.load`), or a ValueError."""
    raw = Path(path).read_bytes()
    try:
        document = json.loads(raw, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"load: {path} is not a chainrule model: not JSON ({error})") from None
    model_class, config, parameters = _check_document(document, cls, f"load: {path}")
    where = f"load: {path}: {model_class.__name__}"
    try:
        needed = model_class._count_parameters(config)
        buffers = model_class._count_buffers(config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: bad config {config!r}: {error}") from None
    if needed + buffers != len(parameters):
        and_buffers = f" and {buffers} buffer entries" if buffers else ""
        raise ValueError(
            f"{where} with config {config!r} has {needed} parameters{and_buffers}, "
            f"but the file has {len(parameters)}"
        )
    state = random.getstate()  # building draws weights; the caller's random stream is kept
    try:
        model = model_class._from_config(config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: bad config {config!r}: {error}") from None
    finally:
        random.setstate(state)
    try:
        model.load_state_dict(parameters)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return model


def registry() -> dict[str, type[Module]]:
    """nn's classes that files may name, by class name."""
    return dict(_REGISTRY)


def _check_document(document: Any, cls: type[Module], where: str) -> tuple:
    """The class, config and parameters of a parsed model file, or a ValueError saying why not."""
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(document).__name__}")
    missing = [key for key in _FILE_KEYS if key not in document]
    extra = [key for key in document if key not in _FILE_KEYS]
    if missing or extra:
        raise ValueError(
            f"{where}: expected the keys {', '.join(_FILE_KEYS)}; "
            f"missing: {few(missing) or 'none'}; unexpected: {few(extra) or 'none'}"
        )
    if document["format"] != FORMAT:
        raise ValueError(f"{where}: format is {document['format']!r}, expected {FORMAT!r}")
    version = document["version"]
    if type(version) is not int or version != VERSION:
        raise ValueError(f"{where}: version {version!r} is not supported; expected {VERSION}")
    known = registry()
    name = document["class"]
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"{where}: unknown class {name!r}; known: {', '.join(known)}")
    model_class = known[name]
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


def refuse_constant(token: str) -> float:
    """For `json.loads(parse_constant=...)`: NaN and infinities are refused, not read."""
    raise ValueError(f"{token} is not a JSON number; a file of nn's holds finite numbers")
