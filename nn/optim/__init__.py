"""Optimizers, gradient clipping and learning-rate schedules, with PyTorch's update rules.

`optimizers` holds SGD, AdaGrad, RMSProp, Adam and `clip_grad_norm`; `schedules` holds StepLR,
CosineAnnealingLR and LinearLR (also importable as `nn.schedules`). Each has `state_dict()` and
`load_state_dict()`, checked on load.
"""

from nn.optim.optimizers import SGD, AdaGrad, Adam, Optimizer, RMSProp, clip_grad_norm
from nn.optim.schedules import CosineAnnealingLR, LinearLR, Schedule, StepLR

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "CosineAnnealingLR",
    "LinearLR",
    "Optimizer",
    "RMSProp",
    "Schedule",
    "StepLR",
    "clip_grad_norm",
]
