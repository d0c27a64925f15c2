"""scikit-learn's bundled 8x8 digits, as lists of floats (an extra: scikit-learn)."""

from __future__ import annotations

from typing import Any

from nn.data.toy import Dataset


def load_digits(images: bool = False) -> Dataset | tuple[list[Any], list[int]]:
    """The 8x8 images of handwritten digits that ship inside scikit-learn: 1,797 of them, read
    from scikit-learn's own files (no download).

    `X` holds 64 pixel intensities per image, row by row, scaled from 0..16 to [0, 1]; `y` the
    digit, 0 to 9 (about 180 of each). With `images=True` each image is 1 x 8 x 8 nested lists
    (one channel of 8 rows of 8), one example for `Conv2d`. Needs scikit-learn:
    pip install "chainrule[digits]".

    >>> X, y = load_digits()
    >>> len(X), len(X[0]), sorted(set(y)) == list(range(10)), max(max(x) for x in X)
    (1797, 64, True, 1.0)
    >>> images, _ = load_digits(images=True)
    >>> len(images[0]), len(images[0][0]), images[0][0][1] == X[0][8:16]
    (1, 8, True)
    """
    if not isinstance(images, bool):
        raise TypeError(f"load_digits: images must be True or False, got {images!r}")
    try:
        from sklearn.datasets import load_digits as bundled_digits
    except ImportError as error:
        raise ImportError(
            'load_digits needs scikit-learn: pip install "chainrule[digits]"'
        ) from error
    digits = bundled_digits()
    pixels = digits.data / 16.0
    if images:
        pixels = pixels.reshape(-1, 1, 8, 8)
    return pixels.tolist(), [int(label) for label in digits.target]
