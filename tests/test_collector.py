"""gc_paused: when the cyclic collector is off and on again, and what a graph built inside keeps."""

import gc
import threading

import pytest

from autograd import Value, gc_paused, gradients


@pytest.fixture(autouse=True)
def collector_restored():
    """Each test starts with the collector on, and a failing test cannot leave it off."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def live_values() -> int:
    return sum(type(o) is Value for o in gc.get_objects())


def live_values_after_collecting() -> int:
    """Live Values once the garbage of earlier tests (their reference cycles) is gone."""
    gc.collect()
    return live_values()


def test_the_collector_is_off_inside_and_on_again_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_blocks_resume_the_collector_only_when_the_outermost_ends():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_inside_resumes_the_collector_and_propagates():
    with pytest.raises(ZeroDivisionError):
        with gc_paused():
            Value(1.0) / 0
    assert gc.isenabled()


def test_it_works_as_a_decorator():
    @gc_paused()
    def collector_state() -> bool:
        return gc.isenabled()

    assert collector_state() is False and gc.isenabled()


def test_overlapping_blocks_in_two_threads_resume_the_collector_when_the_last_one_ends():
    entered, release = threading.Event(), threading.Event()
    seen_after_main_block: list[bool] = []

    def other_thread():
        with gc_paused():
            entered.set()
            release.wait(timeout=10)
            seen_after_main_block.append(gc.isenabled())

    worker = threading.Thread(target=other_thread)
    with gc_paused():
        worker.start()
        assert entered.wait(timeout=10)
    still_paused = not gc.isenabled()  # this thread's block ended; the other's has not
    release.set()
    worker.join(timeout=10)
    assert still_paused and seen_after_main_block == [False] and gc.isenabled()


def test_gradients_inside_equal_gradients_outside():
    def chain_gradient() -> float:
        x = Value(0.3)
        y = x
        for _ in range(2000):
            y = y + 0.001 * y.sin()
        y.backward()
        return x.grad

    outside = chain_gradient()
    with gc_paused():
        inside = chain_gradient()
    assert inside == outside != 0.0


def test_reference_counting_frees_a_graph_built_inside_with_no_collection():
    before = live_values_after_collecting()
    with gc_paused():
        y = Value(1.0)
        for _ in range(10_000):
            y = y * 1.0001 + 0.5
        y.backward()
        assert live_values() >= before + 20_000
        del y
        assert live_values() == before


def test_cycles_made_inside_wait_for_the_collector_and_are_freed_once_it_runs():
    def second_order_cycle():
        x = Value(2.0)
        (dx,) = gradients(x**3, [x], create_graph=True)
        x.grad = dx  # dx's graph refers to x: a reference cycle

    before = live_values_after_collecting()
    with gc_paused():
        second_order_cycle()
        assert live_values() > before
    gc.collect()
    assert live_values() == before
