"""chainrule's nn: micrograd-style neural networks on the autograd engine, and PyTorch-style layers.

Losses, optimisers, datasets and the training loop live in `nn.losses`, `nn.optim`, `nn.data`
and `nn.train`. `to_torch`, `from_torch` and `export_onnx` move models to and from PyTorch and
to ONNX; they import PyTorch or onnx when called, so `import nn` needs neither.

>>> from nn import MLP
>>> model = MLP(2, [4, 1], seed=0)
>>> model([1.0, 2.0]).backward()
>>> len(model.parameters())
17
"""

from nn.init import INITIALIZERS, he_normal, initializer, uniform, xavier_uniform
from nn.interop.onnx_export import export_onnx
from nn.interop.pytorch import from_torch, to_torch
from nn.layers.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from nn.layers.attention import MultiheadAttention
from nn.layers.cells import GRUCell, LSTMCell, RNNCell
from nn.layers.conv import Conv1d, Conv2d
from nn.layers.dropout import Dropout
from nn.layers.embedding import Embedding
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.linear import Linear, Sequential
from nn.layers.mlp import ACTIVATIONS, MLP, Layer, Neuron
from nn.layers.norm import BatchNorm1d
from nn.layers.pooling import AvgPool1d, AvgPool2d, Flatten, MaxPool1d, MaxPool2d
from nn.layers.rnn import GRU, LSTM, RNN
from nn.models.gpt import GPT
from nn.module import Module

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "GPT",
    "GRU",
    "INITIALIZERS",
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
    "Module",
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
    "export_onnx",
    "from_torch",
    "he_normal",
    "initializer",
    "to_torch",
    "uniform",
    "xavier_uniform",
]
