"""nn's layers, one family a file: micrograd's networks (`mlp`), PyTorch's `linear` layers and
`activation` modules, `dropout`, `norm` (batch normalisation), `embedding`, recurrent `cells` and
the `rnn` wrappers that run them over sequences, `layer_norm` (LayerNorm, RMSNorm) and
`attention` (its masks read in `attention_masks`), `conv` and `pooling` (with Flatten) for
convolutional networks (`windows` holds their sliding-window arithmetic); `arguments` holds the
checks their constructors share.

Each class registers itself with `nn.model_files` where it is defined (`@saveable`), so model
files name the classes in the order they are imported here: micrograd's first.
"""

# isort: off
from nn.layers.mlp import ACTIVATIONS, MLP, Layer, Neuron
from nn.layers.linear import Linear, Sequential
from nn.layers.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from nn.layers.dropout import Dropout
from nn.layers.norm import BatchNorm1d
from nn.layers.cells import GRUCell, LSTMCell, RNNCell
from nn.layers.rnn import GRU, LSTM, RNN
from nn.layers.embedding import Embedding
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.attention import MultiheadAttention
from nn.layers.conv import Conv1d, Conv2d
from nn.layers.pooling import AvgPool1d, AvgPool2d, Flatten, MaxPool1d, MaxPool2d
# isort: on

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "GRU",
    "LSTM",
    "MLP",
    "RNN",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRUCell",
    "Identity",
    "LSTMCell",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "MultiheadAttention",
    "Neuron",
    "RMSNorm",
    "RNNCell",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
]
