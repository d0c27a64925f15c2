"""Datasets: small two-dimensional sets and mini-batching (`toy`), scikit-learn's 8x8 digits
(`load_digits`, an extra), MNIST-1D (`load_mnist1d`, an extra), sequence tasks for recurrent
networks (`sequences`), the census first names (`load_names`, an extra) with a character
tokenizer (`CharTokenizer`), and next-token examples for a language model
(`language_model_pairs`).

Every maker returns `(X, y)` and draws from `random.Random(seed)`: one seed, one dataset.
"""

from nn.data.batching import batches, check_data
from nn.data.digits import load_digits
from nn.data.language_model import language_model_pairs
from nn.data.mnist1d import load_mnist1d
from nn.data.names import load_names
from nn.data.sequences import (
    TEXT,
    CharCorpus,
    adding_problem,
    char_corpus,
    parity,
    sample_text,
    sine_wave,
)
from nn.data.sources import random_source
from nn.data.tokenizer import CharTokenizer
from nn.data.toy import Dataset, make_circles, make_moons, make_spirals, xor

__all__ = [
    "TEXT",
    "CharCorpus",
    "CharTokenizer",
    "Dataset",
    "adding_problem",
    "batches",
    "char_corpus",
    "check_data",
    "language_model_pairs",
    "load_digits",
    "load_mnist1d",
    "load_names",
    "make_circles",
    "make_moons",
    "make_spirals",
    "parity",
    "random_source",
    "sample_text",
    "sine_wave",
    "xor",
]
