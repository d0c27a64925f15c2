"""chainrule's autograd: scalar reverse-mode automatic differentiation."""

from autograd.backward import adjoints, topological_order
from autograd.value import (
    Scope,
    Value,
    current_scope,
    dot,
    graph_scope,
    is_grad_enabled,
    no_grad,
    sum_values,
)

__all__ = [
    "Scope",
    "Value",
    "adjoints",
    "current_scope",
    "dot",
    "graph_scope",
    "is_grad_enabled",
    "no_grad",
    "sum_values",
    "topological_order",
]
