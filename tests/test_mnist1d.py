"""nn.data.load_mnist1d (the `mnist1d` package's generator, offline) and load_digits as images."""

import random

import pytest

from nn.data import load_digits, load_mnist1d

pytest.importorskip("mnist1d", reason='mnist1d is an extra: pip install "chainrule[mnist1d]"')


def test_mnist1d_has_4000_training_and_1000_test_signals_of_40_samples_in_10_classes():
    (X, y), (X_test, y_test) = load_mnist1d()
    assert (len(X), len(y), len(X_test), len(y_test)) == (4000, 4000, 1000, 1000)
    assert {len(x) for x in X + X_test} == {40}
    assert all(type(v) is float for v in X[0]) and all(type(label) is int for label in y)
    assert sorted(set(y)) == sorted(set(y_test)) == list(range(10))
    assert all(300 <= y.count(digit) <= 500 for digit in range(10))
    everything = [v for x in X + X_test for v in x]
    mean = sum(everything) / len(everything)
    variance = sum((v - mean) ** 2 for v in everything) / len(everything)
    assert abs(mean) < 1e-9 and abs(variance - 1.0) < 1e-9  # centred, standard deviation 1


def test_mnist1d_is_the_packages_own_default_dataset_and_leaves_the_global_streams_alone():
    numpy = pytest.importorskip("numpy")
    from mnist1d.data import get_dataset_args, make_dataset

    random.seed(3)
    numpy.random.seed(3)
    expected = (random.random(), numpy.random.random())
    random.seed(3)
    numpy.random.seed(3)
    (X, y), (X_test, _) = load_mnist1d(seed=42)
    assert (random.random(), numpy.random.random()) == expected
    made = make_dataset(get_dataset_args())
    assert X == made["x"].tolist() and X_test == made["x_test"].tolist()
    assert y == made["y"].tolist()


def test_mnist1d_is_deterministic_and_each_call_returns_fresh_lists():
    (X, y), _ = load_mnist1d()
    X[0][0] = 1e9
    (again, y_again), _ = load_mnist1d()
    assert again[0][0] != 1e9 and y_again == y


def test_shuffled_mnist1d_is_one_fixed_permutation_of_the_positions_of_every_signal():
    (X, y), (X_test, y_test) = load_mnist1d()
    (S, s_y), (S_test, s_y_test) = load_mnist1d(shuffle=True)
    assert s_y == y and s_y_test == y_test
    first = X[0]
    permutation = [min(range(40), key=lambda j: abs(first[j] - v)) for v in S[0]]
    assert sorted(permutation) == list(range(40)) and permutation != list(range(40))
    for x, s in zip(X + X_test, S + S_test):
        assert max(abs(x[j] - v) for j, v in zip(permutation, s)) < 1e-12


def test_load_mnist1d_refuses_bad_arguments():
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        load_mnist1d(shuffle=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        load_mnist1d(seed=1.5)


def test_digits_as_images_are_one_channel_of_8_rows_of_8():
    pytest.importorskip("sklearn")
    flat, labels = load_digits()
    images, image_labels = load_digits(images=True)
    assert image_labels == labels and len(images) == 1797
    assert all(len(image) == 1 and len(image[0]) == 8 for image in images)
    assert all(sum(image[0], []) == row for image, row in zip(images, flat))
    with pytest.raises(TypeError, match="images must be True or False"):
        load_digits(images="yes")
