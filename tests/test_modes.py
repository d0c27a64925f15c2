"""Grad mode and scopes belong to one thread or asyncio task; sweeps of shared graphs take turns.

Each test would fail with a process-wide mode: a `no_grad()` or a scope left open in one thread
leaks into the operations of every other. `sys.setswitchinterval` is lowered where the threads
must interleave finely, so a race shows up within a short test.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from autograd import Value, current_scope, graph_scope, is_grad_enabled, no_grad
from nn import MLP
from nn.data import make_moons
from nn.losses import binary_cross_entropy
from nn.optim import SGD
from nn.train import fit


@contextmanager
def fine_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_in_thread(target: Callable[[], None]) -> threading.Thread:
    """Start `target` in a thread; an exception in it fails the test when the thread is joined."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except BaseException as error:  # handed to the test below
            errors.append(error)

    thread = threading.Thread(target=guarded)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def join(thread: threading.Thread) -> None:
    thread.join(timeout=60)
    assert not thread.is_alive(), "the thread did not finish"
    if thread.errors:  # type: ignore[attr-defined]
        raise thread.errors[0]  # type: ignore[attr-defined]


def hold_open(block: Callable[[], object], entered: threading.Event, release: threading.Event):
    def inside() -> None:
        with block():
            entered.set()
            assert release.wait(timeout=30)

    return inside


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    entered, release = threading.Event(), threading.Event()
    evaluator = run_in_thread(hold_open(no_grad, entered, release))
    assert entered.wait(timeout=30)
    try:
        assert is_grad_enabled()
        x = Value(3.0)
        y = x * x + x.tanh()
        y.backward()
        assert y.parents and x.grad == 6.0 + (1.0 - y.parents[1].data ** 2)
    finally:
        release.set()
        join(evaluator)


def test_a_thread_started_inside_no_grad_records():
    seen = {}

    def check() -> None:
        seen["enabled"] = is_grad_enabled()
        seen["parents"] = len((Value(2.0) * 3).parents)

    with no_grad():
        join(run_in_thread(check))
        assert not is_grad_enabled()
    assert seen == {"enabled": True, "parents": 1}


def test_a_graph_scope_in_one_thread_is_not_seen_in_another():
    entered, release = threading.Event(), threading.Event()
    other = run_in_thread(hold_open(lambda: graph_scope("other thread"), entered, release))
    assert entered.wait(timeout=30)
    try:
        assert current_scope() is None
        assert (Value(1.0) * 2).scope is None
        with graph_scope("here") as here:
            assert current_scope() is here and (Value(1.0) * 2).scope is here
        assert current_scope() is None
    finally:
        release.set()
        join(other)


def test_scopes_entered_in_many_threads_at_once_stay_in_their_threads():
    names = [f"thread {i}" for i in range(4)]
    shared = graph_scope("shared module")  # one object entered by every thread, as nn does
    found: dict[str, set] = {name: set() for name in names}

    def work(name: str) -> Callable[[], None]:
        def loop() -> None:
            for _ in range(300):
                with graph_scope(name) as mine:
                    with shared as inner:
                        assert inner.parent is mine
                        found[name].add((Value(1.0) * 2).scope.parent.name)
                assert current_scope() is None

        return loop

    with fine_switching():
        threads = [run_in_thread(work(name)) for name in names]
        for thread in threads:
            join(thread)
    assert found == {name: {name} for name in names}


def train_moons(seed: int) -> list[float]:
    """A seeded training run that evaluates under no_grad() after every epoch."""
    X, y = make_moons(40, noise=0.1, seed=seed)
    model = MLP(2, [8, 1], activation="tanh", seed=seed)
    fit(
        model,
        binary_cross_entropy,
        SGD(model.parameters(), lr=0.5),
        (X, y),
        epochs=8,
        batch_size=10,
        seed=seed,
        validation=(X, y),
        progress=False,
    )
    return [p.data for p in model.parameters()]


def test_two_threads_training_their_own_models_match_the_single_thread_run_bit_for_bit():
    expected = train_moons(seed=3)
    results: dict[int, list[float]] = {}

    def train(slot: int) -> Callable[[], None]:
        def run() -> None:
            results[slot] = train_moons(seed=3)

        return run

    with fine_switching():
        threads = [run_in_thread(train(slot)) for slot in (0, 1)]
        for thread in threads:
            join(thread)
    assert results[0] == expected and results[1] == expected


def test_threads_sweeping_one_shared_graph_take_turns():
    sweeps = 100
    for _ in range(20):  # a race shows up in most attempts: twenty make a lucky pass unlikely
        w = Value(0.5)
        shared = w
        for _ in range(100):  # inner nodes both threads' graphs pass through
            shared = shared * 1.0 + 0.0
        outputs = [shared * 3.0, shared * 5.0]
        start = threading.Barrier(len(outputs))

        def sweep(y: Value, start: threading.Barrier = start) -> Callable[[], None]:
            def run() -> None:
                start.wait(timeout=30)
                for _ in range(sweeps):
                    y.backward()

            return run

        with fine_switching():
            threads = [run_in_thread(sweep(y)) for y in outputs]
            for thread in threads:
                join(thread)
        assert w.grad == sweeps * (3.0 + 5.0)
        assert w._pending == 0 and shared._pending == 0


