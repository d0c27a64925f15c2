"""chainrule's autograd: scalar reverse-mode automatic differentiation."""

from autograd.backward import adjoints, topological_order
from autograd.collector import gc_paused
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
from autograd.program import GuardError, TraceError
from autograd.trace import trace
from autograd.value import (
    Scope,
    Value,
    current_scope,
    dot,
    graph_scope,
    is_grad_enabled,
    max_values,
    no_grad,
    sum_values,
)
from autograd.viz import draw_graph, save_graph

__all__ = [
    "GradcheckError",
    "GuardError",
    "TraceError",
    "Scope",
    "Value",
    "adjoints",
    "current_scope",
    "dot",
    "draw_graph",
    "gc_paused",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "gradients",
    "graph_scope",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "max_values",
    "no_grad",
    "save_graph",
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
            from autograd.tape import Tape
        except ImportError as error:
            from autograd.trace import INSTALL

            raise ImportError(INSTALL) from error
        return Tape
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
