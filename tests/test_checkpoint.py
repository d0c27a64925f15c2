"""fit's checkpoints: runs that crash, are killed or get Ctrl-C resume to the very same weights."""

import functools
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from training_runs import bits, setup, train

from nn import MLP
from nn.losses import l2, mse
from nn.optim import SGD, Adam, CosineAnnealingLR
from nn.train import fit

ROOT = Path(__file__).resolve().parent.parent
TRAINER = str(Path(__file__).resolve().parent / "training_runs.py")
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(autouse=True)
def keep_the_global_random_state():
    state = random.getstate()  # the "global" run seeds and draws from it
    yield
    random.setstate(state)


def failing_at(call: int, error: BaseException):
    """A loss wrapper that raises `error` at its `call`-th call: a crash in the middle of a run.

    The wrapper keeps the loss's name, which the checkpoint records: the run it stands in for is
    resumed with the loss itself.
    """

    def wrap(loss):
        calls = 0

        @functools.wraps(loss)
        def failing(outputs, targets):
            nonlocal calls
            calls += 1
            if calls == call:
                raise error
            return loss(outputs, targets)

        return failing

    return wrap


def pressing_ctrl_c_at(call: int, times: int = 1):
    """A loss wrapper that sends this process SIGINT, as Ctrl-C does, `times` times at `call`."""

    def wrap(loss):
        count = 0

        @functools.wraps(loss)
        def pressing(outputs, targets):
            nonlocal count
            count += 1
            for _ in range(times if count == call else 0):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)  # the handler runs at the next bytecode boundary
            return loss(outputs, targets)

        return pressing

    return wrap


def _document(path: Path) -> dict:
    return json.loads(path.read_text())


# --- crash and resume, in this process ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sgd", "adam", "global"])
def test_a_run_crashed_mid_epoch_resumes_from_its_checkpoint_to_the_same_weights(tmp_path, kind):
    reference, reference_history = train(kind, 9)
    path = tmp_path / "run.json"
    with pytest.raises(RuntimeError, match="crash"):
        train(kind, 9, wrap_loss=failing_at(13, RuntimeError("crash")), checkpoint=path)
    crashed_at = _document(path)["progress"]["epoch"]
    assert 0 < crashed_at < 9
    model, history = train(kind, 9, checkpoint=path, resume=path)
    assert bits(model) == bits(reference)
    assert history == reference_history
    assert _document(path)["progress"]["epoch"] == 9


def test_resuming_a_six_epoch_run_from_its_checkpoint_after_epoch_3_trains_epochs_4_to_6(
    tmp_path, capsys
):
    path = tmp_path / "run.json"
    reference, reference_history = train("sgd", 6)
    # 4 batches an epoch: the crash in the 19th step is in epoch 5, after the checkpoint of epoch 3
    with pytest.raises(RuntimeError):
        train(
            "sgd", 6, wrap_loss=failing_at(19, RuntimeError()), checkpoint=path, checkpoint_every=3
        )
    assert _document(path)["progress"]["epoch"] == 3
    steps = []
    model, history = train(
        "sgd",
        6,
        wrap_loss=lambda loss: functools.wraps(loss)(lambda *a: steps.append(1) or loss(*a)),
        resume=path,
        progress=True,
    )
    assert len(steps) == 3 * 4  # epochs 4, 5 and 6
    assert bits(model) == bits(reference) and history == reference_history
    bar = capsys.readouterr().err
    assert "3/6" in bar and "6/6" in bar and "0/6" not in bar


def test_an_early_stopped_run_resumes_to_the_same_stop_and_the_same_best_weights(tmp_path):
    options = {"patience": 2, "epochs": 40}
    reference, reference_history = train("adam", **options)
    assert reference_history.stopped_early and len(reference_history.loss) < 40
    stop = len(reference_history.loss)
    path = tmp_path / "run.json"
    with pytest.raises(RuntimeError):  # 3 steps and a validation pass, so 4 loss calls an epoch
        train(
            "adam", **options, wrap_loss=failing_at(4 * stop - 6, RuntimeError()), checkpoint=path
        )
    model, history = train("adam", **options, checkpoint=path, resume=path)
    assert history == reference_history and bits(model) == bits(reference)
    # resuming the finished run takes no step: the best weights come back and the history is kept
    again, history_again = train("adam", **options, resume=path)
    assert bits(again) == bits(reference) and history_again == reference_history


