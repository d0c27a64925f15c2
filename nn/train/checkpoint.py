"""Checkpoints of a run of `fit`: all it takes to go on as if the run had never stopped.

A checkpoint is one JSON file, written atomically (`nn.files`): a format tag and version; fit's
arguments that decide the run's course (`nn.train.run_arguments`: a resume with others is refused);
the model (class, config, state dict); the optimizer's and the schedule's state dicts; the random
states (Python's global `random`, fit's own generator when it has a seed, and every
`random.Random` held by the model's modules, found by walking them); the epochs completed, the
history and the early-stopping bookkeeping (best loss, its parameters, epochs waited); and, when
Ctrl-C stopped the run inside an epoch, that epoch's batch order, the steps it took and its sums
so far. Floats are written with `repr`, which reads back as the same float to the last bit, so a
resumed run takes the very steps the first run would have taken.

Threads: the global `random` is shared by the whole process. A run that draws from it (no seed)
while other threads draw from it too cannot be replayed exactly; give fit and the model seeds.
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nn.files import atomic_write_text
from nn.model_files import refuse_constant
from nn.module import Module
from nn.random_states import checked_random_state, generators_in, random_state
from nn.states import check_keys, count, finite_float, finite_floats
from nn.train.run_arguments import check_run_arguments

FORMAT = "chainrule.nn checkpoint"
VERSION = 2  # version 1 had no "arguments": it still loads, with the arguments unchecked


@dataclass
class RunState:
    """Where a run of `fit` stands, besides its model, optimizer and schedule.

    `epoch` counts the epochs completed. The last five fields describe the epoch under way:
    `batch_seed` orders its batches (None before it starts), `steps` counts the batches it has
    taken, and the sums add up their loss (times the batch size), right answers and examples.
    """

    history: Any  # nn.train.History
    epoch: int = 0
    best_loss: float = math.inf
    best_state: dict[str, Any] | None = None  # the model's state at the best validation loss
    waited: int = 0
    batch_seed: int | None = None
    steps: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0

    def finish_epoch(self) -> tuple[float, float]:
        """The epoch's mean loss and accuracy; the next epoch starts from nothing."""
        means = self.loss_sum / self.count, self.correct / self.count
        for key, value in _NEW_EPOCH.items():
            setattr(self, key, value)
        return means


_NEW_EPOCH = {"batch_seed": None, "steps": 0, "loss_sum": 0.0, "correct": 0, "count": 0}
_TOP = ("format", "version", "arguments", "model", "optimizer", "scheduler", "random", "progress")
_TOP += ("history",)
_TOP_VERSION_1 = tuple(key for key in _TOP if key != "arguments")


def check_checkpointable(optimizer: Any, scheduler: Any, caller: str) -> None:
    """A TypeError unless the optimizer (and the schedule, if any) have state dicts."""
    for role, owner in (("optimizer", optimizer), ("scheduler", scheduler)):
        for method in ("state_dict", "load_state_dict"):
            if owner is not None and not callable(getattr(owner, method, None)):
                raise TypeError(
                    f"{caller}: checkpoints save the {role}'s state, but {owner!r} has no "
                    f"{method}() method"
                )


def write_checkpoint(
    path: str | os.PathLike[str],
    model: Any,
    optimizer: Any,
    scheduler: Any,
    rng: Any,
    run: RunState,
    arguments: dict[str, Any],
) -> None:
    """Write the whole state of a run of `fit` to `path`, atomically.

    `arguments` are fit's, as `nn.train.run_arguments.run_arguments` records them.
    """
    epoch_under_way = None
    if run.batch_seed is not None:
        epoch_under_way = {key: getattr(run, key) for key in _NEW_EPOCH}
    document = {
        "format": FORMAT,
        "version": VERSION,
        "arguments": arguments,
        "model": {
            "class": type(model).__name__,
            "config": model.config() if isinstance(model, Module) else None,
            "state": model_state(model),
        },
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "random": {
            "global": random_state(random),
            "fit": None if rng is random else random_state(rng),
            "modules": {name: random_state(g) for name, g in generators_in(model).items()},
        },
        "progress": {
            "epoch": run.epoch,
            "best_loss": run.best_loss if math.isfinite(run.best_loss) else None,
            "best_state": run.best_state,
            "waited": run.waited,
            "epoch_under_way": epoch_under_way,
        },
        "history": {name: getattr(run.history, name) for name in _history_fields(run.history)},
    }
    try:
        text = json.dumps(document, allow_nan=False)
    except ValueError:
        culprit = _non_finite(document) or "a value"
        raise ValueError(
            f"fit: cannot write the checkpoint {path}: {culprit} is not finite"
        ) from None
    atomic_write_text(path, text + "\n")


