"""The demos, run as `python -m nn.demo` (micrograd's moons, `moons`),
`python -m nn.demo --digits` (scikit-learn's 8x8 digits through a tape, `digits`) and
`python -m nn.demo --gpt` (microgpt's model on the census names, `gpt`).
Nothing else in nn imports them.
"""

from nn.demo.moons import main, tanh_neuron

__all__ = ["main", "tanh_neuron"]
