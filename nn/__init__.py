"""chainrule's nn: micrograd-style neural networks on the autograd engine.

Losses, optimisers, datasets and the training loop live in `nn.losses`, `nn.optim`, `nn.data`
and `nn.train`.

>>> from nn import MLP
>>> model = MLP(2, [4, 1], seed=0)
>>> model([1.0, 2.0]).backward()
>>> len(model.parameters())
17
"""

from nn.init import INITIALIZERS, he_normal, initializer, uniform, xavier_uniform
from nn.layers import ACTIVATIONS, MLP, Layer, Neuron
from nn.module import Module

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "MLP",
    "Layer",
    "Module",
    "Neuron",
    "he_normal",
    "initializer",
    "uniform",
    "xavier_uniform",
]
