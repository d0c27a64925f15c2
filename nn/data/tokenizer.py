"""`CharTokenizer`: characters to token ids and back, with one end-of-document token."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral


class CharTokenizer:
    """The distinct characters of some texts, sorted, as token ids 0..n-1, and one more token, id
    n, that marks where a document (a name) begins and ends, as microgpt's single special token.

    A language model reads `encode(name, ends=True)`, the name between two end tokens: from the
    first it predicts the name's first character, and after the name's last it should predict
    the end. The end token decodes to its text `end` ("\\n" unless given), which must not be a
    character of the texts.

    >>> tokenizer = CharTokenizer(["emma", "ava"])
    >>> tokenizer.vocab, tokenizer.vocab_size, tokenizer.end_id
    (('a', 'e', 'm', 'v', '\\n'), 5, 4)
    >>> tokenizer.encode("ava"), tokenizer.encode("ava", ends=True)
    ([0, 3, 0], [4, 0, 3, 0, 4])
    >>> tokenizer.decode([1, 2, 2, 0, 4])
    'emma\\n'
    """

    def __init__(self, texts: Iterable[str], end: str = "\n") -> None:
        if isinstance(texts, str):
            texts = [texts]
        characters: set[str] = set()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"CharTokenizer: texts[{i}] must be a string, got {type(text).__name__}"
                )
            characters.update(text)
        if not characters:
            raise ValueError("CharTokenizer: the texts hold no characters")
        if not isinstance(end, str) or len(end) != 1:
            raise ValueError(f"CharTokenizer: end must be one character, got {end!r}")
        if end in characters:
            raise ValueError(
                f"CharTokenizer: the end token {end!r} occurs in the texts; pass another end"
            )
        self.end = end
        self.vocab: tuple[str, ...] = (*sorted(characters), end)
        self.end_id = len(self.vocab) - 1
        self._ids = {char: i for i, char in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        """The number of tokens: the characters and the end token."""
        return len(self.vocab)

    def encode(self, text: str, ends: bool = False) -> list[int]:
        """The id of each character of `text` (the end character gives the end token); with
        `ends=True`, between two end tokens, as a model trains on a document."""
        if not isinstance(text, str):
            raise TypeError(f"encode: text must be a string, got {type(text).__name__}")
        ids = self._ids
        unknown = sorted({char for char in text if char not in ids})
        if unknown:
            raise ValueError(f"encode: characters not in the vocabulary: {unknown!r}")
        encoded = [ids[char] for char in text]
        return [self.end_id, *encoded, self.end_id] if ends else encoded

    def decode(self, ids: Sequence[int]) -> str:
        """The text of these token ids, the end token as `end`."""
        size = len(self.vocab)
        for t, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, Integral):
                raise TypeError(f"decode: ids[{t}] must be an int, got {type(i).__name__} {i!r}")
        unknown = sorted({int(i) for i in ids if not 0 <= i < size})
        if unknown:
            raise ValueError(
                f"decode: ids not in the vocabulary of {size} tokens (0..{size - 1}): {unknown}"
            )
        return "".join(self.vocab[i] for i in ids)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, end={self.end!r})"
