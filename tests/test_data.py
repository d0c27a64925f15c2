"""Datasets: sizes, balance, seeding, noiseless geometry; batches hold each example once."""

import math
import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn.data import batches, make_circles, make_moons, make_spirals, xor

MAKERS = [make_moons, make_circles, make_spirals]


def test_xor_is_the_four_corners_labelled_by_exclusive_or():
    X, y = xor()
    assert sorted(zip(map(tuple, X), y)) == [
        ((0.0, 0.0), 0),
        ((0.0, 1.0), 1),
        ((1.0, 0.0), 1),
        ((1.0, 1.0), 0),
    ]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_makers_return_n_points_of_two_floats_and_int_labels(make, n):
    X, y = make(n, seed=0)
    assert len(X) == len(y) == n
    assert all(len(x) == 2 and all(type(c) is float for c in x) for x in X)
    assert all(type(label) is int for label in y)


@pytest.mark.parametrize("make", [make_moons, make_circles])
@pytest.mark.parametrize("n", [1, 10, 101])
def test_two_class_makers_split_the_points_evenly(make, n):
    _, y = make(n, seed=0)
    assert set(y) <= {0, 1}
    assert [y.count(0), y.count(1)] == [(n + 1) // 2, n // 2]


@pytest.mark.parametrize(("n", "classes"), [(99, 3), (100, 3), (10, 4), (5, 2)])
def test_spirals_give_each_class_its_share_the_first_classes_one_more(n, classes):
    _, y = make_spirals(n, classes=classes, seed=0)
    counts = Counter(y)
    assert set(counts) == set(range(classes))
    assert [counts[c] for c in range(classes)] == [
        n // classes + (c < n % classes) for c in range(classes)
    ]


@pytest.mark.parametrize("make", MAKERS)
def test_the_same_seed_gives_the_same_data_and_other_seeds_differ(make):
    assert make(50, seed=3) == make(50, seed=3)
    assert make(50, seed=3) != make(50, seed=4)


@pytest.mark.parametrize("make", MAKERS)
def test_points_come_in_random_order_not_sorted_by_class(make):
    _, y = make(60, seed=0)
    assert y != sorted(y)


def test_noiseless_moons_lie_on_their_half_circles():
    X, y = make_moons(50, noise=0.0, seed=1)
    for (a, b), label in zip(X, y):
        if label == 0:  # upper half of the unit circle about (0, 0)
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower half of the unit circle about (1, 0.5)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12
    # evenly spaced from one end of each half circle to the other
    upper_x = sorted(a for (a, _), label in zip(X, y) if label == 0)
    assert upper_x[0] == pytest.approx(-1.0) and upper_x[-1] == pytest.approx(1.0)


def test_noiseless_circles_lie_on_their_radii_at_evenly_spaced_angles():
    X, y = make_circles(40, noise=0.0, factor=0.3, seed=2)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3)
    angles = sorted(math.atan2(b, a) % (2 * math.pi) for (a, b), label in zip(X, y) if label == 0)
    gaps = [later - earlier for earlier, later in zip(angles, angles[1:])]
    assert gaps == pytest.approx([2 * math.pi / 20] * 19)


def test_noiseless_spirals_lie_on_their_arms():
    classes, n = 3, 30
    X, y = make_spirals(n, classes=classes, noise=0.0, seed=0)
    m = n // classes
    for (a, b), label in zip(X, y):
        r = math.hypot(a, b)
        assert r * m == pytest.approx(round(r * m)) and 1 <= round(r * m) <= m
        arm_angle = 2 * math.pi * (label / classes + r)
        turn = (math.atan2(b, a) - arm_angle) / (2 * math.pi)
        assert turn == pytest.approx(round(turn), abs=1e-9)


@pytest.mark.parametrize(
    ("make", "noise"), [(make_moons, 0.2), (make_circles, 0.05), (make_spirals, 0.3)]
)
def test_noise_has_the_standard_deviation_asked_for(make, noise):
    clean, _ = make(3000, noise=0.0, seed=5)
    noisy, _ = make(3000, noise=noise, seed=5)
    if make is make_spirals:  # the noise is in the angle
        offsets = [
            math.remainder(math.atan2(b, a) - math.atan2(d, c), 2 * math.pi)
            for (a, b), (c, d) in zip(noisy, clean)
        ]
    else:
        offsets = [p - q for x, z in zip(noisy, clean) for p, q in zip(x, z)]
    assert statistics.mean(offsets) == pytest.approx(0.0, abs=0.1 * noise)
    assert statistics.stdev(offsets) == pytest.approx(noise, rel=0.1)


