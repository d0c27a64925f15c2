"""What a node's slots cost: nodes of 11 slots against nodes of 9, made the way `Value` makes them.

    python benchmarks/node_layout.py

`Value` used to keep 11 slots (a label, a scope and the n-ary parents each in their own); it keeps
9 now (label and scope share `_extra`, n-ary nodes reuse `_b` and `_db`). Each slot costs every
node a store when it is made, 8 bytes, and a visit from each pass of the garbage collector. This
script makes the same graphs (the dot products of a 200 x 16 layer, ten times over, kept alive as
a graph is until `backward()`) with two stand-in classes that differ only in their slots, taking
turns, with the collector off and on, and prints nanoseconds per node (best of 7).
"""

from __future__ import annotations

import gc
import time

_new = object.__new__


class Eleven:
    __slots__ = (
        "data", "grad", "label", "_op", "_a", "_da", "_b", "_db", "_more", "_scope", "_pending",
    )  # fmt: skip

    def __mul__(self, other: Eleven) -> Eleven:
        x, y = self.data, other.data
        node = _new(Eleven)
        node.data, node.grad, node.label, node._op = x * y, 0.0, "", None
        node._a, node._da, node._b, node._db = self, y, other, x
        node._more, node._scope, node._pending = None, None, 0
        return node

    def __add__(self, other: Eleven | float) -> Eleven:
        node = _new(Eleven)
        node.grad, node.label, node._op = 0.0, "", None
        if type(other) is Eleven:
            node.data, node._a, node._da, node._b, node._db = (
                self.data + other.data,
                self,
                1.0,
                other,
                1.0,
            )
        else:
            node.data, node._a, node._da, node._b, node._db = self.data + other, self, 1.0, None, 0
        node._more, node._scope, node._pending = None, None, 0
        return node

    __radd__ = __add__


class Nine:
    __slots__ = ("data", "grad", "_op", "_a", "_da", "_b", "_db", "_extra", "_pending")

    def __mul__(self, other: Nine) -> Nine:
        x, y = self.data, other.data
        node = _new(Nine)
        node.data, node.grad, node._op = x * y, 0.0, None
        node._a, node._da, node._b, node._db = self, y, other, x
        node._extra, node._pending = None, 0
        return node

    def __add__(self, other: Nine | float) -> Nine:
        node = _new(Nine)
        node.grad, node._op = 0.0, None
        if type(other) is Nine:
            node.data, node._a, node._da, node._b, node._db = (
                self.data + other.data,
                self,
                1.0,
                other,
                1.0,
            )
        else:
            node.data, node._a, node._da, node._b, node._db = self.data + other, self, 1.0, None, 0
        node._extra, node._pending = None, 0
        return node

    __radd__ = __add__


def ns_per_node(cls: type, rows: int = 200, width: int = 16, repeats: int = 10) -> float:
    leaves = [[_new(cls) for _ in range(width)] for _ in range(rows)]
    for row in leaves:
        for leaf in row:
            leaf.data = 0.5
    inputs = leaves[0]
    gc.collect()
    start = time.perf_counter()
    kept = [[sum(w * x for w, x in zip(row, inputs)) for row in leaves] for _ in range(repeats)]
    seconds = time.perf_counter() - start
    del kept
    return seconds / (repeats * rows * 2 * width) * 1e9


def main() -> None:
    for collector in (False, True):
        gc.enable() if collector else gc.disable()
        best = {cls.__name__: float("inf") for cls in (Eleven, Nine)}
        for _ in range(7):
            for cls in (Eleven, Nine):
                best[cls.__name__] = min(best[cls.__name__], ns_per_node(cls))
        print(
            f"collector {'on ' if collector else 'off'}: 11 slots {best['Eleven']:.0f} ns/node, "
            f"9 slots {best['Nine']:.0f} ns/node ({best['Eleven'] / best['Nine']:.2f}x)"
        )
    gc.enable()


if __name__ == "__main__":
    main()
