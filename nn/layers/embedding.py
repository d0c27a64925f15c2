"""Embedding: a lookup table of learned vectors, one per token (a character, a word)."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

from autograd import Value
from nn.layers.arguments import positive_size, random_source_for
from nn.model_files import saveable
from nn.module import Module
from nn.tape_requests import tracing


@saveable
class Embedding(Module):
    """`num_embeddings` vectors of `embedding_dim` parameters; `embedding(i)` is row i.

    The rows start from N(0, 1), as PyTorch's do, drawn row by row from `random.Random(seed)`
    (the global `random` when None). A list of indices gives a list of rows, so a sequence of
    token indices becomes the sequence of vectors a recurrent layer reads. The rows returned
    are the parameters themselves: the gradient of a row adds up over every place it is used.
    Compiled (`fit(..., compile=True)`), an index that is an entry of the model's input becomes a
    one-hot argument of the tape, and the row its product with the table (`nn.tape_requests`).

    >>> table = Embedding(10, 3, seed=0)
    >>> len(table(4)), len(table([1, 2, 1])), table(4) == table.weight[4]
    (3, 3, True)
    """

    config_keys = ("num_embeddings", "embedding_dim")

    def __init__(self, num_embeddings: int, embedding_dim: int, *, seed: int | None = None) -> None:
        self.num_embeddings = positive_size("num_embeddings", num_embeddings)
        self.embedding_dim = positive_size("embedding_dim", embedding_dim)
        rng = random_source_for(seed)
        self.weight = [
            [Value(rng.gauss(0.0, 1.0)) for _ in range(self.embedding_dim)]
            for _ in range(self.num_embeddings)
        ]

    def forward(self, input: int | Sequence[int]) -> list[Value] | list[list[Value]]:
        if isinstance(input, (list, tuple)):
            return [self._row(index, f"input[{t}]") for t, index in enumerate(input)]
        return self._row(input, "input")

    def _row(self, index: Any, where: str) -> list[Value]:
        run = tracing()
        if isinstance(index, Value) and run is not None:  # compiled: a one-hot product
            return run.lookup(index, self.weight, f"{self!r} {where}")
        if isinstance(index, bool) or not isinstance(index, Integral):
            raise TypeError(
                f"{self!r}: {where} must be an int index, got {type(index).__name__} {index!r}"
            )
        if not 0 <= index < self.num_embeddings:
            raise IndexError(
                f"{self!r}: {where} = {index} is out of range for num_embeddings="
                f"{self.num_embeddings}"
            )
        return list(self.weight[index])

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        rows = positive_size("num_embeddings", config["num_embeddings"])
        return rows * positive_size("embedding_dim", config["embedding_dim"])

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"
