"""Pickling and copying whole graphs without recursion, so graphs of any depth survive.

By default pickle saves a slotted object's attributes inside it, so a node would save its parents
inside itself, one C stack level per node: a chain 1,000 deep raises RecursionError, and a rule's
lambdas refuse to pickle before that. Here the first node pickle meets whose graph is not yet being
saved (a root) saves that whole graph as one flat list of records, one per node:

    (node, data, grad, label, scope)                                    a leaf
    (node, data, grad, label, scope, rule, a, da, b, db)                any other node

(an n-ary node has no `a`: `b` and `db` are the tuples of its parents and local derivatives).

Every `Value` a record names (a parent, a grad made with `create_graph=True`) has a record of its
own in the list, so pickle saves it there as an empty shell, which loading fills from its record:
nothing is saved inside anything else, and identity is kept through pickle's memo (a node shared
by two roots in one pickle is one node after loading). What a root's list covers is known while
pickle saves it (its `_Block` is open); afterwards, while the pickle lasts, a later root's list
leaves out the nodes an earlier one saved (its `frontier`): pickle's memo names them. Should one
of them not be in the memo after all (another pickler kept alive in this thread saved it), its
fields follow in a second list once the first is saved (`_Tail`), still without recursion.

Rules travel by name (`rules.register`): a record holds (name, constant, home), and loading looks
the rule up, importing `home`, the module the rule was made in, when the name is not registered
yet. A rule whose class pickles it by reference (a user's primitive, by the name it is importable
as) is saved as itself, once per root.

Scopes travel as their names: the owner of a scope (a module, usually) is not pickled with a
graph; each owner becomes a `PickledOwner` holding the scope's name, one per owner in one pickle,
so drawings still group nodes by who made them.

`copy.deepcopy` copies a graph the same way, iteratively, with its memo; rules and scopes are
shared with the original (they describe how a node was made, as a rule does). `copy.copy` makes
one new node with the same parents, data, grad and label.
"""

from __future__ import annotations

import copy
import copyreg
import pickle
import threading
import weakref
from itertools import islice
from typing import Any

from autograd import rules
from autograd.collector import gc_paused

# Set by value.py (which imports this module): the class whose instances these functions save.
Value: Any = None

_newobj = copyreg.__newobj__
# Per thread: .filled, id(node) -> the _Block saving it; .open, the blocks being saved; .blocks,
# all that count (their pickles are not done); .scopes, the records of scopes and their owners
_here = threading.local()


def reduce_node(node: Any) -> tuple:
    """`Value.__reduce_ex__`: an empty shell, filled from a record of the list that covers it."""
    filled, open_blocks, blocks, scopes = _this_thread()
    block = filled.get(id(node))
    if block is not None and block in open_blocks:
        return (_newobj, (Value,))  # its record is in the list being saved
    for block in open_blocks:
        if id(node) in block.frontier:  # left out as saved already, yet not in pickle's memo
            block.missing.append(node)
            return (_newobj, (Value,))
    if node._op is None and node.scope is None and type(node.grad) is not Value:
        return (_leaf, (node.data, node.grad, node.label))  # a parameter: nothing to walk
    block = _Block(filled, open_blocks, blocks, scopes)
    try:
        with gc_paused():  # a graph holds no cycles: the collector's passes would only walk it
            records = block.collect([node], skip_saved=True)
    except BaseException:  # a rule with no name to travel by: forget what was taken
        block.close()
        raise
    tail = _Tail(block)
    block.tail = weakref.ref(tail, block.close)
    open_blocks.append(block)
    return (_newobj, (Value,), (records, tail))


def restore(node: Any, state: tuple) -> None:
    """`Value.__setstate__`: fill every node of the lists a root's state carries."""
    records, more = state
    found: dict = {}
    with gc_paused():
        _fill(records, found)
        if more is not None:
            _fill(more, found)


def _leaf(data: float, grad: Any, label: Any) -> Any:
    node = Value(data, label)
    node.grad = grad
    return node


def _this_thread() -> tuple[dict, list, set, dict]:
    filled = getattr(_here, "filled", None)
    if filled is None:
        filled = _here.filled = {}
        _here.open, _here.blocks, _here.scopes = [], set(), {}
    return filled, _here.open, _here.blocks, _here.scopes


