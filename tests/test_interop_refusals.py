"""What to_torch and from_torch refuse: a module with no counterpart, named with its class and
where it sits in the model (`model.3`), and settings nn's layers do not have."""

import pytest

from nn import LSTM, MLP, Dropout, Linear, Module, ReLU, Sequential, from_torch, to_torch

# --- to_torch -----------------------------------------------------------------------------------
torch = pytest.importorskip("torch", reason='PyTorch is an extra: pip install "chainrule[torch]"')


class Scale(Module):
    """A module of one's own: nothing in PyTorch corresponds to it."""

    def forward(self, x):
        return [2.0 * v for v in x]


class MyLinear(Linear):
    pass


def test_to_torch_refuses_a_module_of_your_own_naming_where_it_sits():
    with pytest.raises(TypeError, match=r"model is a .*Scale, which has no PyTorch counterpart"):
        to_torch(Scale())
    model = Sequential(Linear(2, 2), Sequential(ReLU(), MyLinear(2, 1)))
    with pytest.raises(TypeError, match=r"model\.1\.1 is a .*MyLinear"):
        to_torch(model)


def test_to_torch_checks_its_arguments():
    with pytest.raises(TypeError, match="floating torch dtype, got torch.int64"):
        to_torch(Linear(1, 1), dtype=torch.int64)
    with pytest.raises(TypeError, match="expected an nn Module, got Linear"):
        to_torch(torch.nn.Linear(1, 1))


# --- from_torch ---------------------------------------------------------------------------------
class Net(torch.nn.Module):
    def forward(self, x):
        return x


class TorchLinear(torch.nn.Linear):
    pass


def test_from_torch_refuses_a_layer_nn_does_not_have_naming_where_it_sits():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Conv3d(1, 1, 2)
    )
    with pytest.raises(TypeError, match=r"model\.3 is a torch\.nn\.Conv3d, which has no"):
        from_torch(model)
    nested = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Softmax(dim=1)))
    with pytest.raises(TypeError, match=r"model\.0\.0 is a .*Softmax, which has no counterpart"):
        from_torch(nested)


@pytest.mark.parametrize("module", [Net(), TorchLinear(2, 2)], ids=["own", "subclass"])
def test_from_torch_refuses_modules_of_your_own_and_subclasses(module):
    with pytest.raises(TypeError, match=f"model is a .*{type(module).__name__}, which has no"):
        from_torch(module)


SETTINGS_NN_LACKS = [
    (lambda: torch.nn.LSTM(2, 3, bidirectional=True), "bidirectional=True"),
    (lambda: torch.nn.GRU(2, 3, batch_first=True), "batch_first=True"),
    (lambda: torch.nn.RNN(2, 3, num_layers=2, dropout=0.5), "dropout=0.5"),
    (lambda: torch.nn.LSTM(2, 3, proj_size=2), "proj_size=2"),
    (lambda: torch.nn.GELU(approximate="tanh"), "approximate='tanh'"),
    (lambda: torch.nn.Softplus(beta=2.0), "beta=2.0"),
    (lambda: torch.nn.BatchNorm1d(3, track_running_stats=False), "track_running_stats=False"),
    (lambda: torch.nn.Embedding(5, 2, padding_idx=0), "padding_idx=0"),
    (lambda: torch.nn.Embedding(5, 2, max_norm=1.0), "max_norm=1.0"),
]


@pytest.mark.parametrize("make, setting", SETTINGS_NN_LACKS, ids=[s for _, s in SETTINGS_NN_LACKS])
def test_from_torch_refuses_a_setting_nn_does_not_have_naming_it(make, setting):
    model = torch.nn.Sequential(torch.nn.Identity(), make())
    with pytest.raises(ValueError, match=rf"from_torch: model\.1 \(\w+\): .*{setting}"):
        from_torch(model)


def test_from_torch_refuses_a_twin_whose_layers_were_changed():
    twin = to_torch(MLP(2, [3, 1]))
    twin[1] = torch.nn.Sigmoid()  # no longer the relu MLP it says it is
    with pytest.raises(ValueError, match="layers were changed after it was made"):
        from_torch(twin)


def test_from_torch_checks_its_argument():
    with pytest.raises(TypeError, match="expected a torch.nn.Module, got MLP"):
        from_torch(MLP(1, [1]))


def test_a_refused_conversion_leaves_the_global_random_stream_as_it_was():
    import random

    state = random.getstate()
    with pytest.raises(TypeError):
        from_torch(torch.nn.Sequential(torch.nn.Linear(50, 50), Net()))
    assert random.getstate() == state


def test_layers_keep_their_settings_across():
    lstm = "LSTM(2, 3, num_layers=2, bias=False)"
    assert repr(from_torch(torch.nn.LSTM(2, 3, num_layers=2, bias=False))) == lstm
    assert repr(to_torch(LSTM(2, 3, num_layers=2, bias=False))) == lstm
    assert repr(to_torch(Dropout(0.25))) == "Dropout(p=0.25, inplace=False)"


def _batch_norm_with(buffer, tensor):
    norm = torch.nn.BatchNorm1d(2)
    setattr(norm, buffer, tensor)
    return norm


BUFFERS_OF_ANOTHER_SHAPE = [
    ("running_mean", torch.arange(5.0), r"model\.running_mean has shape \[5\], expected \[2\]"),
    ("running_var", torch.ones(2, 1), r"model\.running_var has shape \[2, 1\], expected \[2\]"),
    ("num_batches_tracked", torch.tensor([3]), r"tracked has shape \[1\], expected \[\]"),
]


@pytest.mark.parametrize("buffer, tensor, message", BUFFERS_OF_ANOTHER_SHAPE)
def test_from_torch_refuses_a_buffer_of_another_shape_than_the_layer(buffer, tensor, message):
    # a running_mean of 5 for 2 features once loaded as it was, and eval mode then read its
    # tail as the scales: a silently wrong output
    with pytest.raises(ValueError, match=message):
        from_torch(_batch_norm_with(buffer, tensor))


def test_from_torch_refuses_complex_and_meta_tensors_naming_them():
    with pytest.raises(TypeError, match=r"model\.weight holds complex numbers"):
        from_torch(torch.nn.Linear(2, 1, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"model\.0\.weight is on the meta device"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 1, device="meta")))


@pytest.mark.parametrize("twin", ["MLP", "Layer", "Neuron"])
def test_a_torch_twin_refuses_an_unknown_initializer_when_made(twin):
    # it was kept, and refused only when from_torch brought the model back
    from nn.interop import torch_modules

    sizes = {"MLP": (2, [3]), "Layer": (2, 3), "Neuron": (2,)}[twin]
    with pytest.raises(ValueError, match="unknown initializer 'normal'; known: 'uniform'"):
        getattr(torch_modules, twin)(*sizes, init="normal")
