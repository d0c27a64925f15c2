"""Weight initialisation: each scheme's bounds and spread, seeding, and the lookup by name."""

import math
import random
import statistics

import pytest

from nn import MLP, Layer, Neuron
from nn.init import INITIALIZERS, he_normal, initializer, uniform, xavier_uniform

DRAWS = 20_000  # enough that the sample standard deviation is within 2% of the true one


def many(scheme, fan_in, fan_out, seed=0):
    rng = random.Random(seed)
    weights = []
    while len(weights) < DRAWS:
        weights += scheme(fan_in, fan_out, rng)
    return weights


def test_each_scheme_draws_one_weight_per_input():
    for scheme in (uniform, xavier_uniform, he_normal):
        assert len(scheme(7, 3, random.Random(0))) == 7


def test_uniform_draws_from_minus_one_to_one_with_the_variance_of_u_minus_1_1():
    weights = many(uniform, 5, 50)
    assert -1.0 <= min(weights) < -0.99 and 0.99 < max(weights) <= 1.0
    assert abs(statistics.fmean(weights)) < 0.02
    assert statistics.pvariance(weights) == pytest.approx(1 / 3, rel=0.03)


def test_uniform_ignores_the_layer_size_as_micrograd_does():
    assert uniform(4, 1, random.Random(3)) == uniform(4, 1000, random.Random(3))


def test_xavier_stays_within_sqrt_6_over_fan_in_plus_fan_out_and_fills_the_interval():
    fan_in, fan_out = 10, 30
    bound = math.sqrt(6 / (fan_in + fan_out))
    weights = many(xavier_uniform, fan_in, fan_out)
    assert max(abs(w) for w in weights) <= bound
    assert min(weights) < -0.99 * bound and max(weights) > 0.99 * bound
    # Var U(-a, a) = a**2 / 3 = 2 / (fan_in + fan_out)
    assert statistics.pvariance(weights) == pytest.approx(2 / (fan_in + fan_out), rel=0.03)


def test_he_is_centred_normal_with_standard_deviation_sqrt_2_over_fan_in():
    fan_in = 8
    weights = many(he_normal, fan_in, 4)
    std = math.sqrt(2 / fan_in)
    assert abs(statistics.fmean(weights)) < 0.03 * std
    assert statistics.pstdev(weights) == pytest.approx(std, rel=0.03)
    # a normal, not a uniform: about 68% within one standard deviation, some beyond 3
    within_one = sum(abs(w) <= std for w in weights) / len(weights)
    assert within_one == pytest.approx(0.6827, abs=0.02)
    assert max(abs(w) for w in weights) > 3 * std


def test_the_same_seed_draws_the_same_weights_and_another_seed_others():
    for scheme in (uniform, xavier_uniform, he_normal):
        assert scheme(6, 2, random.Random(42)) == scheme(6, 2, random.Random(42))
        assert scheme(6, 2, random.Random(42)) != scheme(6, 2, random.Random(43))


def test_the_random_module_itself_is_a_source_seeded_by_random_seed():
    random.seed(7)
    first = he_normal(5, 5, random)
    random.seed(7)
    assert he_normal(5, 5, random) == first


def test_names_and_aliases_find_their_schemes():
    assert initializer("uniform") is uniform
    assert initializer("xavier") is initializer("glorot") is xavier_uniform
    assert initializer("he") is initializer("kaiming") is he_normal
    assert set(INITIALIZERS) == {"uniform", "xavier", "glorot", "he", "kaiming"}


def test_an_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown initializer 'lecun'") as error:
        initializer("lecun")
    for name in INITIALIZERS:
        assert repr(name) in str(error.value)
    with pytest.raises(TypeError, match="must be a str, got int 3"):
        initializer(3)


def test_layers_use_their_width_as_xavier_fan_out():
    rng_a, rng_b = random.Random(5), random.Random(5)
    layer = Layer(3, 12, init="xavier", rng=rng_a)
    expected = [w for _ in range(12) for w in xavier_uniform(3, 12, rng_b)]
    assert [w.data for neuron in layer.neurons for w in neuron.w] == expected


def test_mlp_weights_follow_the_chosen_scheme_and_biases_start_at_zero():
    model = MLP(50, [40, 30, 1], init="he", seed=0)
    first = [w.data for neuron in model.layers[0].neurons for w in neuron.w]
    assert statistics.pstdev(first) == pytest.approx(math.sqrt(2 / 50), rel=0.05)
    assert all(neuron.b.data == 0.0 for layer in model.layers for neuron in layer.neurons)
    bound = math.sqrt(6 / (40 + 30))
    glorot = MLP(50, [40, 30, 1], init="glorot", seed=0)
    assert max(abs(w.data) for neuron in glorot.layers[1].neurons for w in neuron.w) <= bound


def test_an_unknown_init_name_is_refused_by_the_modules():
    for build in (lambda: Neuron(2, init="zeros"), lambda: MLP(2, [3, 1], init="zeros")):
        with pytest.raises(ValueError, match="unknown initializer 'zeros'"):
            build()
