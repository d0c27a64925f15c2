"""Sequence tasks for recurrent networks: the adding problem, parity, a sine wave, characters.

Each task is seeded like the datasets of `nn.data` (`random.Random(seed)`, or the global
`random` with no seed). A sequence is a list of steps, each a list of numbers, as `nn.RNN`,
`nn.LSTM` and `nn.GRU` read it. Models of a sequence that carry a state from one call to the
next follow one convention here and in `nn.train.truncated_bptt`:
`model(inputs, state) -> (outputs, state)`, one output per input, `state` None at the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from autograd import no_grad
from nn.data.sources import noise_level, positive_int, random_source
from nn.losses import softmax

Sequences = tuple[list[list[list[float]]], list[Any]]

TEXT = """\
the cat sat on the mat. the dog sat on the log.
the cat saw the dog, and the dog saw the cat.
a net learns by its errors: it runs forward, it looks back,
and it nudges each weight a little against its gradient.
the cat sat on the mat. the dog sat on the log.
"""
"""A short text, written for this project, for next-character prediction: small enough to
learn in a minute on the scalar engine, repetitive enough that a model can learn its words."""


def adding_problem(n: int = 100, length: int = 20, seed: int | None = None) -> Sequences:
    """Hochreiter and Schmidhuber's adding problem: add the two marked numbers of a sequence.

    Each of the `n` sequences has `length` steps `[value, marker]`: the values are uniform in
    [0, 1), and the marker is 1.0 at two steps, one in the first half and one in the second,
    0.0 elsewhere. The target is the sum of the two marked values. The first mark can lie up to
    `length - 1` steps before the end: a model must carry a number that far. Always answering
    the mean, 1, scores a mean squared error of about 1/6.

    >>> X, y = adding_problem(1, length=4, seed=0)
    >>> steps = X[0]
    >>> len(steps), sum(marker for _, marker in steps)
    (4, 2.0)
    >>> y[0] == sum(value for value, marker in steps if marker)
    True
    """
    n = positive_int(n, "adding_problem", "n")
    length = positive_int(length, "adding_problem", "length")
    if length < 2:
        raise ValueError(f"adding_problem: length must be at least 2 (two marks), got {length}")
    rng, half = random_source(seed), length // 2
    X, y = [], []
    for _ in range(n):
        values = [rng.random() for _ in range(length)]
        marked = (rng.randrange(half), rng.randrange(half, length))
        X.append([[value, 1.0 if t in marked else 0.0] for t, value in enumerate(values)])
        y.append(values[marked[0]] + values[marked[1]])
    return X, y


def parity(n: int = 100, length: int = 8, seed: int | None = None) -> Sequences:
    """Bit streams labelled by their parity: 1 when the stream holds an odd number of ones.

    Each of the `n` sequences has `length` steps `[bit]`, bits 0.0 or 1.0 with even odds. No
    single bit says anything about the label: a model must carry one bit of state through
    the whole stream, flipping it at every one.

    >>> X, y = parity(3, length=5, seed=0)
    >>> [int(sum(bit for [bit] in stream)) % 2 for stream in X] == y
    True
    """
    n = positive_int(n, "parity", "n")
    length = positive_int(length, "parity", "length")
    rng = random_source(seed)
    X = [[[float(rng.random() < 0.5)] for _ in range(length)] for _ in range(n)]
    return X, [int(sum(bit for [bit] in stream)) % 2 for stream in X]


def sine_wave(
    length: int = 200, period: float = 20.0, noise: float = 0.0, seed: int | None = None
) -> tuple[list[list[float]], list[float]]:
    """One long sequence to predict a step ahead: X[t] = [s_t] and y[t] = s_{t+1}.

    s_t = sin(2 pi t / period) plus Gaussian noise of standard deviation `noise`; `length`
    steps. One value does not tell a rising sine from a falling one: the model needs memory of
    the step before.

    >>> X, y = sine_wave(length=5, period=4.0)
    >>> [round(x, 6) for [x] in X], X[1][0] == y[0]
    ([0.0, 1.0, 0.0, -1.0, -0.0], True)
    """
    length = positive_int(length, "sine_wave", "length")
    if isinstance(period, bool) or not isinstance(period, Real):
        raise TypeError(f"sine_wave: period must be a real number, got {period!r}")
    if not 0.0 < period < math.inf:
        raise ValueError(f"sine_wave: period must be a positive finite number, got {period!r}")
    noise = noise_level(noise, "sine_wave")
    rng = random_source(seed)
    wave = [math.sin(2.0 * math.pi * t / period) for t in range(length + 1)]
    if noise:
        wave = [s + rng.gauss(0.0, noise) for s in wave]
    return [[s] for s in wave[:-1]], wave[1:]


@dataclass(frozen=True)
class CharCorpus:
    """A text, its vocabulary (its distinct characters, sorted) and their indices.

    >>> corpus = char_corpus("abba")
    >>> corpus.vocabulary, corpus.encode("ab"), corpus.decode([1, 0])
    ('ab', [0, 1], 'ba')
    >>> corpus.next_character_data()
    ([0, 1, 1], [1, 1, 0])
    """

    text: str
    vocabulary: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocabulary", "".join(sorted(set(self.text))))

    def encode(self, text: str) -> list[int]:
        """The index of each character of `text` in the vocabulary."""
        unknown = sorted(set(text) - set(self.vocabulary))
        if unknown:
            raise ValueError(f"encode: characters not in the vocabulary: {unknown!r}")
        return [self.vocabulary.index(char) for char in text]

    def decode(self, indices: Sequence[int]) -> str:
        """The characters at these indices of the vocabulary (each in 0..len(vocabulary) - 1)."""
        size = len(self.vocabulary)
        for t, i in enumerate(indices):
            if isinstance(i, bool) or not isinstance(i, Integral):
                kind = type(i).__name__
                raise TypeError(f"decode: indices[{t}] must be an int, got {kind} {i!r}")
            if not 0 <= i < size:
                raise IndexError(
                    f"decode: indices[{t}] = {i} is out of range for a vocabulary of {size}"
                )
        return "".join(self.vocabulary[i] for i in indices)

    def next_character_data(self) -> tuple[list[int], list[int]]:
        """(X, y): every character's index, and the index of the character after it."""
        indices = self.encode(self.text)
        return indices[:-1], indices[1:]


