"""chainrule's autograd: scalar reverse-mode automatic differentiation."""

from autograd.backward import adjoints, topological_order
from autograd.collector import gc_paused
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
from autograd.stepthrough import explain, step_through, steps
from autograd.value import Value, dot, sum_values
from autograd.viz import draw_graph, save_graph

__all__ = [
    "GradcheckError",
    "Scope",
    "Value",
    "adjoints",
    "current_scope",
    "dot",
    "draw_graph",
    "explain",
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
    "no_grad",
    "save_graph",
    "step_through",
    "steps",
    "sum_values",
    "topological_order",
    "value_and_grad",
]
