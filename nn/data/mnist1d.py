"""MNIST-1D (Greydanus and Kobak, "Scaling down deep learning with MNIST-1D"), made offline by the
`mnist1d` package's own generator (an extra: mnist1d)."""

from __future__ import annotations

import random
from typing import Any

from nn.data.toy import Dataset
from nn.extras import require

_MADE: dict[tuple[bool, int], Any] = {}  # (shuffle, seed) -> the generator's arrays, this process


def load_mnist1d(shuffle: bool = False, seed: int = 42) -> tuple[Dataset, Dataset]:
    """MNIST-1D's 4,000 training and 1,000 test signals: `((X, y), (X_test, y_test))`.

    Each signal is a list of 40 floats, each label a digit 0 to 9 (about 400 of each in
    training). The data are made, not downloaded, by the `mnist1d` package's generator
    (`mnist1d.data.make_dataset`) with its default arguments, `seed` among them (42, the
    paper's): a template of each digit padded, dilated, scaled, translated, noised with
    correlated and independent noise, sheared and resampled to 40 points, the whole set then
    centred and scaled to standard deviation 1. `shuffle=True` is the paper's shuffled row: the
    generator's one fixed random permutation of the 40 positions, applied to every signal (the
    same examples and labels, in the same order), which leaves an MLP's accuracy as it was and
    takes a convolution's away. For Conv1d, `[signal]` is one example of 1 channel x 40.

    Making the set takes about 5 seconds (importing `mnist1d`, which imports SciPy and
    matplotlib, a few more); it is kept in memory for the rest of the process, never on disk,
    and every call returns fresh lists. Python's and NumPy's global random streams, which the
    generator seeds, are put back as they were. Needs mnist1d: pip install "chainrule[mnist1d]".

    >>> (X, y), (X_test, y_test) = load_mnist1d()
    >>> len(X), len(X_test), len(X[0]), sorted(set(y)) == list(range(10))
    (4000, 1000, 40, True)
    """
    if not isinstance(shuffle, bool):
        raise TypeError(f"load_mnist1d: shuffle must be True or False, got {shuffle!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"load_mnist1d: seed must be an int, got {type(seed).__name__} {seed!r}")
    if (shuffle, seed) not in _MADE:
        _MADE[shuffle, seed] = _make(shuffle, seed)
    made = _MADE[shuffle, seed]
    train = (made["x"].tolist(), [int(label) for label in made["y"]])
    test = (made["x_test"].tolist(), [int(label) for label in made["y_test"]])
    return train, test


def _make(shuffle: bool, seed: int) -> dict[str, Any]:
    data = require("mnist1d", "mnist1d", "load_mnist1d").data
    numpy = require("numpy", "mnist1d", "load_mnist1d")
    args = data.get_dataset_args()
    args.shuffle_seq, args.seed = shuffle, seed
    python_state, numpy_state = random.getstate(), numpy.random.get_state()
    try:  # the generator seeds both global streams (mnist1d.utils.set_seed)
        return data.make_dataset(args)
    finally:
        random.setstate(python_state)
        numpy.random.set_state(numpy_state)