def read_checkpoint(
    path: str | os.PathLike[str],
    model: Any,
    optimizer: Any,
    scheduler: Any,
    rng: Any,
    run: RunState,
    arguments: dict[str, Any],
    epochs: int,
    steps_per_epoch: int,
) -> None:
    """Restore the run saved in `path` into the model, optimizer, schedule, generators and `run`.

    A checkpoint that does not fit these objects (another format or version, another model
    class, config or parameter names, another optimizer or schedule, other `arguments` than
    the run's, a seed given to one run and not the other, more epochs than `epochs`) raises a
    ValueError saying what differs, and then nothing has changed. A version 1 checkpoint, which
    did not record the arguments, loads without their check.
    """
    where = f"fit: resume={str(path)!r}"
    try:
        document = json.loads(Path(path).read_bytes(), parse_constant=refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{where} is not a chainrule checkpoint: not JSON ({error})") from None
    version = document.get("version") if isinstance(document, dict) else None
    version_1 = type(version) is int and version == 1
    check_keys(document, _TOP_VERSION_1 if version_1 else _TOP, where)
    if document["format"] != FORMAT:
        raise ValueError(f"{where}: format is {document['format']!r}, expected {FORMAT!r}")
    if type(version) is not int or version not in (1, VERSION):
        raise ValueError(f"{where}: version {version!r} is not supported")
    _check_model(document["model"], model, where)
    if not version_1:
        check_run_arguments(document["arguments"], arguments, where)
    progress = _checked_progress(document["progress"], model, epochs, steps_per_epoch, where)
    history = _checked_history(document["history"], run.history, progress["epoch"], where)
    generators = _checked_generators(document["random"], model, rng, where)
    if (document["scheduler"] is None) != (scheduler is None):
        saved = "no schedule" if document["scheduler"] is None else "a schedule"
        given = "none" if scheduler is None else type(scheduler).__name__
        raise ValueError(f"{where}: the checkpoint has {saved}, but fit was given {given}")
    _load_with_rollback(document, model, optimizer, scheduler, where)
    for generator, state in generators:
        generator.setstate(state)
    for key, value in progress.items():
        setattr(run, key, value)
    for key, value in history.items():
        setattr(run.history, key, value)


def model_state(model: Any) -> dict[str, Any]:
    """The model's parameters (and an nn Module's buffers) by name, as a checkpoint keeps them."""
    if isinstance(model, Module):
        return model.state_dict()
    return {str(i): p.data for i, p in enumerate(model.parameters())}


def load_model_state(model: Any, state: Any) -> None:
    """Set the model from `model_state`'s dict, checked first (a ValueError changes nothing)."""
    if isinstance(model, Module):
        model.load_state_dict(state)
        return
    parameters = list(model.parameters())
    check_keys(state, [str(i) for i in range(len(parameters))], "the model's parameters")
    values = [finite_float(state[str(i)], f"parameter {i}") for i in range(len(parameters))]
    for p, value in zip(parameters, values):
        p.data = value


def _check_model(saved: Any, model: Any, where: str) -> None:
    check_keys(saved, ("class", "config", "state"), f"{where}: model")
    name = type(model).__name__
    config = model.config() if isinstance(model, Module) else None
    config = json.loads(json.dumps(config))  # tuples become lists, as in the file
    if saved["class"] != name or saved["config"] != config:
        raise ValueError(
            f"{where}: the checkpoint holds a {saved['class']} with config {saved['config']!r}, "
            f"but fit was given a {name} with config {config!r}"
        )


def _load_with_rollback(document: dict, model: Any, optimizer: Any, scheduler: Any, where: str):
    """Load the model, optimizer and schedule states; if one is refused, put all three back."""
    parts = [
        (lambda: model_state(model), lambda state: load_model_state(model, state), "model"),
        (optimizer.state_dict, optimizer.load_state_dict, "optimizer"),
    ]
    if scheduler is not None:
        parts.append((scheduler.state_dict, scheduler.load_state_dict, "scheduler"))
    before = [(load, save()) for save, load, _ in parts]
    try:
        for _, load, key in parts:
            load(document[key]["state"] if key == "model" else document[key])
    except ValueError as error:
        for load, state in before:
            load(state)
        raise ValueError(f"{where}: {error}") from None


def _checked_progress(
    saved: Any, model: Any, epochs: int, steps_per_epoch: int, where: str
) -> dict[str, Any]:
    where = f"{where}: progress"
    keys = ("epoch", "best_loss", "best_state", "waited", "epoch_under_way")
    check_keys(saved, keys, where)
    progress = {"epoch": count(saved["epoch"], f"{where}: epoch")}
    if progress["epoch"] > epochs:
        raise ValueError(
            f"{where}: the checkpoint was taken after epoch {progress['epoch']}, "
            f"but fit was asked for epochs={epochs}"
        )
    best = saved["best_loss"]
    progress["best_loss"] = math.inf if best is None else finite_float(best, f"{where}: best_loss")
    best_state = saved["best_state"]
    if best_state is not None:
        check_keys(best_state, list(model_state(model)), f"{where}: best_state")
        best_state = {
            name: finite_float(value, f"{where}: best_state: {name}")
            for name, value in best_state.items()
        }
    progress["best_state"] = best_state
    progress["waited"] = count(saved["waited"], f"{where}: waited")
    under_way = saved["epoch_under_way"]
    if under_way is None:
        return progress | _NEW_EPOCH
    check_keys(under_way, _NEW_EPOCH, f"{where}: epoch_under_way")
    for key in ("batch_seed", "steps", "correct", "count"):
        progress[key] = count(under_way[key], f"{where}: epoch_under_way: {key}")
    progress["loss_sum"] = finite_float(
        under_way["loss_sum"], f"{where}: epoch_under_way: loss_sum"
    )
    if progress["epoch"] == epochs or progress["steps"] >= steps_per_epoch:
        raise ValueError(
            f"{where}: the checkpoint stopped after step {progress['steps']} of epoch "
            f"{progress['epoch'] + 1}, which this data ({steps_per_epoch} steps per epoch) and "
            f"epochs={epochs} do not have"
        )
    return progress


def _checked_history(saved: Any, history: Any, epoch: int, where: str) -> dict[str, Any]:
    where = f"{where}: history"
    names = _history_fields(history)
    check_keys(saved, names, where)
    checked = {}
    for name in names:
        value, kind = saved[name], getattr(history, name)
        if isinstance(kind, list):
            length = len(value) if isinstance(value, list) else -1
            checked[name] = finite_floats(value, length, f"{where}: {name}")
            if length not in (0, epoch) or (name == "loss" and length != epoch):
                raise ValueError(f"{where}: {name} has {length} entries after {epoch} epochs")
        elif isinstance(kind, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{where}: {name} must be true or false, got {value!r}")
            checked[name] = value
        else:  # best_epoch: an epoch index or None
            checked[name] = None if value is None else count(value, f"{where}: {name}")
    return checked


def _history_fields(history: Any) -> list[str]:
    """What a checkpoint keeps of a History: all but `interrupted`, which a resumed run is not."""
    return [f.name for f in fields(history) if f.name != "interrupted"]


def _checked_generators(saved: Any, model: Any, rng: Any, where: str) -> list[tuple[Any, tuple]]:
    """(generator, state) pairs for every random source of the run, each state checked."""
    where = f"{where}: random"
    check_keys(saved, ("global", "fit", "modules"), where)
    if (saved["fit"] is None) != (rng is random):
        run = "without a seed" if saved["fit"] is None else "with a seed"
        raise ValueError(f"{where}: the checkpointed run was started {run}; pass the same seed")
    pairs = [(random, checked_random_state(saved["global"], f"{where}: global"))]
    if rng is not random:
        pairs.append((rng, checked_random_state(saved["fit"], f"{where}: fit")))
    generators = generators_in(model)
    check_keys(saved["modules"], generators, f"{where}: modules")
    for name, generator in generators.items():
        pairs.append((generator, checked_random_state(saved["modules"][name], f"{where}: {name}")))
    return pairs


def _non_finite(document: Any, path: str = "") -> str:
    """Where the first non-finite float in `document` is, as a path of keys and indices."""
    if isinstance(document, float) and not math.isfinite(document):
        return path or "a number"
    items = document.items() if isinstance(document, dict) else ()
    if isinstance(document, list):
        items = enumerate(document)
    for key, value in items:
        found = _non_finite(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return ""