class _Block:
    """The nodes one root's list saves: shells while pickle saves the list (the block is open),
    then nodes later roots of the same pickle leave out. It counts as long as its `_Tail` lives,
    which pickle's memo holds until the pickle is done; a pickle abandoned halfway drops it."""

    __slots__ = (
        "filled", "open", "blocks", "scopes", "keys", "kept", "frontier", "missing", "rule_keys",
        "tail",
    )  # fmt: skip

    def __init__(self, filled: dict, open_blocks: list, blocks: set, scopes: dict) -> None:
        self.filled = filled
        self.scopes = scopes  # this thread's scope records, shared by its blocks
        self.open = open_blocks  # this thread's: the callback below may run in another
        self.blocks = blocks  # this thread's blocks that count
        blocks.add(self)
        self.keys: list[int] = []  # the ids of the nodes it saves, in `filled`
        self.kept: list = []  # its lists keep the nodes alive: no id in `keys` is reused meanwhile
        self.frontier: set[int] = set()
        self.missing: list = []
        self.rule_keys: dict[int, tuple] = {}
        self.tail: Any = None

    def collect(self, starts: list, skip_saved: bool) -> list:
        """The records of `starts` and of every node they lead to that is not saved already, one
        after another in one flat list (pickle memoizes every tuple: a list of tuples costs more).
        """
        flat, stack, filled, rule_keys = [], [], self.filled, self.rule_keys
        add, owner_of, reach, keys = flat.extend, filled.get, self.reach, self.keys
        for node in starts:
            reach(node, stack, False)
        while stack:
            node = stack.pop()
            grad, op, scope = node.grad, node._op, node.scope
            if type(grad) is Value:
                reach(grad, stack, skip_saved)
            if scope is not None:
                scope = self.scope_record(scope)
            if op is None:
                add((node, node.data, grad, node.label, scope, None))
                continue
            a, b = node._a, node._b
            if a is not None:
                owner = owner_of(id(a))
                if owner is None:  # the common case, written out: a parent seen first
                    filled[id(a)] = self
                    keys.append(id(a))
                    stack.append(a)
                elif owner is not self:
                    reach(a, stack, skip_saved)
                if b is not None and owner_of(id(b)) is not self:
                    reach(b, stack, skip_saved)
            elif b is not None:  # an n-ary node: b is the tuple of its parents
                for parent in b:
                    if owner_of(id(parent)) is not self:
                        reach(parent, stack, skip_saved)
            rule = rule_keys.get(id(op))
            if rule is None:
                rule = rule_keys[id(op)] = _rule_key(op)
            add((node, node.data, grad, node.label, scope, rule, a, node._da, b, node._db))
        self.kept.append(flat)
        return flat

    def reach(self, node: Any, stack: list, skip_saved: bool) -> None:
        """Take `node` into this block, unless an earlier root of this pickle saved it."""
        key = id(node)
        owner = self.filled.get(key)
        if owner is self:
            return
        if skip_saved and owner is not None:
            if key in self.frontier:
                return
            if owner.tail() is not None:  # still saving, or saved in this pickle
                self.frontier.add(key)
                return
        self.filled[key] = self
        self.keys.append(key)
        stack.append(node)

    def scope_record(self, scope: Any) -> tuple:
        """(name, owner, outer scope's record), one per Scope; owners stand in by their names."""
        saved = self.scopes.get(id(scope))  # shared by the blocks that count, as long as they do
        if saved is None:
            owner = scope.owner
            if not isinstance(owner, (str, type(None))):
                stand_in = self.scopes.get(id(owner))
                if stand_in is None:
                    stand_in = self.scopes[id(owner)] = PickledOwner(scope.name)
                owner = stand_in
            outer = None if scope.parent is None else self.scope_record(scope.parent)
            saved = self.scopes[id(scope)] = (scope.name, owner, outer)
        return saved

    def close(self, _tail: Any = None) -> None:
        """Forget this block: its pickle is done (or was abandoned halfway)."""
        if self in self.open:
            self.open.remove(self)
        filled = self.filled
        if len(filled) == len(self.keys) and len(self.blocks) == 1:  # the common case
            filled.clear()
        for key in self.keys:
            if filled.get(key) is self:
                del filled[key]
        self.keys, self.kept = [], []
        self.blocks.discard(self)
        if not self.blocks:
            self.scopes.clear()


class _Tail:
    """Saved after a root's list: the fields of nodes left out that pickle's memo did not hold."""

    def __init__(self, block: _Block) -> None:
        self.block = block

    def __reduce__(self) -> tuple:
        block = self.block
        if not block.missing:
            block.open.remove(block)
            return (_none, ())
        more = block.collect(block.missing, skip_saved=False)  # shells already: filled from here
        block.missing = []
        return (_records, (more, _Close(block)))


class _Close:
    """Saved last: the block's lists are done, so what it covers is no longer saved as shells."""

    def __init__(self, block: _Block) -> None:
        self.block = block

    def __reduce__(self) -> tuple:
        self.block.open.remove(self.block)
        return (_none, ())


def _none() -> None:
    return None


def _records(records: list, _closed: None) -> list:
    return records


