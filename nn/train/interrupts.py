"""Ctrl-C as a request to stop at the next safe point, rather than an exception wherever it lands.

A KeyboardInterrupt raised in the middle of an optimizer step leaves some parameters updated and
others not. While a `CtrlC()` block runs, the first Ctrl-C (SIGINT) only sets `pressed`; the
loop inside checks it between steps and stops there. A second Ctrl-C interrupts at once, as
usual, for a loop that is stuck. Python runs signal handlers only in the main thread, so
elsewhere the block changes nothing (and Ctrl-C interrupts the main thread, not this one).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class CtrlC:
    """A context manager: catch Ctrl-C while the block runs, then restore the previous handler.

    >>> import os, signal
    >>> with CtrlC() as ctrl_c:
    ...     os.kill(os.getpid(), signal.SIGINT)  # what pressing Ctrl-C does
    ...     for _ in range(1000):  # Python runs the handler at the next bytecode boundary
    ...         pass
    >>> ctrl_c.pressed
    True
    """

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            # None: the previous handler was not set from Python; Python's own is the best guess
            previous = signal.default_int_handler if self._previous is None else self._previous
            signal.signal(signal.SIGINT, previous)
            self._installed = False