def test_asyncio_tasks_interleaving_no_grad_and_recording_each_keep_their_mode():
    async def evaluating() -> list[bool]:
        seen = []
        with no_grad():
            for _ in range(5):
                seen.append(bool((Value(1.0) * 2).parents))
                await asyncio.sleep(0)
        return seen

    async def training() -> list[float]:
        grads = []
        for i in range(5):
            x = Value(float(i))
            (x * x).backward()
            grads.append(x.grad)
            await asyncio.sleep(0)
        return grads

    async def both() -> tuple:
        return await asyncio.gather(evaluating(), training())

    recorded_while_evaluating, grads = asyncio.run(both())
    assert recorded_while_evaluating == [False] * 5
    assert grads == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_asyncio_tasks_interleaving_graph_scopes_each_see_their_own():
    async def scoped(name: str) -> set:
        names = set()
        with graph_scope(name):
            for _ in range(5):
                names.add((Value(1.0) * 2).scope.name)
                await asyncio.sleep(0)
        return names

    async def both() -> tuple:
        return await asyncio.gather(scoped("first"), scoped("second"))

    assert asyncio.run(both()) == [{"first"}, {"second"}]


def test_no_grad_works_as_a_decorator():
    @no_grad()
    def evaluate(x: Value) -> Value:
        return x * 2

    assert evaluate(Value(1.0)).parents == ()
    assert is_grad_enabled()


@pytest.mark.parametrize("block", [no_grad, lambda: graph_scope("s")], ids=["no_grad", "scope"])
def test_blocks_left_by_an_exception_restore_the_mode_and_the_fast_path(block):
    from autograd import modes, value

    with pytest.raises(RuntimeError):
        with block():
            raise RuntimeError("inside")
    assert is_grad_enabled() and current_scope() is None
    assert modes._open == {"no_grad": 0, "scope": 0}
    assert value._recording_everywhere and not value._scopes_somewhere


def test_the_hot_path_flags_follow_the_blocks_open_anywhere():
    from autograd import value

    assert value._recording_everywhere and not value._scopes_somewhere
    with no_grad():
        assert not value._recording_everywhere
        with graph_scope("outer"), graph_scope("inner"):
            assert value._scopes_somewhere
        assert not value._scopes_somewhere
    assert value._recording_everywhere


def test_a_thread_running_a_context_copied_inside_a_scope_keeps_its_scopes_to_itself():
    import contextvars

    entered, release = threading.Event(), threading.Event()
    seen = {}

    def child() -> None:
        seen["inherited"] = current_scope().name  # the copy holds the creator's scope
        with graph_scope("child"):
            entered.set()
            assert release.wait(timeout=30)
            seen["child"] = (Value(1.0) * 2).scope.name

    with graph_scope("outer") as outer:
        copied = contextvars.copy_context()
        worker = run_in_thread(lambda: copied.run(child))
        assert entered.wait(timeout=30)
        try:
            assert current_scope() is outer and (Value(1.0) * 2).scope is outer
        finally:
            release.set()
            join(worker)
    assert seen == {"inherited": "outer", "child": "child"}
    assert current_scope() is None


def test_tasks_of_an_event_loop_started_inside_a_scope_each_see_their_own():
    async def scoped(name: str) -> set:
        names = set()
        with graph_scope(name):
            for _ in range(5):
                names.add((Value(1.0) * 2).scope.name)
                await asyncio.sleep(0)
        names.add((Value(1.0) * 2).scope.name)  # back in the scope the task started in
        return names

    async def both() -> list:
        return await asyncio.gather(scoped("first"), scoped("second"))

    with graph_scope("outside") as outside:
        assert asyncio.run(both()) == [{"first", "outside"}, {"second", "outside"}]
        assert current_scope() is outside


def test_no_grad_decorates_without_brackets_too_as_torch_no_grad_does():
    @no_grad
    def evaluate(x):
        return x * 2

    assert evaluate(Value(1.0)).parents == ()
    assert evaluate.__name__ == "evaluate"
    with pytest.raises(TypeError, match="no_grad: takes no arguments .* got int 3"):
        no_grad(3)


def test_no_grad_on_an_async_function_keeps_its_body_from_recording_across_awaits():
    @no_grad()
    async def evaluate(x):
        await asyncio.sleep(0)
        return x * 2

    async def alongside(x):
        await asyncio.sleep(0)
        return x * 2

    async def both():
        return await asyncio.gather(evaluate(Value(1.0)), alongside(Value(1.0)))

    frozen, recorded = asyncio.run(both())
    assert frozen.parents == () and len(recorded.parents) == 1


def test_no_grad_on_a_generator_holds_in_its_body_and_not_in_the_loop_that_drives_it():
    @no_grad()
    def doubled(xs):
        total = yield "ready"
        for x in xs:
            total = yield x * 2
        return total

    drive = doubled([Value(1.0), Value(2.0)])
    assert next(drive) == "ready"
    first = drive.send(None)
    between = Value(3.0) * 3  # the driver records between the generator's steps
    assert first.parents == () and len(between.parents) == 1
    second = drive.send(None)
    assert second.parents == ()
    with pytest.raises(StopIteration) as stop:
        drive.send("done")
    assert stop.value.value == "done"
    assert is_grad_enabled() and list(doubled([Value(1.0)]))[1].parents == ()


def test_an_exception_thrown_into_a_no_grad_generator_reaches_its_body():
    @no_grad()
    def guarded():
        try:
            yield 1
        except KeyError:
            yield Value(2.0) * 2

    drive = guarded()
    next(drive)
    assert drive.throw(KeyError("k")).parents == ()
    drive.close()
    assert is_grad_enabled()


def test_no_grad_refuses_to_decorate_an_async_generator():
    with pytest.raises(TypeError, match="cannot decorate the async generator"):

        @no_grad()
        async def stream():
            yield 1
