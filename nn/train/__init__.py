"""Training: `fit` and `evaluate` (`fit`), compiled training through tapes (`compiled`,
`model_tape`), checkpoints and the arguments they record (`checkpoint`, `run_arguments`), Ctrl-C as
a request to stop (`interrupts`), and truncated backpropagation through time (`bptt`).
"""

from nn.train.bptt import BPTTHistory, detach, truncated_bptt
from nn.train.loop import History, accuracy, evaluate, fit

__all__ = ["BPTTHistory", "History", "accuracy", "detach", "evaluate", "fit", "truncated_bptt"]
