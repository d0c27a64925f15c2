"""Backpropagation step by step: the forward pass, then every `+=` of the backward sweep.

`steps(root)` is the one source: the page of `step_through`, the text of `explain` and the tests
all read its records. The backward steps follow the engine's own order (`topological_order`,
which `backward()` walks) and its recorded local derivatives (`Value.local_derivatives`), so the
running sums are the engine's, bit for bit.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, TextIO

from autograd.backward import topological_order
from autograd.drawing.formulas import expression, local_formulas, number
from autograd.value import Value


@dataclass(frozen=True)
class ForwardStep:
    """The forward pass computes `node`: `name = expression = arithmetic = value`.

    `expression` uses the parents' names ("x1 * w1"), `arithmetic` their values ("1.5 * -0.8");
    both are empty for a leaf, which only shows its value.
    """

    phase: ClassVar[str] = "forward"
    node: Value
    name: str
    expression: str
    arithmetic: str
    value: float

    def __str__(self) -> str:
        if not self.expression:
            return f"{self.name} = {number(self.value)}"
        return f"{self.name} = {self.expression} = {self.arithmetic} = {number(self.value)}"


@dataclass(frozen=True)
class BackwardStep:
    """One `+=` of the backward sweep: `parent.grad += local * child.grad`.

    `visit` is the child's place in the order `backward()` visits nodes (0 is the root).
    `local_formula` writes the local derivative in the nodes' names ("w1", "(1 - o * o)");
    `local`, `upstream` (the child's grad) and `product` are the numbers. `before` is the
    parent's running grad before this `+=`, None while it has none yet, and `after` the sum.
    The first backward step is the seed `root.grad = 1`: its `child` is None.
    """

    phase: ClassVar[str] = "backward"
    visit: int
    child: Value | None
    parent: Value
    child_name: str
    parent_name: str
    local_formula: str
    local: float
    upstream: float
    product: float
    before: float | None
    after: float

    def __str__(self) -> str:
        if self.child is None:
            return f"{self.parent_name}.grad = {number(self.after)}"
        line = (
            f"{self.parent_name}.grad += {self.local_formula} * {self.child_name}.grad"
            f" = {number(self.local)} * {number(self.upstream)} = {number(self.product)}"
        )
        if self.before is None:
            return line
        total = f"{number(self.before)} + {number(self.product)} = {number(self.after)}"
        return f"{line}, so {self.parent_name}.grad = {total}"


Step = ForwardStep | BackwardStep


def steps(root: Value) -> list[Step]:
    """The forward pass and the backward sweep of `root`'s graph, one record per step.

    First a `ForwardStep` per node, each after the nodes it is computed from (depth first, as a
    program computes them); then the seed
    `root.grad = 1` and a `BackwardStep` per edge, in the order `backward()` takes them, as a
    call of `backward()` computes them into fresh gradients (every `.grad` 0). No `.grad` is
    touched. Nodes are named by their label, else `n1`, `n2`, ... in forward order; a label
    that several nodes share gets `#2`, `#3`, ... after the first.

    >>> from autograd import Value, steps
    >>> x, w = Value(1.5, label="x"), Value(-0.8, label="w")
    >>> for step in steps((x * w).tanh()):
    ...     print(step)
    x = 1.5
    w = -0.8
    n1 = x * w = 1.5 * -0.8 = -1.2
    n2 = tanh(n1) = tanh(-1.2) = -0.8337
    n2.grad = 1
    n1.grad += (1 - n2 * n2) * n2.grad = 0.305 * 1 = 0.305
    x.grad += w * n1.grad = -0.8 * 0.305 = -0.244
    w.grad += x * n1.grad = 1.5 * 0.305 = 0.4575
    """
    if not isinstance(root, Value):
        raise TypeError(f"steps: expected a Value, got {type(root).__name__} {root!r}")
    forward = _evaluation_order(root)
    names = _names(forward)
    records: list[Step] = [
        ForwardStep(node, names[node], *expression(node, names), node.data) for node in forward
    ]
    seed = BackwardStep(0, None, root, "", names[root], "", 1.0, 1.0, 1.0, None, 1.0)
    records.append(seed)
    grads: dict[Value, float] = {root: 1.0}
    for visit, child in enumerate(topological_order(root)):
        upstream = grads[child]
        edges = zip(child.parents, child.local_derivatives, local_formulas(child, names))
        for parent, local, formula in edges:
            product = local * upstream
            before = grads.get(parent)
            after = (0.0 if before is None else before) + product
            grads[parent] = after
            records.append(
                BackwardStep(
                    visit=visit,
                    child=child,
                    parent=parent,
                    child_name=names[child],
                    parent_name=names[parent],
                    local_formula=formula,
                    local=local,
                    upstream=upstream,
                    product=product,
                    before=before,
                    after=after,
                )
            )
    return records


def explain(root: Value, *, max_nodes: int | None = 500, file: TextIO | None = None) -> None:
    """Print the forward pass and the backward sweep of `root`'s graph, one line per step.

    The lines are the records of `steps(root)`. A graph of more than `max_nodes` nodes is
    refused (ValueError); None prints any size. `file` defaults to standard output.

    >>> from autograd import Value, explain
    >>> a = Value(2.0, label="a")
    >>> b = a * a
    >>> explain(b + a)
    forward pass, each node after its inputs:
      a = 2
      n1 = a * a = 2 * 2 = 4
      n2 = n1 + a = 4 + 2 = 6
    backward sweep, in the order backward() visits the nodes:
      n2.grad = 1
      n1.grad += 1 * n2.grad = 1 * 1 = 1
      a.grad += 1 * n2.grad = 1 * 1 = 1
      a.grad += a * n1.grad = 2 * 1 = 2, so a.grad = 1 + 2 = 3
      a.grad += a * n1.grad = 2 * 1 = 2, so a.grad = 3 + 2 = 5
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain: expected a Value, got {type(root).__name__} {root!r}")
    check_budget(max_nodes, "explain")
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(
            f"explain: file must be an open text file (with a write method), got "
            f"{type(file).__name__} {file!r}"
        )
    if max_nodes is not None:
        size = len(topological_order(root))
        if size > max_nodes:
            raise ValueError(
                f"explain: the graph has {size} nodes, more than max_nodes={max_nodes}; "
                "raise max_nodes (None for no limit), or step through it collapsed with "
                "step_through(root, collapse='neuron')"
            )
    out = sys.stdout if file is None else file
    phase = ""
    for step in steps(root):
        if step.phase != phase:
            phase = step.phase
            print(_HEADINGS[phase], file=out)
        print(f"  {step}", file=out)


_HEADINGS = {
    "forward": "forward pass, each node after its inputs:",
    "backward": "backward sweep, in the order backward() visits the nodes:",
}


def check_budget(max_nodes: object, caller: str) -> None:
    """Refuse a `max_nodes` that is not a count of nodes (>= 1) or None."""
    if max_nodes is None:
        return
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(
            f"{caller}: max_nodes must be an int (or None for no limit), "
            f"got {type(max_nodes).__name__} {max_nodes!r}"
        )
    if max_nodes < 1:
        raise ValueError(f"{caller}: max_nodes must be at least 1 (or None), got {max_nodes}")


def _evaluation_order(root: Value) -> list[Value]:
    """Every node after the nodes it is computed from, in the order a program would compute
    them: depth first (without recursion), computed parents before leaves, so that a leaf comes
    just before the first node that uses it."""
    order = []
    seen = {root}
    stack = [(root, _computed_parents_first(root))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, _computed_parents_first(parent)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _computed_parents_first(node: Value) -> Iterator[Value]:
    parents = node.parents
    return itertools.chain([p for p in parents if p.parents], [p for p in parents if not p.parents])


def _names(forward_order: list[Value]) -> dict[Value, str]:
    """A name per node: its label (with #k for the k-th node sharing it), else n1, n2, ..."""
    labels = {node.label for node in forward_order if node.label}
    uses: Counter[str] = Counter()
    names: dict[Value, str] = {}
    unnamed = 0
    for node in forward_order:
        if node.label:
            uses[node.label] += 1
            count = uses[node.label]
            names[node] = node.label if count == 1 else f"{node.label}#{count}"
        else:
            unnamed += 1
            while f"n{unnamed}" in labels:
                unnamed += 1
            names[node] = f"n{unnamed}"
    return names
