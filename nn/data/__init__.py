"""Datasets: small two-dimensional sets and mini-batching (`toy`), scikit-learn's 8x8 digits
(`load_digits`, an extra), and sequence tasks for recurrent networks (`sequences`).

Every maker returns `(X, y)` and draws from `random.Random(seed)`: one seed, one dataset.
"""

from nn.data.sequences import (
    TEXT,
    CharCorpus,
    adding_problem,
    char_corpus,
    parity,
    sample_text,
    sine_wave,
)
from nn.data.toy import (
    Dataset,
    batches,
    check_data,
    load_digits,
    make_circles,
    make_moons,
    make_spirals,
    random_source,
    xor,
)

__all__ = [
    "TEXT",
    "CharCorpus",
    "Dataset",
    "adding_problem",
    "batches",
    "char_corpus",
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
