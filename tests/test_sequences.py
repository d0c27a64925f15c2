"""Sequence tasks in nn.data: the adding problem, parity, a sine wave, characters, sampling."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn.data import TEXT, adding_problem, char_corpus, parity, sample_text, sine_wave


@given(st.integers(1, 20), st.integers(2, 30), st.integers(0, 10_000))
def test_each_adding_sequence_marks_one_step_in_each_half_and_its_target_is_their_sum(
    n, length, seed
):
    X, y = adding_problem(n, length, seed=seed)
    assert len(X) == len(y) == n
    for steps, target in zip(X, y):
        assert len(steps) == length and all(0.0 <= value < 1.0 for value, _ in steps)
        marked = [t for t, (_, marker) in enumerate(steps) if marker == 1.0]
        assert len(marked) == 2 and marked[0] < length // 2 <= marked[1]
        assert {marker for _, marker in steps} <= {0.0, 1.0}
        assert target == sum(steps[t][0] for t in marked)


def test_always_answering_one_on_the_adding_problem_scores_about_a_sixth():
    _, y = adding_problem(5000, 10, seed=0)
    assert abs(sum((t - 1.0) ** 2 for t in y) / len(y) - 1 / 6) < 0.01


@given(st.integers(1, 20), st.integers(1, 20), st.integers(0, 10_000))
def test_parity_labels_count_the_ones_modulo_two(n, length, seed):
    X, y = parity(n, length, seed=seed)
    assert [len(stream) for stream in X] == [length] * n
    assert all(bit in (0.0, 1.0) for stream in X for [bit] in stream)
    assert y == [sum(int(bit) for [bit] in stream) % 2 for stream in X]


def test_the_sine_wave_targets_are_the_inputs_one_step_ahead():
    X, y = sine_wave(50, period=10.0)
    assert [x for [x] in X[1:]] == y[:-1]
    assert y[-1] == pytest.approx(math.sin(2 * math.pi * 50 / 10.0), abs=1e-12)
    noisy_X, _ = sine_wave(50, period=10.0, noise=0.1, seed=0)
    assert noisy_X != X and noisy_X == sine_wave(50, period=10.0, noise=0.1, seed=0)[0]


def test_tasks_with_a_seed_are_repeatable_and_without_one_follow_the_global_random():
    assert adding_problem(3, 5, seed=1) == adding_problem(3, 5, seed=1)
    assert parity(3, 5, seed=1) != parity(3, 5, seed=2)
    random.seed(9)
    first = adding_problem(3, 5)
    random.seed(9)
    assert adding_problem(3, 5) == first


@given(st.text(alphabet="abc .\n", min_size=2, max_size=40))
def test_a_corpus_encodes_and_decodes_its_text_exactly(text):
    corpus = char_corpus(text)
    assert corpus.decode(corpus.encode(text)) == text
    assert list(corpus.vocabulary) == sorted(set(text))
    X, y = corpus.next_character_data()
    assert X[1:] == y[:-1] and corpus.decode(X + y[-1:]) == text


def test_the_built_in_text_is_small_and_has_a_small_vocabulary():
    corpus = char_corpus()
    assert corpus.text == TEXT and 200 < len(TEXT) < 1000
    assert len(corpus.vocabulary) <= 30 and "the cat sat on the mat" in TEXT


def test_a_character_outside_the_vocabulary_is_refused_by_name():
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['z'\]"):
        char_corpus("abc").encode("abz")


@pytest.mark.parametrize(
    "indices, error, message",
    [
        ([0, -1], IndexError, r"indices\[1\] = -1 is out of range for a vocabulary of 3"),
        ([3], IndexError, r"indices\[0\] = 3 is out of range"),
        ([1.0], TypeError, r"indices\[0\] must be an int, got float 1.0"),
    ],
)
def test_decode_refuses_an_index_outside_the_vocabulary(indices, error, message):
    with pytest.raises(error, match=message):  # -1 would be the last character, silently
        char_corpus("abc").decode(indices)


def bigram_model(corpus, table):
    """A model that reads the last character and scores the next one from a table."""

    def model(indices, state):
        return [
            [
                10.0 if corpus.vocabulary[j] == table.get(corpus.vocabulary[i]) else 0.0
                for j in range(len(corpus.vocabulary))
            ]
            for i in indices
        ], state

    return model


def test_sampling_feeds_each_drawn_character_back_to_the_model():
    corpus = char_corpus("abc")
    model = bigram_model(corpus, {"a": "b", "b": "c", "c": "a"})
    assert sample_text(model, corpus, "a", 6, temperature=0.1, seed=0) == "abcabca"


def test_a_high_temperature_flattens_the_choice_and_a_seed_repeats_it():
    corpus = char_corpus("abc")
    model = bigram_model(corpus, {"a": "b", "b": "c", "c": "a"})
    hot = sample_text(model, corpus, "a", 60, temperature=100.0, seed=1)
    assert hot == sample_text(model, corpus, "a", 60, temperature=100.0, seed=1)
    assert hot.count("a") > 5 and hot.count("b") > 5 and hot.count("c") > 5


def test_sampling_carries_the_state_the_model_returns():
    corpus = char_corpus("ab")
    seen = []

    def counting(indices, state):
        seen.append(state)
        return [[0.0, 0.0] for _ in indices], (state or 0) + len(indices)

    sample_text(counting, corpus, "ab", 3, seed=0)
    assert seen == [None, 2, 3, 4]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: adding_problem(10, 1), ValueError, "length must be at least 2"),
        (lambda: adding_problem(0, 5), ValueError, "n must be positive, got 0"),
        (lambda: parity(5, -1), ValueError, "length must be positive, got -1"),
        (lambda: sine_wave(10, period=0.0), ValueError, "period must be a positive finite number"),
        (lambda: sine_wave(10, noise=-1.0), ValueError, "noise must be finite and >= 0"),
        (lambda: char_corpus("a"), ValueError, "text must be a string of 2 characters or more"),
        (lambda: char_corpus(5), TypeError, "text must be a string, got int"),
        (lambda: sine_wave(10, period="a"), TypeError, "period must be a real number, got 'a'"),
        (
            lambda: sample_text(None, char_corpus("ab"), "a", 3, temperature="1"),
            TypeError,
            "temperature must be a real number, got '1'",
        ),
        (lambda: sample_text(None, char_corpus("ab"), "", 3), ValueError, "prompt must hold"),
        (
            lambda: sample_text(None, char_corpus("ab"), "a", 3, temperature=0),
            ValueError,
            "temperature must be positive",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
