"""`gc_paused()`: keep Python's cyclic garbage collector off a large graph while it is built.

A graph of `Value`s holds no reference cycles (a node refers only to older nodes, its parents), so
reference counting alone frees it. CPython's cyclic collector cannot free any of it, yet each of its
full passes walks every live node, and while a graph grows it runs a full pass whenever the objects
added since the last one reach a quarter of the old ones: about five extra walks per node. From
10^5 nodes up that is most of the time per node (`python benchmarks/run.py` shows the figures).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # gc_paused() blocks open now, in any thread
_resume = False  # whether the collector was on when the outermost of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block; resume it when the last block ends.

    Worth it for graphs of 10^5 nodes and more: on a chain of 10^6 ops it takes the time per node
    from about 1.3 to 0.5 microseconds (`python benchmarks/run.py`). Reference counting goes on
    freeing everything as usual; only reference cycles made inside the block wait until the
    collector is back. Gradients taken with `create_graph=True` can form such cycles (a node's
    `.grad` may refer back to the node).

    The collector is one switch for the whole process: blocks may nest and may overlap across
    threads, and the collector resumes when the last open block ends, and only if it was on
    when the first began.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
