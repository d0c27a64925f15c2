"""Every rule's array form runs on PyTorch tensors through `autograd.tape.torch_backend` and agrees
with its float form entry for entry, as on NumPy arrays: values, local derivatives, and the
exceptions of domain errors, NaN and infinities included."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_arrays import (
    FIXED_DOMAINS,
    SPECIAL,
    STACKED_GROUPS,
    TABLE,
    as_arrays,
    batches_for,
    close,
    float_call,
    outcome,
    same,
    terms_scale,
)

from autograd import rules

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
arrays = pytest.importorskip("autograd.tape.arrays")


def tensors(*inputs):
    return tuple(torch.as_tensor(x, dtype=torch.float64) for x in inputs)


def on_host(found):
    """A result (a tensor, or a tuple of tensors and numbers) as NumPy arrays, for `same`."""
    if isinstance(found, tuple):
        return tuple(on_host(x) for x in found)
    return found.numpy() if isinstance(found, torch.Tensor) else found


@pytest.mark.parametrize("name", sorted(TABLE))
@given(data=st.data())
def test_array_form_on_tensors_equals_the_float_form_entry_for_entry(name, data):
    rule = TABLE[name]
    examples = data.draw(batches_for(name))
    inputs = tensors(*as_arrays(rule, examples))
    out = arrays.forward(rule, *inputs)
    locals_ = arrays.derivatives(rule, out, *inputs)
    assert type(out) is torch.Tensor and out.dtype == torch.float64
    assert tuple(out.shape) == (len(examples),)
    for j, example in enumerate(examples):
        expected, expected_locals = float_call(rule, example)
        assert close(float(out[j]), expected, terms_scale(rule, example))
        for local, expected_local in zip(locals_, expected_locals):
            local = np.asarray(on_host(local), dtype=float)
            entry = np.broadcast_to(local, np.broadcast_shapes(local.shape, (len(examples),)))
            if rule.stacked:
                assert all(close(float(a), b, 1.0) for a, b in zip(entry[:, j], expected_local))
            else:
                assert close(float(entry[j]), expected_local, 1.0)


def on_tensors(call):
    return lambda *args: on_host(call(*args))


@pytest.mark.parametrize("name", sorted(FIXED_DOMAINS))
def test_nan_infinities_and_domain_edges_on_tensors_give_the_eager_value_or_exception(name):
    rule = TABLE[name]
    for entry in itertools.product(SPECIAL, repeat=len(FIXED_DOMAINS[name])):
        expected = outcome(rule.forward, *entry)
        inputs = tensors(*([x] for x in entry))
        assert same(outcome(on_tensors(arrays.forward), rule, *inputs), expected), entry
        if expected[0] == "value":
            out = expected[1]
            float_locals = outcome(rule.derivatives, out, *entry)
            found = outcome(on_tensors(arrays.derivatives), rule, *tensors([out]), *inputs)
            assert same(found, float_locals), (entry, found, float_locals)


@pytest.mark.parametrize("name", sorted(STACKED_GROUPS))
def test_n_ary_rules_on_tensors_give_the_eager_value_or_exception_with_nan_and_infinities(name):
    rule = TABLE[name]
    for a, b in itertools.product(SPECIAL, repeat=2):
        groups = ((a, b), (b, a))[: STACKED_GROUPS[name]]
        expected = outcome(lambda g: float_call(rule, g)[0], groups)
        inputs = tensors(*(np.array(group)[:, None] for group in groups))
        assert same(outcome(on_tensors(arrays.forward), rule, *inputs), expected), groups


def test_a_domain_error_on_a_tensor_names_the_op_the_value_and_the_example():
    with pytest.raises(ValueError, match=r"log\(0.0\) needs a positive number \(example 2 of"):
        arrays.forward(rules.LOG, torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64))


def test_numpy_and_torch_namespaces_offer_the_same_names_those_the_rules_may_call():
    from autograd.tape.torch_backend import TorchNamespace

    listed = rules.__doc__.split("this\nmodule imports neither.")[1].split("which the standard")[0]
    for_torch = {name for name in dir(TorchNamespace) if not name.startswith("_")}
    assert set(vars(arrays.NUMPY_NAMESPACE)) == for_torch
    assert all(f" {name}" in listed.replace("\n", " ") for name in for_torch)
