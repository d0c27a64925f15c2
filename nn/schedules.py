"""Learning-rate schedules, at the path they have always had; they live in `nn.optim.schedules`."""

from nn.optim.schedules import CosineAnnealingLR, LinearLR, Schedule, StepLR

__all__ = ["CosineAnnealingLR", "LinearLR", "Schedule", "StepLR"]
