"""Atomic file writes: a file is either its old complete self or its new complete self.

Writing a file in place truncates it first, so a save that is interrupted half way (Ctrl-C, a
full disk, a killed job, a power cut) leaves a broken file where the last good one was. Here the
new text goes to a temporary file beside the target, in the same directory and so on the same
file system, which is flushed and fsynced to disk; `os.replace` then puts it over the target in
one step, which POSIX and Windows both make atomic; last, the directory is fsynced (where the
operating system allows it) so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` so that no interruption can leave a partly written file there.

    However the write is stopped, `path` holds either what it held before (or nothing, if it
    did not exist) or all of `text`. After an exception or a KeyboardInterrupt, no temporary
    file is left behind; a process killed outright (SIGKILL, a power cut) may leave one, named
    `.<name>.<random hex>.tmp` beside the target. The new file gets the permissions a new file
    gets (the umask), not those of the file it replaces. Writers in several threads or processes
    may save to one path at once: each writes its own temporary file, and the last rename wins.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> atomic_write_text(path, "first\\n")
    >>> atomic_write_text(path, "second\\n")
    >>> open(path).read(), os.listdir(os.path.dirname(path))
    ('second\\n', ['notes.txt'])
    """
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` as `atomic_write_text` writes text: all of it or nothing.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> atomic_write_bytes(path, b"ONNX")
    >>> open(path, "rb").read()
    b'ONNX'
    """
    target = writable_target(path, "path")
    # The name is chosen before the file exists, so the cleanup below knows it whenever an
    # interruption arrives; O_EXCL refuses to reuse a name another writer is using.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with open(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(target.parent)


def writable_target(path: str | os.PathLike[str], caller: str) -> Path:
    """`path` as a Path, if a file can be written there: refused, naming it, when it is not a
    path (TypeError), is a directory (IsADirectoryError), or sits in a directory that does not
    exist (FileNotFoundError) or that this process may not write to (PermissionError). `fit`
    checks its checkpoint path so before training, not after the first epochs.

    >>> writable_target("/", "fit: checkpoint")
    Traceback (most recent call last):
    ...
    IsADirectoryError: fit: checkpoint='/' is a directory; give the path of a file
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{caller} must be a path (str or os.PathLike), got {type(path).__name__} {path!r}"
        )
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{caller}={str(path)!r} is a directory; give the path of a file")
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"{caller}={str(path)!r}: the directory {str(target.parent)!r} does not exist"
        )
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{caller}={str(path)!r}: the directory {str(target.parent)!r} is not writable"
        )
    return target


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable, where the platform allows it.

    Windows cannot open a directory (and its renames need no such step), and some file systems
    refuse to fsync one: the file is in place either way, so a refusal is not an error.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
