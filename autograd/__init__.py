"""chainrule's autograd: scalar reverse-mode automatic differentiation."""

from autograd.backward import adjoints, topological_order
from autograd.checkpointing import checkpoint, checkpoint_scan
from autograd.collector import gc_paused
from autograd.custom_gradients import custom_vjp
from autograd.drawing.graph import draw_graph, save_graph
from autograd.drawing.page import step_through
from autograd.drawing.steps import explain, steps
from autograd.forward import jacfwd, jvp
from autograd.functional import (
    GradcheckError,
    grad,
    gradcheck,
    gradgradcheck,
    gradients,
    hessian,
    hvp,
    jacobian,
    value_and_grad,
)
from autograd.modes import Scope, current_scope, graph_scope, is_grad_enabled, no_grad
from autograd.primitives import primitive
from autograd.tape.batch_rules import batch_mean
from autograd.tape.program import GuardError, TraceError
from autograd.tape.tracing import fresh_numbers, trace
from autograd.value import Value, dot, matvec, max_values, sum_values

__all__ = [
    "GradcheckError",
    "GuardError",
    "TraceError",
    "Scope",
    "Value",
    "adjoints",
    "batch_mean",
    "checkpoint",
    "checkpoint_scan",
    "current_scope",
    "custom_vjp",
    "dot",
    "draw_graph",
    "explain",
    "fresh_numbers",
    "gc_paused",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "gradients",
    "graph_scope",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacfwd",
    "jacobian",
    "jvp",
    "matvec",
    "max_values",
    "no_grad",
    "primitive",
    "save_graph",
    "step_through",
    "steps",
    "sum_values",
    "topological_order",
    "trace",
    "value_and_grad",
]


def __getattr__(name: str):
    """`autograd.Tape` imports NumPy, an extra: it is loaded on first use (and left out of
    `__all__`, so `from autograd import *` needs no NumPy either)."""
    if name == "Tape":
        try:
            from autograd.tape.tape import Tape
        except ImportError as error:
            from autograd.tape.tracing import INSTALL

            raise ImportError(INSTALL) from error
        return Tape
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