def labelled(n):
    """n examples whose label is their index, so a batch says which examples it holds."""
    return [[float(i), -float(i)] for i in range(n)], list(range(n))


@given(
    n=st.integers(1, 40),
    batch_size=st.none() | st.integers(1, 50),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_batches_cover_every_example_exactly_once_per_pass(n, batch_size, shuffle, seed):
    X, y = labelled(n)
    found = list(batches((X, y), batch_size, shuffle=shuffle, seed=seed))
    size = batch_size or n
    assert [len(yb) for _, yb in found] == [size] * (n // size) + [n % size] * (n % size > 0)
    assert sorted(i for _, yb in found for i in yb) == list(range(n))
    assert all(x == X[i] for xb, yb in found for x, i in zip(xb, yb))


def test_sizes_may_be_any_integral_type_such_as_numpys():
    numpy = pytest.importorskip("numpy")
    X, y = make_spirals(numpy.int64(9), classes=numpy.int32(3), seed=0)
    assert len(X) == 9 and sorted(set(y)) == [0, 1, 2]
    assert [len(b) for _, b in batches((X, y), batch_size=numpy.int64(4))] == [4, 4, 1]


def test_numpy_arrays_are_batched_like_lists():
    numpy = pytest.importorskip("numpy")
    X, y = labelled(5)
    found = batches((numpy.array(X), numpy.array(y)), batch_size=2, shuffle=False)
    assert [[int(i) for i in yb] for _, yb in found] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="the data set is empty"):
        batches((numpy.zeros((0, 2)), numpy.zeros(0)))


def test_full_batch_stochastic_and_mini_batch_sizes():
    data = labelled(10)
    assert [len(b) for _, b in batches(data)] == [10]
    assert [len(b) for _, b in batches(data, batch_size=1)] == [1] * 10
    assert [len(b) for _, b in batches(data, batch_size=4)] == [4, 4, 2]


def test_shuffling_follows_the_seed_and_no_shuffle_keeps_the_order():
    data = labelled(30)

    def order(**options):
        return [i for _, yb in batches(data, batch_size=7, **options) for i in yb]

    assert order(seed=1) == order(seed=1)
    assert order(seed=1) != order(seed=2)
    assert order(seed=1) != list(range(30))
    assert order(shuffle=False) == list(range(30))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_moons(0), ValueError, "n must be positive, got 0"),
        (lambda: make_moons(-3), ValueError, "n must be positive, got -3"),
        (lambda: make_circles(2.5), TypeError, "n must be an int, got float 2.5"),
        (lambda: make_spirals(True), TypeError, "n must be an int, got bool True"),
        (lambda: make_spirals(10, classes=0), ValueError, "classes must be positive, got 0"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise must be finite and >= 0, got -0.1"),
        (lambda: make_moons(10, noise=math.nan), ValueError, "noise must be finite .* nan"),
        (lambda: make_circles(10, noise="a lot"), TypeError, "noise must be a real number"),
        (lambda: make_circles(10, factor=1.0), ValueError, "factor must be between 0 and 1"),
        (lambda: make_circles(10, factor=None), TypeError, "factor must be a real number"),
        (lambda: batches(labelled(3), batch_size=0), ValueError, "batch_size must be positive"),
        (lambda: batches(labelled(3), batch_size=1.5), TypeError, "batch_size must be an int"),
        (lambda: batches(([[0.0]], [0, 1])), ValueError, "X has 1 examples but y has 2 labels"),
        (lambda: batches(([], [])), ValueError, "the data set is empty"),
        (lambda: batches([[0.0]]), TypeError, "data must be a pair"),
        (lambda: batches(([[0.0]], 0)), TypeError, "y must be a sequence, got int"),
    ],
)
def test_bad_arguments_raise_at_the_call_naming_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
