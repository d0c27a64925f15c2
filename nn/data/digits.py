"""scikit-learn's bundled 8x8 digits, as lists of floats (an extra: scikit-learn)."""

from __future__ import annotations

from nn.data.toy import Dataset


def load_digits() -> Dataset:
    """The 8x8 images of handwritten digits that ship inside scikit-learn: 1,797 of them, read
    from scikit-learn's own files (no download).

    `X` holds 64 pixel intensities per image, row by row, scaled from 0..16 to [0, 1]; `y` the
    digit, 0 to 9 (about 180 of each). Needs scikit-learn: pip install "chainrule[digits]".

    >>> X, y = load_digits()
    >>> len(X), len(X[0]), sorted(set(y)) == list(range(10)), max(max(x) for x in X)
    (1797, 64, True, 1.0)
    """
    try:
        from sklearn.datasets import load_digits as bundled_digits
    except ImportError as error:
        raise ImportError(
            'load_digits needs scikit-learn: pip install "chainrule[digits]"'
        ) from error
    digits = bundled_digits()
    return (digits.data / 16.0).tolist(), [int(label) for label in digits.target]
