"""Learning-rate schedules, at the path they have always had; they live in `nn.optim.schedules`."""

from nn.optim.schedules import CosineAnnealingLR, Schedule, StepLR

__all__ = ["CosineAnnealingLR", "Schedule", "StepLR"]
