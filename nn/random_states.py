"""Random generators as JSON: their states, and the ones a model's modules hold.

`random.getstate()` is a tuple (version, 625 ints, the next Gaussian or None); JSON keeps it as
a list whose middle entry is a list, exactly. A module that draws at every call, as Dropout does,
keeps its own `random.Random`; `generators_in` finds them all, so a checkpoint can hold them.
`uniforms` draws what many calls of `random()` would give, at once, for compiled training.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from nn.module import Module
from nn.states import finite_float


def random_state(generator: Any) -> list[Any]:
    """The state of a `random.Random` (or of the `random` module) as a JSON-ready list.

    >>> import json
    >>> generator = random.Random(0)
    >>> copy = random.Random()
    >>> copy.setstate(checked_random_state(json.loads(json.dumps(random_state(generator))), "copy"))
    >>> copy.random() == generator.random()
    True
    """
    version, internal, gauss_next = generator.getstate()
    return [version, list(internal), gauss_next]


def generators_in(model: Any) -> dict[str, random.Random]:
    """Every `random.Random` the model's modules hold, by attribute path, each once.

    Private attributes count (a module's generator is usually private); sub-modules, and lists,
    tuples and dicts of them, are walked. `random.SystemRandom` has no state and is left out.

    >>> from nn import MLP
    >>> model = MLP(1, [1], seed=0)
    >>> model.layers[0]._noise = random.Random(1)
    >>> list(generators_in(model))
    ['layers.0._noise']
    """
    found: dict[str, random.Random] = {}
    seen: set[int] = set()

    def visit(name: str, item: Any) -> None:
        if id(item) in seen:
            return
        if isinstance(item, random.Random) and not isinstance(item, random.SystemRandom):
            seen.add(id(item))
            found[name] = item
        elif isinstance(item, Module) or (item is model and hasattr(item, "__dict__")):
            seen.add(id(item))
            for key, attribute in vars(item).items():
                visit(f"{name}.{key}" if name else key, attribute)
        elif isinstance(item, (list, tuple)):
            for i, entry in enumerate(item):
                visit(f"{name}.{i}", entry)
        elif isinstance(item, dict):
            for key, entry in item.items():
                visit(f"{name}.{key}", entry)

    visit("", model)
    return found


VECTORISED_FROM = 2048  # fewer draws than this are quicker one by one than by moving the state
_twisters = threading.local()  # a NumPy Mersenne Twister per thread, made once (about 90 us)


def uniforms(generator: Any, count: int, np: Any) -> Any:
    """The next `count` numbers `generator.random()` would return, as a NumPy array, and the
    generator moved past them, as `count` calls would leave it.

    Python's `random.Random` and NumPy's `MT19937` are the same Mersenne Twister, and both make
    a float from two 32-bit words the same way, so a long run is drawn by NumPy from a copy of
    the generator's state, which then goes back into the generator. A generator of another kind
    (a subclass with its own `random`) is called `count` times.

    >>> import numpy as np
    >>> a, b = random.Random(1), random.Random(1)
    >>> drawn = uniforms(a, 5000, np)
    >>> drawn.tolist() == [b.random() for _ in range(5000)], a.random() == b.random()
    (True, True)
    """
    mersenne = generator is random or type(generator) is random.Random
    if count < VECTORISED_FROM or not mersenne:
        draw = generator.random
        return np.array([draw() for _ in range(count)], dtype=float)
    twister = getattr(_twisters, "generator", None)
    if twister is None:
        twister = _twisters.generator = np.random.Generator(np.random.MT19937(0))
    version, internal, gauss_next = generator.getstate()
    key = np.fromiter(internal[:-1], dtype=np.uint32, count=len(internal) - 1)
    state = {"key": key, "pos": internal[-1]}
    twister.bit_generator.state = {"bit_generator": "MT19937", "state": state}
    found = twister.random(count)
    state = twister.bit_generator.state["state"]
    generator.setstate((version, (*state["key"].tolist(), int(state["pos"])), gauss_next))
    return found


def checked_random_state(state: Any, where: str) -> tuple:
    """A `random.getstate()` tuple from its JSON form, tried on a scratch generator.

    A ValueError names `where` when `state` is not one (see `random_state` for an example).
    """
    try:
        version, internal, gauss_next = state
        state = (version, tuple(internal), gauss_next)
        random.Random().setstate(state)
        if gauss_next is not None:
            finite_float(gauss_next, "gauss_next")
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{where}: not a state of Python's random generator ({error})") from None
    return state
