"""nn.files: atomic writes, and model saves that no interruption can corrupt."""

import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nn import MLP
from nn.files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def test_atomic_write_creates_then_replaces_a_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_text(path, "first")
    atomic_write_text(str(path), "second, longer")
    assert path.read_text() == "second, longer"
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_atomic_write_fsyncs_the_file_and_then_its_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: synced.append(os.fstat(fd).st_mode) or real_fsync(fd)
    )
    atomic_write_text(tmp_path / "notes.txt", "text")
    kinds = [
        "file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "?" for mode in synced
    ]
    assert kinds == (["file", "dir"] if os.name == "posix" else ["file"])


def test_a_write_into_a_missing_directory_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "missing" / "notes.txt", "text")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("fsync", OSError(28, "No space left on device")),
        ("fsync", KeyboardInterrupt()),
        ("replace", PermissionError(13, "Permission denied")),
        ("replace", KeyboardInterrupt()),
    ],
    ids=["disk-full-at-fsync", "ctrl-c-at-fsync", "replace-refused", "ctrl-c-at-replace"],
)
def test_an_interrupted_save_keeps_the_old_model_and_leaves_no_temporary_file(
    tmp_path, monkeypatch, where, error
):
    path = tmp_path / "model.json"
    old = MLP(2, [4, 1], seed=0)
    old.save(path)
    before = path.read_bytes()

    def interrupted(*args):
        raise error

    monkeypatch.setattr(os, where, interrupted)
    with pytest.raises(type(error)):
        MLP(2, [4, 1], seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert MLP.load(path).state_dict() == old.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_failed_first_save_leaves_no_file_at_all(tmp_path, monkeypatch):
    def refused(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refused)
    with pytest.raises(OSError, match="No space left"):
        MLP(2, [4, 1], seed=0).save(tmp_path / "model.json")
    assert os.listdir(tmp_path) == []


# --- SIGKILL at random moments --------------------------------------------------------------------
# The child builds a large model (about 16,600 parameters, a 0.85 MB file) and saves generation
# after generation of it to one path, printing each generation once its save has returned. In
# generation g, parameter i holds g + i / n, so a file shows which generation it is and whether
# every parameter comes from that one generation.
SAVER = """
import sys
import threading
from nn import MLP
path, generation = sys.argv[1], int(sys.argv[2])
model = MLP(64, [128, 64, 1], seed=0)
parameters = model.parameters()
print("ready", flush=True)
while True:
    generation += 1
    for i, p in enumerate(parameters):
        p.data = generation + i / len(parameters)
    model.save(path)
    print(generation, flush=True)
"""


def _generation_in(path: Path) -> int:
    """Load the model at `path` and return its generation, checking every parameter is from it."""
    values = list(MLP.load(path).state_dict().values())
    generation = int(values[0])
    assert values == [generation + i / len(values) for i in range(len(values))]
    return generation


def _wait_for_activity(folder: Path, path: Path, deadline: float) -> None:
    """Spin until a file appears in `folder` or `path` changes: a save has begun writing."""
    names, before = sorted(os.listdir(folder)), os.stat(path)
    while time.monotonic() < deadline:
        now = os.stat(path)
        if sorted(os.listdir(folder)) != names or (now.st_size, now.st_mtime_ns, now.st_ino) != (
            before.st_size,
            before.st_mtime_ns,
            before.st_ino,
        ):
            return


def test_a_save_killed_at_random_moments_leaves_the_old_or_the_new_model_never_a_mixture(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "model.json"
    model = MLP(64, [128, 64, 1], seed=0)
    for i, p in enumerate(parameters := model.parameters()):
        p.data = 0 + i / len(parameters)
    model.save(path)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    chooser = random.Random(13)
    generation, kills_inside_a_write = 0, 0
    for trial in range(21):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path), str(generation)],
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        try:
            assert child.stdout.readline() == "ready\n"
            if trial % 3 == 0:  # anywhere in the save loop
                time.sleep(chooser.uniform(0.0, 0.2))
            else:  # while the file is being written: the moment a save is most fragile
                _wait_for_activity(folder, path, time.monotonic() + 2.0)
                time.sleep(chooser.uniform(0.0, 0.004))
        finally:
            child.send_signal(signal.SIGKILL)
            reported = child.stdout.read().split()
            child.wait()
            child.stdout.close()
        last_saved = int(reported[-1]) if reported else generation
        found = _generation_in(path)
        # a kill between the rename and the print leaves the generation after the last reported
        assert found in (last_saved, last_saved + 1), (trial, found, last_saved)
        kills_inside_a_write += found == last_saved and any(
            name.endswith(".tmp") for name in os.listdir(folder)
        )
        for name in os.listdir(folder):  # a killed process cannot clean up after itself
            if name != "model.json":
                os.unlink(folder / name)
        generation = found
    assert generation > 0  # the children did save
    # and some kills landed inside a write (about half of the targeted ones do): the test bites
    assert kills_inside_a_write >= 1, kills_inside_a_write


def test_threads_saving_to_one_path_at_once_leave_one_writers_complete_text(tmp_path):
    path = tmp_path / "shared.txt"
    texts = [str(writer) * 200_000 for writer in range(6)]
    atomic_write_text(path, texts[0])
    seen, done = set(), threading.Event()

    def read_while_they_write():
        while not done.is_set():
            seen.add(path.read_text())

    def write(text):
        for _ in range(15):
            atomic_write_text(path, text)

    reader = threading.Thread(target=read_while_they_write)
    writers = [threading.Thread(target=write, args=(text,)) for text in texts]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert seen <= set(texts) and len(seen) > 1
    assert os.listdir(tmp_path) == ["shared.txt"]


def test_an_atomic_write_to_a_directory_or_a_missing_directory_names_the_path(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"path='{tmp_path}' is a directory"):
        atomic_write_text(tmp_path, "text")
    with pytest.raises(FileNotFoundError, match="the directory '.*nowhere' does not exist"):
        atomic_write_text(tmp_path / "nowhere" / "notes.txt", "text")
    assert os.listdir(tmp_path) == [] and not list(tmp_path.parent.glob(".*.tmp"))