def test_a_run_whose_schedule_annealed_the_rate_to_zero_resumes(tmp_path):
    # CosineAnnealingLR's default eta_min is 0: after epoch T_max the rate is exactly 0, and the
    # checkpoint taken then must load
    data = ([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]], [1.0, -1.0, 0.0, 2.0])

    def run(epochs, **options):
        model = MLP(2, [4, 1], seed=0)
        optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = CosineAnnealingLR(optimizer, T_max=2)
        fit(model, mse, optimizer, data, epochs, 2, scheduler=scheduler, seed=0, progress=False,
            **options)  # fmt: skip
        return model

    path = tmp_path / "run.json"
    run(2, checkpoint=path)
    assert _document(path)["optimizer"]["hyperparameters"]["lr"] == 0.0
    assert bits(run(4, resume=path)) == bits(run(4))


def test_checkpoints_are_written_every_k_epochs_and_after_the_last(tmp_path):
    path = tmp_path / "run.json"
    epochs_seen = []

    def watching(loss):
        def recording(outputs, targets):
            if path.exists():
                epochs_seen.append(_document(path)["progress"]["epoch"])
            return loss(outputs, targets)

        return recording

    train("sgd", 7, wrap_loss=watching, checkpoint=path, checkpoint_every=3)
    assert sorted(set(epochs_seen)) == [3, 6]
    assert _document(path)["progress"]["epoch"] == 7


def test_a_checkpoint_holds_every_random_state_including_a_modules_own_generator(tmp_path):
    path = tmp_path / "run.json"
    model, _ = train("global", 2, checkpoint=path)
    document = _document(path)
    assert set(document) == {
        "format",
        "version",
        "arguments",
        "model",
        "optimizer",
        "scheduler",
        "random",
        "progress",
        "history",
    }
    assert document["format"] == "chainrule.nn checkpoint" and document["version"] == 2
    assert document["model"]["state"] == model.state_dict()
    assert document["random"]["fit"] is None  # no seed: fit draws from the global stream
    version, internal, gauss = random.getstate()
    assert document["random"]["global"] == [version, list(internal), gauss]
    assert list(document["random"]["modules"]) == ["_rng"]
    assert document["random"]["modules"]["_rng"][1] == list(model._rng.getstate()[1])
    assert document["scheduler"]["class"] == "StepLR" and document["optimizer"]["class"] == "Adam"


