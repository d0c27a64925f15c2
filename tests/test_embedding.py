"""Embedding: rows by index, gradients that add up over repeated tokens, errors."""

import statistics

import pytest

from autograd import sum_values
from nn import Embedding


def test_an_index_gives_its_row_and_a_list_of_indices_gives_a_list_of_rows():
    table = Embedding(5, 3, seed=0)
    assert table(2) == table.weight[2]
    rows = table([4, 0, 4])
    assert len(rows) == 3 and rows[0] == rows[2] == table.weight[4]


def test_the_gradient_of_a_row_adds_up_over_every_place_it_is_used():
    table = Embedding(4, 2, seed=0)
    rows = table([1, 3, 1])
    sum_values([v for row in rows for v in row]).backward()
    assert [[w.grad for w in row] for row in table.weight] == [
        [0.0] * 2,
        [2.0] * 2,
        [0.0] * 2,
        [1.0] * 2,
    ]


def test_rows_start_from_a_standard_normal_and_a_seed_repeats_them():
    values = [w.data for w in Embedding(200, 10, seed=1).parameters()]
    assert abs(statistics.mean(values)) < 0.1 and abs(statistics.stdev(values) - 1.0) < 0.1
    assert Embedding(3, 2, seed=7).state_dict() == Embedding(3, 2, seed=7).state_dict()


@pytest.mark.parametrize(
    "index, error, message",
    [
        (5, IndexError, "input = 5 is out of range for num_embeddings=5"),
        (-1, IndexError, "input = -1 is out of range"),
        ([0, 7], IndexError, r"input\[1\] = 7 is out of range"),
        (1.0, TypeError, "input must be an int index, got float 1.0"),
        (True, TypeError, "input must be an int index, got bool"),
    ],
)
def test_bad_indices_are_refused_naming_the_index(index, error, message):
    with pytest.raises(error, match=message):
        Embedding(5, 2, seed=0)(index)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Embedding(0, 2), "num_embeddings must be a positive int, got 0"),
        (lambda: Embedding(3, -2), "embedding_dim must be a positive int, got -2"),
    ],
)
def test_bad_sizes_are_refused_naming_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()
