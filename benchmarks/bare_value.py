"""`BareValue`: the least a scalar engine can do per operation in Python, as a yardstick.

A microgpt-style program makes one node per `+` or `*` it evaluates, and Python makes one object
per node and one call of a dunder method per operator: that much no engine with this interface
avoids. `BareValue` does only that: seven slots (no label, scope, rule, mode or thread checks, no
`no_grad`, no n-ary nodes, no errors for bad input), the local derivatives computed inline, and
the two-pass iterative sweep of `autograd/backward.py` without resetting inner nodes. It answers
"how fast could any node-per-operation `Value` run this program?", so `benchmarks/microgpt.py`
prints its time beside chainrule's. It is not part of the product and nothing else uses it.
"""

from __future__ import annotations

import math

_new = object.__new__


def _one_parent(parent: BareValue, data: float, local: float) -> BareValue:
    node = _new(BareValue)
    node.data, node.grad, node._pending = data, 0.0, 0
    node._a, node._da, node._b = parent, local, None
    return node


class BareValue:
    __slots__ = ("data", "grad", "_a", "_da", "_b", "_db", "_pending")

    def __init__(self, data: float) -> None:
        self.data, self.grad, self._pending = data, 0.0, 0
        self._a = self._b = None

    def __add__(self, other: BareValue | float) -> BareValue:
        if type(other) is BareValue:
            node = _new(BareValue)
            node.data, node.grad, node._pending = self.data + other.data, 0.0, 0
            node._a, node._da, node._b, node._db = self, 1.0, other, 1.0
            return node
        return _one_parent(self, self.data + other, 1.0)

    __radd__ = __add__

    def __mul__(self, other: BareValue | float) -> BareValue:
        if type(other) is BareValue:
            x, y = self.data, other.data
            node = _new(BareValue)
            node.data, node.grad, node._pending = x * y, 0.0, 0
            node._a, node._da, node._b, node._db = self, y, other, x
            return node
        return _one_parent(self, self.data * other, other)

    __rmul__ = __mul__

    def __pow__(self, k: float) -> BareValue:
        return _one_parent(self, self.data**k, k * self.data ** (k - 1))

    def log(self) -> BareValue:
        return _one_parent(self, math.log(self.data), 1.0 / self.data)

    def exp(self) -> BareValue:
        e = math.exp(self.data)
        return _one_parent(self, e, e)

    def relu(self) -> BareValue:
        x = self.data
        return _one_parent(self, x if x > 0.0 else 0.0, 1.0 if x > 0.0 else 0.0)

    def __neg__(self) -> BareValue:
        return self * -1.0

    def __sub__(self, other: BareValue | float) -> BareValue:
        return self + (-other)

    def __rsub__(self, other: float) -> BareValue:
        return (-self) + other

    def __truediv__(self, other: BareValue | float) -> BareValue:
        return self * other**-1

    def __rtruediv__(self, other: float) -> BareValue:
        return self**-1 * other

    def backward(self) -> None:
        stack = [self]
        pop, push = stack.pop, stack.append
        while stack:  # first pass: count each node's consumers
            node = pop()
            a = node._a
            if a is None:
                continue
            if not a._pending:
                push(a)
            a._pending += 1
            b = node._b
            if b is not None:
                if not b._pending:
                    push(b)
                b._pending += 1
        self.grad = 1.0
        push(self)
        while stack:  # second pass: a node passes its adjoint on once all its consumers have
            node = pop()
            g, a = node.grad, node._a
            if a is None:
                continue
            a.grad += node._da * g
            a._pending -= 1
            if not a._pending:
                push(a)
            b = node._b
            if b is not None:
                b.grad += node._db * g
                b._pending -= 1
                if not b._pending:
                    push(b)
