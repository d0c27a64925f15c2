"""Compiling a traced graph (`autograd.tape.program.Program`) into levels of array operations.

How a graph becomes a short list of array operations (`autograd.tape.tape.Tape` runs them):

- Two tables hold every node's value: a batch table, one row per node that depends on the
  arguments and one column per example, and a static table, one row per parameter, constant or
  node computed from those alone (the same for every example, so computed once per call).
- A node's level is its depth: 1 + the deepest of its parents. Nodes of one rule at one level
  (with their operands in the same tables) form one step, run as ONE call of the rule's array form
  (`autograd.tape.arrays`) over (nodes x examples). A step's outputs take consecutive rows, so it
  writes one slice, and a step that reads a whole earlier step reads a slice rather than a gather.
- A level's `dot` nodes whose weights are parameters and whose inputs are the same batch nodes (a
  layer's neurons) are one matrix product W @ X; backward is G X^T for the weights and W^T G for
  the inputs. When each of those dot nodes feeds only its neuron's `+ b`, the product and the
  biases are one affine step, W @ X + b (backward adds G summed over the batch into b). Other
  n-ary nodes gather their operands as (nodes x operands x examples); a static operand among batch
  ones is first copied across the batch (and its adjoint summed back).
- The backward sweep runs the steps in reverse: each adds local * adjoint into its operands' rows.
  An operand that repeats within a step (x * x) is added in rounds of distinct rows (np.add.at
  only past 16 rounds); adjoints flowing into static rows are summed over the batch first, so a
  parameter's gradient is the sum over the examples.
- A mean over the batch (`autograd.tape.batch_rules.batch_mean`: batch normalisation's statistics)
  is one value per call, so it takes a static row, though it depends on the arguments: its step
  averages its operand's batch row, and backward spreads the adjoint back, 1/B to each example.
- Guards: the nodes Python decisions were taken on, and their ancestors, run first (phase 0); the
  guards are checked before anything that may depend on the branch is computed (phase 1).

`compile_program(program)` returns the steps in the order they run and a `Level` describing each
(`tape.levels`, for reading or drawing).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import rules
from autograd.tape.batch_rules import BATCH_RULES
from autograd.tape.program import Guard, Node, Program
from autograd.tape.steps import AffineStep, CopyStep, MatmulStep, Rows, Step

BASE_RULES = {r.name: r for r in vars(rules).values() if isinstance(r, rules.Rule)}
BASE_RULES.update(BATCH_RULES)  # means over the batch: static rows, computed once per call


@dataclass(frozen=True)
class Level:
    """One step of a tape: `nodes` nodes of one rule at one depth, run as one array operation."""

    index: int
    phase: int  # 0: computed before the guards are checked; 1: after
    depth: int
    rule: str  # the rule's name ('copy' for static rows copied across the batch)
    nodes: int
    kind: str  # 'affine', 'matmul', 'elementwise', 'n-ary' or 'copy'
    batched: bool  # False: computed once per call, from parameters and constants alone
    inputs: tuple[str, ...]  # 'arguments', 'parameters', 'constants' or 'step i'


class _Builder:
    """Row allocation and steps, in the order they run."""

    def __init__(self, program: Program) -> None:
        self.program = program
        nodes = program.nodes
        self.batched = [n.kind == "argument" for n in nodes]
        self.depth = [0] * len(nodes)
        for i, node in enumerate(nodes):
            if node.kind == "op":
                across = node.rule.name in BATCH_RULES  # one value for the whole batch
                self.batched[i] = not across and any(self.batched[p] for p in node.parents)
                self.depth[i] = 1 + max(self.depth[p] for p in node.parents)
        self.row: dict[int, tuple[bool, int]] = {}
        self.source: dict[tuple[bool, int], str] = {}
        self.sizes = {True: 0, False: 0}
        self.steps: list[Any] = []
        self.levels: list[Level] = []
        self.single_consumer: dict[int, int] = {}
        self.absorbed: set[int] = set()  # + b nodes computed by an affine step

    def allocate(self, batched: bool, count: int, source: str) -> int:
        start = self.sizes[batched]
        self.sizes[batched] += count
        for r in range(start, start + count):
            self.source[batched, r] = source
        return start

    def place(self, members: list[int], batched: bool, source: str) -> slice:
        start = self.allocate(batched, len(members), source)
        for offset, i in enumerate(members):
            self.row[i] = (batched, start + offset)
        return slice(start, start + len(members))

    def add(self, step: Any, level: dict, rows: list[tuple[bool, int]]) -> None:
        inputs = tuple(sorted({self.source[r] for r in rows}))
        self.levels.append(Level(len(self.steps), inputs=inputs, **level))
        self.steps.append(step)


def compile_program(program: Program) -> _Builder:
    """Rows for every node and the steps that compute them, in the order they run."""
    build = _Builder(program)
    nodes, batched = program.nodes, build.batched
    for i, node in enumerate(nodes):  # arguments, in order: argument a, entry j
        if node.kind == "argument":
            a, j = node.slot
            build.row[i] = (True, sum(1 if s is None else s for s in program.shapes[:a]) + j)
    build.allocate(True, sum(1 if s is None else s for s in program.shapes), "arguments")
    node_of = {id(node.value): i for i, node in enumerate(nodes) if node.kind == "parameter"}
    build.place([node_of[id(p)] for p in program.parameters], False, "parameters")
    build.place([i for i, node in enumerate(nodes) if node.kind == "constant"], False, "constants")
    early = _ancestors(nodes, _guard_nodes(program.guards))
    build.single_consumer = _single_consumers(program)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        if node.kind == "op":
            kinds = tuple(batched[p] for p in node.parents)
            if node.rule.stacked:
                kinds = _group_kinds(node, kinds)
            # a user's primitive (autograd.primitive) by identity: two may share a name
            user = id(node.rule) if node.rule.name not in BASE_RULES else 0
            key = (0 if i in early else 1, build.depth[i], node.rule.name, batched[i], kinds, user)
            groups[key].append(i)
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3], str(k[4]), k[5])):
        members = [i for i in groups[key] if i not in build.absorbed]
        for part in _split_for_matmul(nodes, members, batched, key) if members else ():
            _add_step(build, key, part)
    _mark_what_operands_lead_to(build)
    return build


def _single_consumers(program: Program) -> dict[int, int]:
    """node -> its only consumer, for nodes that feed exactly one node and are neither an output
    nor the subject of a guard."""
    count: dict[int, int] = defaultdict(int)
    consumer: dict[int, int] = {}
    for i, node in enumerate(program.nodes):
        for parent in node.parents:
            count[parent] += 1
            consumer[parent] = i
    for i in [*program.outputs, *_guard_nodes(program.guards)]:
        count[i] += 2
    return {i: c for i, c in consumer.items() if count[i] == 1}


def _biases_of(build: _Builder, part: list[int]) -> list[int] | None:
    """The `+ b` node after each dot node of a matmul, if every dot feeds only that (dot + b,
    b computed once per call and already given its row by an earlier step), else None."""
    nodes = build.program.nodes
    adds = []
    for i in part:
        j = build.single_consumer.get(i)
        if j is None or nodes[j].rule.name != "add" or nodes[j].parents[0] != i:
            return None
        bias = nodes[j].parents[1]
        # A bias computed at the dot's own depth (exp(b)) runs in a later step of that level.
        if build.batched[bias] or bias == i or bias not in build.row:
            return None
        adds.append(j)
    return adds


def _mark_what_operands_lead_to(build: _Builder) -> None:
    """For each step's operands, whether their rows depend on a parameter, on an argument: a
    backward sweep that wants neither (constants; arguments when only the parameters' gradient
    is asked for) skips them, such as the input side of a first layer in training."""
    sizes = build.sizes
    parameter = {b: np.zeros(sizes[b], dtype=bool) for b in (False, True)}
    argument = {b: np.zeros(sizes[b], dtype=bool) for b in (False, True)}
    for (batched, row), source in build.source.items():
        parameter[batched][row] = source == "parameters"
        argument[batched][row] = source == "arguments"
    for step in build.steps:
        if isinstance(step, AffineStep):
            operands = [(False, step.weights), (True, step.inputs), (False, step.biases)]
        elif isinstance(step, MatmulStep):
            operands = [(False, step.weights), (True, step.inputs)]
        elif isinstance(step, CopyStep):
            operands = [(False, step.sources)]
        else:
            operands = step.operands
        step.leads_to = [
            (bool(parameter[b][rows.flat].any()), bool(argument[b][rows.flat].any()))
            for b, rows in operands
        ]
        out = step.out
        parameter[step.batched][out] = any(p for p, _ in step.leads_to)
        argument[step.batched][out] = any(a for _, a in step.leads_to)


def _group_kinds(node: Node, kinds: tuple[bool, ...]) -> tuple:
    """An n-ary node's operand count and, per group of operands, whether any is batched."""
    n = len(kinds)
    if node.rule.name == "dot":
        return (n // 2, any(kinds[: n // 2]), any(kinds[n // 2 :]))
    return (n, any(kinds))


def _split_for_matmul(nodes: list[Node], members: list[int], batched: list[bool], key: tuple):
    """dot nodes with static weights and batch inputs, split by their inputs: one matmul each."""
    kinds = key[4]
    if key[2] != "dot" or kinds[1] or not kinds[2]:
        yield members
        return
    by_inputs: dict[tuple[int, ...], list[int]] = defaultdict(list)
    half = kinds[0]
    for i in members:
        parents = nodes[i].parents
        if all(batched[p] for p in parents[half:]):
            by_inputs[parents[half:]].append(i)
        else:
            by_inputs[()].append(i)  # some inputs static: the general n-ary step
    yield from by_inputs.values()


def _add_step(build: _Builder, key: tuple, part: list[int]) -> None:
    phase, depth, name, out_batched, kinds, user = key
    nodes = build.program.nodes
    rule = nodes[part[0]].rule if user else BASE_RULES[name]
    parents = [nodes[i].parents for i in part]
    level = {"phase": phase, "depth": depth, "rule": name, "nodes": len(part)}
    level["batched"] = out_batched
    if _is_matmul(build, name, kinds, parents):
        half = kinds[0]
        weights = [[build.row[q][1] for q in p[:half]] for p in parents]
        inputs = [build.row[q][1] for q in parents[0][half:]]
        used = [build.row[q] for p in parents for q in p]
        adds = _biases_of(build, part)
        if adds is not None:  # dot then + b: one affine step writing the adds' rows
            biases = [build.row[nodes[j].parents[1]] for j in adds]
            out = build.place(adds, True, f"step {len(build.steps)}")
            build.absorbed.update(adds)
            step = AffineStep(out, Rows(weights), Rows(inputs), Rows([r for _, r in biases]))
            level = {**level, "rule": "dot+add", "kind": "affine"}
            build.add(step, level, used + biases)
            return
        out = build.place(part, True, f"step {len(build.steps)}")
        build.add(MatmulStep(out, Rows(weights), Rows(inputs)), {**level, "kind": "matmul"}, used)
        return
    if not rule.stacked:
        operands = [
            (kind, Rows([build.row[q[position]][1] for q in parents]))
            for position, kind in enumerate(kinds)
        ]
        number = None
        if nodes[part[0]].number is not None:
            number = np.array([[float(nodes[i].number)] for i in part])
        used = [build.row[q] for p in parents for q in p]
        out = build.place(part, out_batched, f"step {len(build.steps)}")
        step = Step(rule, out_batched, out, operands, number)
        build.add(step, {**level, "kind": "elementwise"}, used)
        return
    n = kinds[0]
    group_sizes = [n, n] if name == "dot" else [n]
    group_batched = list(kinds[1:])
    used = [build.row[q] for p in parents for q in p]
    operands = []
    for g, (size, any_batched) in enumerate(zip(group_sizes, group_batched)):
        rows = [[build.row[q] for q in p[g * n : g * n + size]] for p in parents]
        if any_batched:
            rows = _copy_static_rows(build, rows, level, phase, depth)
        operands.append((any_batched, Rows([[r for _, r in row] for row in rows])))
    number = None
    if name == "dot_constant":
        number = np.array([[[float(c)] for c in nodes[i].number] for i in part])
    out = build.place(part, out_batched, f"step {len(build.steps)}")
    build.add(Step(rule, out_batched, out, operands, number), {**level, "kind": "n-ary"}, used)


def _is_matmul(build: _Builder, name: str, kinds: tuple, parents: list) -> bool:
    """dot nodes with static weights and the same batch inputs: one matrix product."""
    if name != "dot" or kinds[1] or not kinds[2]:
        return False
    inputs = parents[0][kinds[0] :]
    return all(p[kinds[0] :] == inputs for p in parents) and all(build.batched[q] for q in inputs)


def _copy_static_rows(build: _Builder, rows: list, level: dict, phase: int, depth: int) -> list:
    """Batch rows holding copies of the static operands in `rows` (one copy per static row)."""
    static = sorted({r for row in rows for batched, r in row if not batched})
    if not static:
        return rows
    start = build.allocate(True, len(static), f"step {len(build.steps)}")
    copy_of = {r: start + k for k, r in enumerate(static)}
    level = {**level, "rule": "copy", "nodes": len(static), "kind": "copy", "batched": True}
    step = CopyStep(slice(start, start + len(static)), Rows(static))
    build.add(step, level, [(False, r) for r in static])
    return [[(True, r if batched else copy_of[r]) for batched, r in row] for row in rows]


def _guard_nodes(guards: list[Guard]) -> list[int]:
    found = [g.node for g in guards]
    return found + [g.other_node for g in guards if g.other_node is not None]


def _ancestors(nodes: list[Node], start: list[int]) -> set[int]:
    seen, stack = set(start), list(start)
    while stack:
        for parent in nodes[stack.pop()].parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen
