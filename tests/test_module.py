"""Module: parameters found by walking attributes, state dicts, and model files."""

import json
import math
import random
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from nn import (
    GELU,
    GRU,
    LSTM,
    MLP,
    RNN,
    BatchNorm1d,
    Dropout,
    Embedding,
    GRUCell,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    LSTMCell,
    Module,
    Neuron,
    ReLU,
    RNNCell,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)

AWKWARD = [0.1, 1e-300, -0.0, 5e-324, 1 / 3, -1.7976931348623157e308, 2.0**-1022, 123456.789]


class Tiny(Module):
    """A hand-written module with every kind of attribute the walk handles or skips."""

    def __init__(self):
        self.scale = Value(2.0)
        self.note = "not a parameter"
        self.weights = [Value(1.0), Value(-1.0)]
        self.head = Neuron(2, rng=random.Random(0))
        self.pair = (Neuron(1, rng=random.Random(1)), 3.0)
        self._cache = Value(99.0)
        self.offset = Value(0.5)

    def forward(self, x):
        return self.scale * x + self.offset


def bits(model):
    return [value.hex() for value in model.state_dict().values()]


def awkward_model():
    model = MLP(2, [2, 1], seed=0)
    for parameter, value in zip(model.parameters(), AWKWARD * 2):
        parameter.data = value
    return model


# --- finding parameters ----------------------------------------------------------------------
def test_named_parameters_walk_attributes_in_definition_order_with_dotted_names():
    names = [name for name, _ in Tiny().named_parameters()]
    assert names == [
        "scale",
        "weights.0",
        "weights.1",
        "head.w.0",
        "head.w.1",
        "head.b",
        "pair.0.w.0",
        "pair.0.b",
        "offset",
    ]


def test_private_attributes_and_non_parameters_are_not_walked():
    model = Tiny()
    assert model._cache not in model.parameters()
    assert all(isinstance(p, Value) for p in model.parameters())


def test_parameters_are_the_named_parameters_in_the_same_order():
    model = MLP(3, [4, 4, 1], seed=0)
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert len(model.parameters()) == 41  # (3 + 1) 4 + (4 + 1) 4 + (4 + 1) 1


def test_a_shared_parameter_or_module_is_listed_once_under_its_first_name():
    class Shared(Module):
        def __init__(self):
            self.first = Neuron(1, rng=random.Random(0))
            self.again = self.first
            self.tied = self.first.b

    assert [name for name, _ in Shared().named_parameters()] == ["first.w.0", "first.b"]


def test_nested_lists_and_dicts_of_parameters_and_modules_are_walked():
    class Nested(Module):
        def __init__(self):
            self.W = [[Value(1.0), Value(2.0)], [Value(3.0)]]  # a weight matrix, row by row
            self.heads = {"mean": Neuron(1, rng=random.Random(0)), "scale": Value(4.0)}

    assert [name for name, _ in Nested().named_parameters()] == [
        "W.0.0",
        "W.0.1",
        "W.1.0",
        "heads.mean.w.0",
        "heads.mean.b",
        "heads.scale",
    ]


def test_a_module_that_refers_back_to_its_owner_is_walked_once():
    class Owner(Module):
        def __init__(self):
            self.child = Neuron(1, rng=random.Random(0))
            self.child.owner = self  # a back-reference: a cycle of modules

    model = Owner()
    assert [name for name, _ in model.named_parameters()] == ["child.w.0", "child.b"]


def test_zero_grad_resets_every_parameter_gradient():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [0.0] * 13


def test_calling_a_module_runs_forward_inside_a_scope_named_after_its_class():
    model = Tiny()
    y = model(Value(3.0))
    assert y.data == 6.5
    assert y.scope.owner is model and y.scope.name == "Tiny" and y.scope.parent is None


def test_every_call_of_a_module_records_the_same_scope_and_parameters_ignore_it():
    model = MLP(2, [3, 1], seed=0)
    first, second = model([1.0, 2.0]), model([0.5, -1.0])
    assert first.scope is second.scope and first.scope.name == "neuron 0"
    assert len(model.parameters()) == 13


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1.0)


# --- state dicts -----------------------------------------------------------------------------
def test_state_dict_maps_names_to_floats_in_parameter_order():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert list(state.values()) == [p.data for p in model.parameters()]


def test_load_state_dict_sets_every_parameter_and_keeps_gradients():
    source, target = MLP(2, [3, 1], seed=1), MLP(2, [3, 1], seed=2)
    target.parameters()[0].grad = 4.0
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert target.parameters()[0].grad == 4.0


def test_load_state_dict_accepts_ints_and_other_real_numbers_as_floats():
    neuron = Neuron(2)
    neuron.load_state_dict({"w.0": 1, "w.1": Fraction(1, 4), "b": -2})
    assert neuron.state_dict() == {"w.0": 1.0, "w.1": 0.25, "b": -2.0}
    assert all(type(value) is float for value in neuron.state_dict().values())


def test_missing_and_unexpected_names_are_counted_and_a_few_named():
    model = MLP(2, [16, 16, 1], seed=0)
    state = model.state_dict()
    for name in list(state)[:5]:
        del state[name]
    state.update({f"extra.{i}": 0.0 for i in range(4)})
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "5 missing ('layers.0.neurons.0.w.0', 'layers.0.neurons.0.w.1', " in message
    assert "and 2 more" in message
    assert "4 unexpected ('extra.0', 'extra.1', 'extra.2' and 1 more)" in message


@pytest.mark.parametrize(
    "bad", [True, "0.5", None, [1.0], math.nan, math.inf, -math.inf, 10**400, 1 + 2j]
)
def test_a_value_that_is_not_a_finite_real_number_is_refused_by_name(bad):
    neuron = Neuron(2)
    with pytest.raises(ValueError, match=r"not finite real numbers \('w\.1': ") as error:
        neuron.load_state_dict({"w.0": 0.5, "w.1": bad, "b": 0.0})
    assert repr(bad) in str(error.value)


def test_a_failed_load_leaves_the_model_as_it_was():
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    good_then_bad = {name: 1.0 for name in before}
    good_then_bad[list(before)[-1]] = "oops"  # only the last entry is wrong
    for state in (good_then_bad, {**before, "stray": 0.0}, dict(list(before.items())[:-1])):
        with pytest.raises(ValueError):
            model.load_state_dict(state)
        assert model.state_dict() == before


def test_load_state_dict_wants_a_mapping():
    with pytest.raises(TypeError, match="expected a mapping of names to numbers, got list"):
        Neuron(1).load_state_dict([("w.0", 1.0), ("b", 0.0)])


# --- files -----------------------------------------------------------------------------------
def test_save_then_load_restores_class_config_and_every_float_bit_for_bit(tmp_path):
    model = awkward_model()
    model.save(tmp_path / "m.json")
    loaded = MLP.load(tmp_path / "m.json")
    assert type(loaded) is MLP and repr(loaded) == repr(model)
    assert bits(loaded) == bits(model)
    assert math.copysign(1.0, loaded.parameters()[2].data) == -1.0  # -0.0 stays negative
    assert loaded([0.3, -0.7]).data == model([0.3, -0.7]).data


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=13, max_size=13))
def test_any_finite_floats_survive_a_file_round_trip_bit_for_bit(values):
    model = MLP(2, [3, 1], seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), values)))
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "m.json")
        loaded = MLP.load(Path(folder) / "m.json")
    assert [value.hex() for value in loaded.state_dict().values()] == [v.hex() for v in values]


