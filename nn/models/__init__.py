"""Whole models built from nn's layers: `GPT`, a transformer language model (`gpt`), its blocks
(`blocks`) and its sampler (`sampling`)."""

from nn.models.gpt import GPT, GPTCache

__all__ = ["GPT", "GPTCache"]