# --- SIGKILL at random moments --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "epochs"), [("sgd", 30), ("adam", 60), ("global", 80), ("compiled", 120)]
)
def test_a_run_killed_at_random_moments_resumes_to_the_uninterrupted_weights_bit_for_bit(
    tmp_path, kind, epochs
):
    reference, reference_history = train(kind, epochs)
    path = tmp_path / "run.json"
    chooser = random.Random(kind)
    killed_mid_run = 0
    for _ in range(3):  # each child resumes from the checkpoint its predecessor left
        before = os.stat(path).st_ino if path.exists() else None
        child = subprocess.Popen(
            [sys.executable, TRAINER, kind, str(path), str(epochs)],
            stdout=subprocess.PIPE,
            env=ENVIRONMENT,
        )
        deadline = time.monotonic() + 20
        while child.poll() is None and time.monotonic() < deadline:
            if path.exists() and os.stat(path).st_ino != before:
                break  # this child has written a checkpoint of its own
            time.sleep(0.002)
        time.sleep(chooser.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        killed_mid_run += child.returncode == -signal.SIGKILL
    assert killed_mid_run >= 1
    model, history = train(kind, epochs, checkpoint=path, resume=path)
    assert bits(model) == bits(reference)
    assert history == reference_history


# --- compiled training: the tapes' steps stop and resume as eager ones do -----------------------
def _steps_through_tapes(monkeypatch, at: int, action) -> None:
    """Make the `at`-th compiled step call `action()` first (the loss is only called to trace)."""
    from nn.train.compiled import CompiledTraining

    real, count = CompiledTraining.batch, 0

    def batch(self, X_batch, y_batch):
        nonlocal count
        count += 1
        if count == at:
            action()
        return real(self, X_batch, y_batch)

    monkeypatch.setattr(CompiledTraining, "batch", batch)


def test_compiled_training_with_dropout_and_batch_norm_resumes_after_a_crash_and_ctrl_c(
    tmp_path, monkeypatch
):
    pytest.importorskip("numpy")
    reference, reference_history = train("compiled", 8)
    assert reference[1].num_batches_tracked == 8 * 4 and reference_history.val_loss
    path = tmp_path / "run.json"

    def crash():
        raise RuntimeError("crash")

    with monkeypatch.context() as patch:  # the 19th step is in epoch 5
        _steps_through_tapes(patch, 19, crash)
        with pytest.raises(RuntimeError, match="crash"):
            train("compiled", 8, checkpoint=path)
    assert _document(path)["progress"]["epoch"] == 4
    model, history = train("compiled", 8, checkpoint=path, resume=path)
    assert bits(model) == bits(reference) and model.buffers() == reference.buffers()
    assert history == reference_history

    path.unlink()
    with monkeypatch.context() as patch:  # Ctrl-C in the 10th step: inside epoch 3
        _steps_through_tapes(patch, 10, lambda: os.kill(os.getpid(), signal.SIGINT))
        stopped, stopped_history = train("compiled", 8, checkpoint=path)
    assert stopped_history.interrupted
    assert _document(path)["progress"]["epoch_under_way"]["steps"] == 2
    model, history = train("compiled", 8, checkpoint=path, resume=path)
    assert bits(model) == bits(reference) and model.buffers() == reference.buffers()
    assert history == reference_history


# --- Ctrl-C ---------------------------------------------------------------------------------------
def test_ctrl_c_stops_after_the_current_step_with_that_steps_weights_and_a_checkpoint(tmp_path):
    data = ([[0.0, 1.0], [1.0, 0.5], [-1.0, 2.0]], [1.0, -1.0, 0.5])

    def run(epochs, loss=mse, **options):
        model = MLP(2, [4, 1], seed=0)
        optimizer = Adam(model.parameters(), lr=0.1)
        history = fit(model, loss, optimizer, data, epochs, seed=0, progress=False, **options)
        return model, optimizer, history

    handler = signal.getsignal(signal.SIGINT)
    path = tmp_path / "run.json"
    # full batch: the 4th loss call is the 4th step, and Ctrl-C during it lets it finish
    model, optimizer, history = run(10, pressing_ctrl_c_at(4)(mse), checkpoint=path)
    assert history.interrupted and len(history.loss) == 4 and optimizer.steps == 4
    assert "interrupted=True" in repr(history)
    reference, reference_optimizer, reference_history = run(4)
    assert bits(model) == bits(reference)
    assert optimizer.state_dict() == reference_optimizer.state_dict()
    assert history.loss == reference_history.loss
    assert signal.getsignal(signal.SIGINT) is handler
    document = _document(path)
    assert document["progress"]["epoch"] == 4
    assert document["model"]["state"] == model.state_dict()


# the call is a step inside the third epoch: sgd takes 4 steps an epoch; adam 3 and a validation
# pass; global 5
@pytest.mark.parametrize(("kind", "call"), [("sgd", 11), ("adam", 10), ("global", 12)])
def test_a_run_stopped_by_ctrl_c_mid_epoch_resumes_to_the_uninterrupted_weights(
    tmp_path, kind, call
):
    reference, reference_history = train(kind, 8)
    path = tmp_path / "run.json"
    model, history = train(kind, 8, wrap_loss=pressing_ctrl_c_at(call), checkpoint=path)
    assert history.interrupted
    under_way = _document(path)["progress"]["epoch_under_way"]
    assert under_way is not None and under_way["steps"] > 0  # stopped inside an epoch
    resumed, resumed_history = train(kind, 8, checkpoint=path, resume=path)
    assert bits(resumed) == bits(reference) and resumed_history == reference_history
    assert not resumed_history.interrupted


def test_ctrl_c_sent_to_a_training_process_returns_the_history_and_writes_the_checkpoint(tmp_path):
    path = tmp_path / "run.json"
    child = subprocess.Popen(
        [sys.executable, TRAINER, "sgd", str(path), "200"], stdout=subprocess.PIPE, env=ENVIRONMENT
    )
    deadline = time.monotonic() + 20
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    result = json.loads(out)
    assert result["interrupted"] and 0 < result["epochs"] < 200
    document = _document(path)
    assert [value.hex() for value in document["model"]["state"].values()] == result["bits"]
    assert document["progress"]["epoch"] == result["epochs"]
    resumed, history = train("sgd", result["epochs"] + 2, resume=path)
    reference, reference_history = train("sgd", result["epochs"] + 2)
    assert bits(resumed) == bits(reference) and history == reference_history


def test_a_second_ctrl_c_interrupts_at_once_and_the_handler_is_restored(tmp_path):
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        train("sgd", 5, wrap_loss=pressing_ctrl_c_at(2, times=2), checkpoint=tmp_path / "run.json")
    assert signal.getsignal(signal.SIGINT) is handler


def test_fit_with_checkpoints_runs_in_a_thread_that_cannot_catch_ctrl_c(tmp_path):
    results = []
    thread = threading.Thread(
        target=lambda: results.append(train("sgd", 3, checkpoint=tmp_path / "run.json"))
    )
    thread.start()
    thread.join()
    model, history = results[0]
    assert len(history.loss) == 3 and bits(model) == bits(train("sgd", 3)[0])


# --- refused checkpoints --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sgd_checkpoint(tmp_path_factory) -> Path:
    """The checkpoint of the "sgd" run after 3 epochs."""
    path = tmp_path_factory.mktemp("sgd") / "run.json"
    train("sgd", 3, checkpoint=path)
    return path


def _changed(path: Path, change, folder: Path) -> Path:
    document = _document(path)
    change(document)
    changed = folder / "changed.json"
    changed.write_text(json.dumps(document))
    return changed


def _set(*keys_and_value):
    *keys, last, value = keys_and_value

    def change(document):
        for key in keys:
            document = document[key]
        document[last] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (_set("format", "something else"), "format is 'something else'"),
        (_set("version", 3), "version 3 is not supported"),
        (lambda d: d["arguments"].pop("seed"), "arguments: missing 'seed'"),
        (_set("arguments", "batch_size", 20), "had batch_size=20, .* called with batch_size=10"),
        (lambda d: d.pop("history"), "missing 'history'"),
        (_set("model", "class", "Layer"), "holds a Layer with config .* given a MLP"),
        (_set("model", "config", "nouts", [8, 1]), r"config .*\[8, 1\].* given a MLP"),
        (lambda d: d["model"]["state"].pop("layers.0.neurons.0.b"), "1 missing"),
        (_set("optimizer", "class", "Adam"), "the state is of a 'Adam', not a SGD"),
        (_set("optimizer", "parameters", 7), "the state is for 7 parameters"),
        (_set("scheduler", {"class": "StepLR"}), "the checkpoint has a schedule, but .* none"),
        (_set("random", "fit", None), "started without a seed; pass the same seed"),
        (_set("random", "global", [3, [1, 2], None]), "global: not a state of Python's random"),
        (_set("progress", "epoch", 9), "after epoch 9, but fit was asked for epochs=6"),
        (_set("progress", "best_state", {"w": 0.0}), "best_state: missing .*; unexpected 'w'"),
        (_set("history", "loss", [0.5]), "loss has 1 entries after 3 epochs"),
        (_set("history", "stopped_early", "no"), "stopped_early must be true or false"),
    ],
)
def test_a_checkpoint_that_does_not_fit_the_run_is_refused_and_nothing_changes(
    tmp_path, sgd_checkpoint, change, message
):
    model, optimizer, scheduler, data, options = setup("sgd")
    before = model.state_dict(), optimizer.state_dict(), random.getstate()
    with pytest.raises(ValueError, match=message):
        fit(
            model, options.pop("loss"), optimizer, data, 6, **options,
            resume=_changed(sgd_checkpoint, change, tmp_path), progress=False,
        )  # fmt: skip
    assert (model.state_dict(), optimizer.state_dict(), random.getstate()) == before