@pytest.mark.parametrize(
    "model",
    [
        Neuron(3, activation="gelu", init="he"),
        Layer(2, 4, activation="sigmoid"),
        MLP(3, [5, 2], activation=["tanh", "softplus"], init="xavier", seed=3),
    ],
    ids=repr,
)
def test_every_nn_module_round_trips_through_a_file(tmp_path, model):
    path = tmp_path / "model.json"
    model.save(str(path))
    loaded = Module.load(path)
    assert type(loaded) is type(model) and loaded.config() == model.config()
    assert bits(loaded) == bits(model)


def test_the_file_is_json_with_format_version_class_config_and_parameters(tmp_path):
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    model.save(tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document == {
        "format": "chainrule.nn model",
        "version": 1,
        "class": "MLP",
        "config": {"nin": 2, "nouts": [2, 1], "activation": "tanh", "init": "uniform"},
        "parameters": model.state_dict(),
    }


def test_loading_does_not_disturb_the_global_random_stream(tmp_path):
    MLP(2, [8, 1], seed=0).save(tmp_path / "m.json")
    random.seed(11)
    expected = random.random()
    random.seed(11)
    MLP.load(tmp_path / "m.json")
    assert random.random() == expected


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP.load(tmp_path / "nowhere.json")


def test_only_nn_modules_with_finite_parameters_can_be_saved(tmp_path):
    with pytest.raises(TypeError, match="not Tiny; save its state_dict"):
        Tiny().save(tmp_path / "tiny.json")
    model = MLP(2, [1], seed=0)
    model.parameters()[1].data = math.nan
    with pytest.raises(ValueError, match="'layers.0.neurons.0.w.1' is nan"):
        model.save(tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


def saved_document(tmp_path):
    MLP(2, [3, 1], seed=0).save(tmp_path / "good.json")
    return json.loads((tmp_path / "good.json").read_text())


def edited(change):
    """A test case: the saved document of MLP(2, [3, 1]) after `change(document)`."""

    def apply(document):
        change(document)
        return json.dumps(document)

    return apply


def set_key(key, value):
    return edited(lambda document: document.__setitem__(key, value))


def set_config(key, value):
    return edited(lambda document: document["config"].__setitem__(key, value))


def set_parameter(value):
    return edited(
        lambda document: document["parameters"].__setitem__("layers.0.neurons.0.b", value)
    )


def rename_parameter(document):
    document["parameters"]["layers.0.neurons.9.b"] = document["parameters"].pop(
        "layers.0.neurons.0.b"
    )


MALFORMED = {
    "not json": (lambda d: "{'format': ", "not JSON"),
    "empty file": (lambda d: "", "not JSON"),
    "nan token": (lambda d: json.dumps(d).replace("0.0", "NaN", 1), "NaN is not a JSON number"),
    "top level list": (lambda d: json.dumps([d]), "expected a JSON object, got list"),
    "missing key": (edited(lambda d: d.pop("config")), "missing: 'config'; unexpected: none"),
    "extra key": (set_key("comment", "hi"), "missing: none; unexpected: 'comment'"),
    "wrong format": (set_key("format", "pickle"), "format is 'pickle'"),
    "newer version": (set_key("version", 2), "version 2 is not supported; expected 1"),
    "version as text": (set_key("version", "1"), "version '1' is not supported"),
    "version as bool": (set_key("version", True), "version True is not supported"),
    "unknown class": (set_key("class", "os.system"), "unknown class 'os.system'; known: Neuron"),
    "class not a name": (set_key("class", ["MLP"]), r"unknown class \['MLP'\]"),
    "class mismatch": (set_key("class", "Layer"), "holds a Layer, but MLP.load was called"),
    "config a list": (set_key("config", [2, [3, 1]]), "config must be an object with the keys"),
    "config extra key": (set_config("seed", 0), "config must be an object with the keys"),
    "config missing key": (edited(lambda d: d["config"].pop("init")), "config must be an object"),
    "nin zero": (set_config("nin", 0), "bad config .*nin must be a positive int, got 0"),
    "nin text": (set_config("nin", "2"), "bad config .*nin must be a positive int, got str"),
    "nin bool": (set_config("nin", True), "bad config .*nin must be a positive int, got bool"),
    "nouts empty": (set_config("nouts", []), "bad config .*at least one layer size"),
    "nouts float": (set_config("nouts", [3.0, 1]), r"bad config .*nouts\[0\] must be a positive"),
    "unknown activation": (set_config("activation", "swish"), "unknown activation 'swish'"),
    "unknown init": (set_config("init", "zeros"), "unknown initializer 'zeros'"),
    "architecture mismatch": (
        set_config("nouts", [3, 2]),
        "has 17 parameters, but the file has 13",
    ),
    "parameters a list": (set_key("parameters", [0.5] * 13), "parameters must be an object"),
    "parameter renamed": (edited(rename_parameter), "1 missing .* 1 unexpected"),
    "parameter text": (set_parameter("0.5"), "not finite real numbers .*'0.5'"),
    "parameter null": (set_parameter(None), "not finite real numbers .*None"),
    "parameter bool": (set_parameter(False), "not finite real numbers .*False"),
    "parameter list": (set_parameter([0.5]), r"not finite real numbers .*\[0.5\]"),
    "parameter overflow": (
        lambda d: set_parameter(12345.5)(d).replace("12345.5", "1e999"),
        "not finite real numbers .*inf",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_file_is_refused_with_a_value_error_saying_what_is_wrong(tmp_path, case):
    make_text, message = MALFORMED[case]
    path = tmp_path / "bad.json"
    path.write_text(make_text(saved_document(tmp_path)))
    with pytest.raises(ValueError, match=message) as error:
        MLP.load(path)
    assert str(path) in str(error.value)


def test_a_binary_file_is_refused_as_not_json(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x80\x04\x95\xff\xfe\x00pickle")
    with pytest.raises(ValueError, match="not JSON"):
        Module.load(path)


def test_an_enormous_config_is_refused_by_its_parameter_count_without_building_it(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(set_config("nouts", [10**9, 10**9, 1])(saved_document(tmp_path)))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="but the file has 13"):
        MLP.load(path)
    assert time.perf_counter() - start < 1.0


# --- the layers of nn.layers.linear, nn.layers.norm, nn.layers.cells, nn.layers.rnn,
# nn.layers.embedding in files -------------
def trained_batch_norm():
    norm = BatchNorm1d(2, momentum=None)
    norm([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    return norm


LAYERS = [
    Linear(3, 2, seed=0),
    Linear(2, 2, bias=False, seed=1),
    Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), LeakyReLU(0.2), Dropout(0.25), Linear(3, 1)),
    Sequential(Sequential(Tanh(), Identity()), GELU(), SiLU(), Softplus(), Sigmoid(), ReLU()),
    trained_batch_norm(),
    BatchNorm1d(3, eps=1e-3, momentum=0.5, affine=False),
    RNNCell(2, 3, nonlinearity="relu", seed=0),
    LSTMCell(2, 2, bias=False, seed=0),
    GRUCell(1, 2, seed=0),
    RNN(2, 3, num_layers=2, nonlinearity="relu", seed=0),
    LSTM(1, 2, seed=0),
    GRU(2, 2, num_layers=2, bias=False, seed=0),
    Embedding(5, 3, seed=0),
]


@pytest.mark.parametrize("model", LAYERS, ids=lambda m: repr(m).replace("\n", " "))
def test_every_layer_round_trips_through_a_file_with_its_buffers(tmp_path, model):
    model.save(tmp_path / "layer.json")
    loaded = Module.load(tmp_path / "layer.json")
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert loaded.config() == model.config()
    assert loaded.state_dict() == model.state_dict()
    assert [type(v) for v in loaded.state_dict().values()] == [
        type(v) for v in model.state_dict().values()
    ]
    document = json.loads((tmp_path / "layer.json").read_text())
    assert document["parameters"] == model.state_dict()  # buffers travel with the parameters


def test_a_sequential_records_each_part_by_class_and_config():
    model = Sequential(Linear(2, 1, seed=0), LeakyReLU(0.5))
    assert model.config() == {
        "modules": [
            {"class": "Linear", "config": {"in_features": 2, "out_features": 1, "bias": True}},
            {"class": "LeakyReLU", "config": {"negative_slope": 0.5}},
        ]
    }


def test_a_sequential_holding_a_module_of_your_own_cannot_be_saved(tmp_path):
    with pytest.raises(TypeError, match="part 1 is a Tiny, not one of nn's own modules"):
        Sequential(Linear(1, 1), Tiny()).save(tmp_path / "mixed.json")
    assert not (tmp_path / "mixed.json").exists()


def test_a_loaded_model_starts_in_training_mode_whatever_mode_it_was_saved_in(tmp_path):
    model = Sequential(Linear(1, 1, seed=0), Dropout(0.5)).eval()
    model.save(tmp_path / "m.json")
    assert Module.load(tmp_path / "m.json").training


def test_load_state_dict_checks_buffers_like_parameters():
    norm = BatchNorm1d(1)
    state = norm.state_dict()
    with pytest.raises(ValueError, match=r"1 missing \('running_var.0'\)"):
        norm.load_state_dict({k: v for k, v in state.items() if k != "running_var.0"})
    with pytest.raises(ValueError, match=r"not finite real numbers \('running_mean.0': nan\)"):
        norm.load_state_dict(state | {"running_mean.0": math.nan})
    for count in (2.5, -1):
        with pytest.raises(ValueError, match=r"1 not counts \('num_batches_tracked': "):
            norm.load_state_dict(state | {"num_batches_tracked": count})
    norm.load_state_dict(state | {"num_batches_tracked": 4.0})
    assert norm.num_batches_tracked == 4 and type(norm.num_batches_tracked) is int
    assert norm.state_dict() == state | {"num_batches_tracked": 4}


def sequential_document(tmp_path):
    Sequential(Linear(2, 2, seed=0), BatchNorm1d(2)).save(tmp_path / "seq.json")
    return json.loads((tmp_path / "seq.json").read_text())


def set_part(i, key, value):
    return lambda d: d["config"]["modules"][i].__setitem__(key, value)


MALFORMED_SEQUENTIAL = {
    "modules not a list": (
        lambda d: d["config"].__setitem__("modules", {"0": {}}),
        "modules must be a list",
    ),
    "part not an object": (
        lambda d: d["config"]["modules"].__setitem__(0, "Linear"),
        r"modules\[0\] must be an object with the keys class, config",
    ),
    "unknown part": (set_part(1, "class", "eval"), r"modules\[1\]: unknown class 'eval'"),
    "part config keys": (
        set_part(0, "config", {"in_features": 2}),
        r"modules\[0\]: the config of Linear must have the keys in_features, out_features, bias",
    ),
    "bad part size": (
        lambda d: d["config"]["modules"][0]["config"].__setitem__("in_features", -2),
        "bad config .*in_features must be a positive int, got -2",
    ),
    "a buffer too few": (
        lambda d: d["parameters"].pop("1.num_batches_tracked"),
        "has 10 parameters and 5 buffer entries, but the file has 14",
    ),
    "a count that is not one": (
        lambda d: d["parameters"].__setitem__("1.num_batches_tracked", 0.5),
        r"not counts \('1.num_batches_tracked': 0.5\)",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_SEQUENTIAL)
def test_a_malformed_sequential_file_is_refused_saying_what_is_wrong(tmp_path, case):
    change, message = MALFORMED_SEQUENTIAL[case]
    document = sequential_document(tmp_path)
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=message):
        Sequential.load(path)


def test_an_enormous_layer_is_refused_by_its_parameter_count_without_building_it(tmp_path):
    document = sequential_document(tmp_path)
    document["config"]["modules"][0]["config"]["out_features"] = 10**9
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="but the file has 15"):
        Module.load(path)
    assert time.perf_counter() - start < 1.0
