"""nn.random_states.uniforms: many draws at once, the very numbers random() would give."""

import random

import pytest

from nn.random_states import VECTORISED_FROM, uniforms

np = pytest.importorskip("numpy")


class Loaded(random.Random):
    """A generator with its own random(): uniforms must call it, not copy the state."""

    def random(self):
        return 0.25


@pytest.mark.parametrize(
    "count", [0, 1, 7, VECTORISED_FROM - 1, VECTORISED_FROM, 3 * VECTORISED_FROM]
)
def test_uniforms_are_the_next_draws_and_leave_the_generator_where_the_draws_would(count):
    generator, copy = random.Random(11), random.Random(11)
    copy.gauss(0.0, 1.0), generator.gauss(0.0, 1.0)  # a cached Gaussian is kept
    found = uniforms(generator, count, np)
    assert found.tolist() == [copy.random() for _ in range(count)]
    assert generator.getstate() == copy.getstate()


def test_uniforms_from_the_global_random_stream():
    state = random.getstate()
    try:
        random.seed(3)
        found = uniforms(random, 2 * VECTORISED_FROM, np)
        after = random.random()
        random.seed(3)
        assert found.tolist() == [random.random() for _ in range(2 * VECTORISED_FROM)]
        assert after == random.random()
    finally:
        random.setstate(state)


def test_a_generator_with_its_own_random_method_is_called_for_every_draw():
    assert set(uniforms(Loaded(0), 2 * VECTORISED_FROM, np).tolist()) == {0.25}