def _nudged(data):
    """The data with its first coordinate moved by one unit in the last place."""
    X, y = data
    return [[math.nextafter(X[0][0], math.inf), *X[0][1:]], *X[1:]], y


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batch_size": 20}, "had batch_size=10, but fit was called with batch_size=20"),
        ({"batch_size": None}, "had batch_size=10, but fit was called with batch_size=None"),
        ({"seed": 5}, "had seed=1, but fit was called with seed=5"),
        ({"shuffle": False}, "had shuffle=True, but fit was called with shuffle=False"),
        ({"loss": mse}, "had loss='hinge', but fit was called with loss='mse'"),
        ({"regularization": l2}, "had regularization=None, .* with regularization='l2'"),
        ({"data": lambda d: (d[0][:-1], d[1][:-1])}, r"had data=40 examples .* data=39 examples"),
        ({"data": _nudged}, r"had data=40 examples \(fingerprint (\w+)\), .* \(fingerprint (?!\1)"),
        ({"validation": ([[0.0, 1.0]], [1])}, "had validation=None, .* validation=1 examples"),
        ({"restore_best": False}, "had restore_best=True, .* with restore_best=False"),
        ({"compile": True}, "had compile=False, but fit was called with compile=True"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_resuming_with_other_arguments_than_the_run_had_is_refused_by_name_and_nothing_changes(
    tmp_path, sgd_checkpoint, change, message
):
    # before, each of these resumed silently into a run that was not the checkpointed one
    if change.get("compile"):
        pytest.importorskip("numpy")
    model, optimizer, _, data, options = setup("sgd")
    if "data" in change:
        data = change.pop("data")(data)
    options |= change
    path = tmp_path / "run.json"
    path.write_bytes(sgd_checkpoint.read_bytes())
    before = model.state_dict(), optimizer.state_dict(), random.getstate()
    with pytest.raises(ValueError, match=message):
        fit(model, options.pop("loss"), optimizer, data, 6, **options, progress=False,
            checkpoint=path, resume=path)  # fmt: skip
    assert (model.state_dict(), optimizer.state_dict(), random.getstate()) == before
    assert path.read_bytes() == sgd_checkpoint.read_bytes()


def test_a_run_stopped_mid_epoch_refuses_to_resume_with_another_batch_size(tmp_path):
    # stopped after 2 of the epoch's 4 batches of 10: with batches of 8 (5 an epoch) the step
    # count fits, and the resumed epoch used to take 3 more batches of another size and order
    path = tmp_path / "run.json"
    train("sgd", 8, wrap_loss=pressing_ctrl_c_at(10), checkpoint=path)
    assert _document(path)["progress"]["epoch_under_way"]["steps"] == 2
    with pytest.raises(ValueError, match="had batch_size=10, but fit was called with batch_size=8"):
        train("sgd", 8, resume=path, batch_size=8)
    resumed, history = train("sgd", 8, resume=path)
    reference, reference_history = train("sgd", 8)
    assert bits(resumed) == bits(reference) and history == reference_history


def test_a_run_resumed_with_more_epochs_goes_on_as_if_it_had_asked_for_them_at_the_start(
    sgd_checkpoint,
):
    resumed, history = train("sgd", 5, resume=sgd_checkpoint)  # the run asked for 3
    reference, reference_history = train("sgd", 5)
    assert bits(resumed) == bits(reference) and history == reference_history


def test_a_version_1_checkpoint_without_the_arguments_still_resumes_with_them_unchecked(
    tmp_path, sgd_checkpoint
):
    def version_1(document):
        document["version"] = 1
        del document["arguments"]

    old = _changed(sgd_checkpoint, version_1, tmp_path)
    resumed, history = train("sgd", 5, resume=old)
    reference, reference_history = train("sgd", 5)
    assert bits(resumed) == bits(reference) and history == reference_history
    train("sgd", 5, resume=old, seed=5)  # not refused: the file cannot tell which seed it had
    with pytest.raises(ValueError, match="missing 'history'"):
        train("sgd", 5, resume=_changed(old, lambda d: d.pop("history"), tmp_path))


def test_a_truncated_or_missing_checkpoint_is_refused_by_name(tmp_path):
    path = tmp_path / "run.json"
    train("sgd", 1, checkpoint=path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="run.json' is not a chainrule checkpoint: not JSON"):
        train("sgd", 2, resume=path)
    with pytest.raises(FileNotFoundError):
        train("sgd", 2, resume=tmp_path / "nowhere.json")


def test_an_optimizer_refused_after_the_model_was_loaded_puts_the_model_back(
    tmp_path, sgd_checkpoint
):
    change = _set("optimizer", "state", "momentum_buffer", [0.0] * 3)
    bad = _changed(sgd_checkpoint, change, tmp_path)
    model, optimizer, _, data, options = setup("sgd")
    before = model.state_dict()
    with pytest.raises(ValueError, match="momentum_buffer'\\]: expected a list of 337"):
        fit(model, options.pop("loss"), optimizer, data, 4, **options, resume=bad, progress=False)
    assert model.state_dict() == before


def test_checkpoints_need_optimizers_with_state_dicts_and_a_positive_interval(tmp_path):
    model = MLP(2, [2, 1], seed=0)

    class Plain:
        def zero_grad(self):
            pass

        def step(self):
            pass

    data = ([[0.0, 1.0]], [1.0])
    with pytest.raises(TypeError, match="checkpoints save the optimizer's state, but .* no state"):
        fit(model, mse, Plain(), data, 1, checkpoint=tmp_path / "run.json", progress=False)
    with pytest.raises(ValueError, match="checkpoint_every"):
        optimizer = SGD(model.parameters(), lr=0.1)
        fit(model, mse, optimizer, data, 1, checkpoint=tmp_path / "r.json", checkpoint_every=0)


@pytest.mark.parametrize(
    "where, error, message",
    [
        (lambda tmp: tmp, IsADirectoryError, r"fit: checkpoint='.*' is a directory; give the path"),
        (lambda tmp: tmp / "typo" / "run.json", FileNotFoundError, r"directory '.*typo' does not"),
        (lambda tmp: 7, TypeError, "fit: checkpoint must be a path .*, got int 7"),
    ],
    ids=["a directory", "in a missing directory", "not a path"],
)
def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_training(
    tmp_path, where, error, message
):
    # it was refused by the first write, after checkpoint_every epochs of training, naming
    # the temporary file
    model = MLP(2, [2, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        fit(model, mse, optimizer, ([[0.0, 1.0]], [1.0]), 3, checkpoint=where(tmp_path))
    assert model.state_dict() == before


def test_a_checkpoint_in_a_read_only_directory_is_refused_before_training(tmp_path, monkeypatch):
    # os.access is what the check asks; faked here, since root may write to any directory
    real_access = os.access
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != read_only and real_access(p, mode))
    model = MLP(2, [2, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(PermissionError, match=r"directory '.*read-only' is not writable"):
        fit(model, mse, optimizer, ([[0.0, 1.0]], [1.0]), 3, checkpoint=read_only / "run.json")