class PickledOwner:
    """Stands for the owner of a graph scope (a module, usually) in a loaded graph: its name only.

    >>> import pickle
    >>> from autograd import Value, graph_scope
    >>> with graph_scope(object(), "layer"):
    ...     y = Value(2.0) * 3
    >>> pickle.loads(pickle.dumps(y)).scope.owner
    PickledOwner('layer')
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"PickledOwner({self.name!r})"


def _rule_key(rule: rules.Rule) -> Any:
    """(name, constant, home), what loading needs to find `rule` again; or the rule itself, when
    its class pickles it by reference (a user's primitive, by the name it is importable as)."""
    registered = rules.registered(rule.name)
    if registered is not None:
        base, home = registered
        if (base is rule) if rule.constant is None else (base.bind(rule.constant) == rule):
            return (rule.name, rule.constant, home)
    if type(rule).__reduce__ is not rules.Rule.__reduce__:
        rule.__reduce__()  # refuses now, before any of the graph is saved, if it cannot pickle
        return rule
    if registered is None:
        raise TypeError(
            f"cannot pickle a node made by the rule {rule.name!r}: no rule of that name is "
            f"registered (autograd.rules.register), so loading could not find it again"
        )
    raise TypeError(
        f"cannot pickle a node made by a rule named {rule.name!r}: it is not the rule "
        f"registered under that name (from {registered[1] or 'autograd.rules'}), so loading "
        f"would find another one"
    )


def _rule_of(key: Any, found: dict) -> rules.Rule:
    if isinstance(key, rules.Rule):  # it pickled itself: loading found it already
        return key
    rule = found.get(id(key))  # one key tuple per rule in a pickle: its identity names it
    if rule is None:
        name, constant, home = key
        try:
            base = rules.named(name, home)
        except LookupError as error:
            raise pickle.UnpicklingError(f"cannot load a graph node: {error}") from None
        rule = found[id(key)] = base if constant is None else base.bind(constant)
    return rule


def _scope_of(record: tuple | None, found: dict) -> Any:
    if record is None:
        return None
    scope = found.get(id(record))
    if scope is None:
        from autograd.modes import Scope  # noqa: PLC0415 - modes imports nothing of ours

        name, owner, outer = record
        scope = found[id(record)] = Scope(owner, name, _scope_of(outer, found))
    return scope


def _fill(flat: list, found: dict) -> None:
    fields = iter(flat)
    for node in fields:
        node.data, node.grad, label, scope, rule = islice(fields, 5)
        scope = None if scope is None else _scope_of(scope, found)
        node._extra = (label, scope) if label else scope
        node._pending = 0
        if rule is None:
            node._op = node._a = node._da = node._b = node._db = None
        else:
            node._op = found.get(id(rule)) or _rule_of(rule, found)
            node._a, node._da, node._b, node._db = islice(fields, 4)


def copy_node(node: Any) -> Any:
    """`copy.copy`: one new node with the same data, grad, label and parents."""
    new = object.__new__(Value)
    for slot in Value.__slots__:
        setattr(new, slot, getattr(node, slot))
    new._pending = 0
    return new


def deepcopy_node(root: Any, memo: dict) -> Any:
    """`copy.deepcopy`: a copy of the graph under `root`, walked without recursion; nodes already
    in `memo` (copied with an earlier root) are shared, as deepcopy shares them anywhere."""
    with gc_paused():
        return _deepcopy(root, memo)


def _deepcopy(root: Any, memo: dict) -> Any:
    new_of = memo.get
    order, stack = [], [root]
    while stack:  # every node to copy, each before none in particular: links are set afterwards
        node = stack.pop()
        if id(node) in memo:
            continue
        memo[id(node)] = object.__new__(Value)
        order.append(node)
        for other in (*node.parents, node.grad):
            if type(other) is Value and id(other) not in memo:
                stack.append(other)
    for node in order:
        new = memo[id(node)]
        new.data, new._op, new._pending = node.data, node._op, 0
        grad = node.grad
        if type(grad) is not float:
            grad = new_of(id(grad)) if type(grad) is Value else copy.deepcopy(grad, memo)
        new.grad = grad
        extra = node._extra
        if type(extra) is tuple and type(extra[0]) is not str:  # a label that is not a string
            extra = (copy.deepcopy(extra[0], memo), extra[1])
        new._extra = extra  # the scope is shared, as the rule is: it names a place, not a value
        a, b = node._a, node._b
        new._a = None if a is None else new_of(id(a))
        if b is not None:
            b = new_of(id(b)) if a is not None else tuple(new_of(id(p)) for p in b)
        new._b = b
        new._da, new._db = node._da, node._db
    return memo[id(root)]
