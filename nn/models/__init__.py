"""Whole models built from nn's layers: `GPT`, a transformer language model (`gpt`), its blocks
(`blocks`), its sampler (`sampling`) and its decoding of many rows at once, eagerly or through one
tape per position (`decoding`)."""

from nn.models.gpt import GPT, GPTCache

__all__ = ["GPT", "GPTCache"]