def char_corpus(text: str | None = None) -> CharCorpus:
    """The characters of `text` (the built-in `TEXT` when None) for next-character prediction.

    >>> len(char_corpus().vocabulary) < 30
    True
    """
    text = TEXT if text is None else text
    if not isinstance(text, str):
        raise TypeError(f"char_corpus: text must be a string, got {type(text).__name__}")
    if len(text) < 2:
        raise ValueError(
            f"char_corpus: text must be a string of 2 characters or more, got {text!r}"
        )
    return CharCorpus(text)


def sample_text(
    model: Callable[[list[int], Any], tuple[list[Any], Any]],
    corpus: CharCorpus,
    prompt: str,
    length: int,
    temperature: float = 1.0,
    seed: int | None = None,
) -> str:
    """`prompt` and `length` characters after it, drawn one at a time from a character model.

    `model(indices, state) -> (logits, state)` gives one list of logits over `corpus`'s
    vocabulary per index read. The prompt is read first; then each character is drawn from
    softmax(logits / temperature) of the last step and fed back. A low temperature sharpens the
    choice towards the likeliest character. No graph is recorded.

    >>> corpus = char_corpus("ab")
    >>> always_b = lambda indices, state: ([[-9.0, 9.0] for _ in indices], state)
    >>> sample_text(always_b, corpus, "a", 3, seed=0)
    'abbb'
    """
    length = positive_int(length, "sample_text", "length")
    if isinstance(temperature, bool) or not isinstance(temperature, Real):
        raise TypeError(f"sample_text: temperature must be a real number, got {temperature!r}")
    if not temperature > 0:
        raise ValueError(f"sample_text: temperature must be positive, got {temperature!r}")
    if not prompt:
        raise ValueError("sample_text: prompt must hold at least one character")
    rng, text, state = random_source(seed), prompt, None
    with no_grad():
        logits, state = model(corpus.encode(prompt), state)
        for _ in range(length):
            weights = [float(p) for p in softmax([float(z) / temperature for z in logits[-1]])]
            index = rng.choices(range(len(weights)), weights=weights)[0]
            text += corpus.vocabulary[index]
            logits, state = model([index], state)
    return text
