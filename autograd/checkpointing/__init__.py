"""Memory on demand: `checkpoint(f)` recomputes f's graph in backward(); `checkpoint_scan` runs a
long recurrence keeping a few snapshots of its state, reversed on Griewank's binomial schedule
(`binomial_schedule`, `minimal_advances`, `repetitions` in `autograd.checkpointing.revolve`)."""

from autograd.checkpointing.checkpointed import checkpoint
from autograd.checkpointing.revolve import binomial_schedule, minimal_advances, repetitions
from autograd.checkpointing.scan import checkpoint_scan

__all__ = ["binomial_schedule", "checkpoint", "checkpoint_scan", "minimal_advances", "repetitions"]
