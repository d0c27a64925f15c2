"""Datasets: small two-dimensional sets and mini-batching (`toy`), scikit-learn's 8x8 digits
(`load_digits`, an extra), sequence tasks for recurrent networks (`sequences`), and next-token
examples for a language model (`language_model_pairs`).

Every maker returns `(X, y)` and draws from `random.Random(seed)`: one seed, one dataset.
"""

from nn.data.batching import batches, check_data
from nn.data.digits import load_digits
from nn.data.language_model import language_model_pairs
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
from nn.data.toy import Dataset, make_circles, make_moons, make_spirals, xor

__all__ = [
    "TEXT",
    "CharCorpus",
    "Dataset",
    "adding_problem",
    "batches",
    "char_corpus",
    "language_model_pairs",
    "check_data",
    "load_digits",
    "make_circles",
    "make_moons",
    "make_spirals",
    "parity",
    "random_source",
    "sample_text",
    "sine_wave",
    "xor",
]
