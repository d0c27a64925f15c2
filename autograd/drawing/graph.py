"""Drawing computation graphs with graphviz: one record per `Value`, one small node per operation.

This is the only module that imports `graphviz`, and only inside functions, so the engine works
without it. DOT text (`draw_graph(y).source`, `save_graph(y, "y.dot")`) needs only the Python
package; rendering SVG, PNG or PDF also needs the Graphviz program `dot`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograd.backward import topological_order
from autograd.modes import Scope
from autograd.value import Value

if TYPE_CHECKING:
    import graphviz

_RANKDIRS = ("LR", "RL", "TB", "BT")
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
_INSTALL_DOT = (
    "rendering needs the Graphviz program `dot`, which is not on PATH. Install it with "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/. "
    "DOT text needs no program: draw_graph(root).source or save_graph(root, 'graph.dot')."
)
# |grad| on a log scale, from 1e-6 or less (dark blue) through 1 (pale yellow) to 1e3 or more (red)
_GRAD_SCALE = (-6, 3)
_STOPS = [
    tuple(bytes.fromhex(c)) for c in "08306b 2171b5 6baed6 c6dbef ffffcc fd8d3c bd0026".split()
]
_ZERO, _NAN = (217, 217, 217), (231, 41, 138)  # grey, pink
_RECORD_SPECIAL = re.compile(r"([\\{}|<>])")
Collapse = int | str | tuple[int | str, ...]


def draw_graph(
    root: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = 500,
    collapse: Collapse | None = None,
    color_by_grad: bool = False,
    show_order: bool = False,
) -> graphviz.Digraph:
    """The graph `root` was computed from, as a `graphviz.Digraph` (shows inline in Jupyter).

    Each `Value` is a record (label, data and grad to 4 significant digits) fed by a small node
    showing its operation; leaves have none. `.render(path)` writes SVG (or `format="png"`/"pdf").

    - `max_nodes`: refuse (ValueError) to draw more boxes and Values than this; None: no limit.
    - `collapse`: draw each scope of `graph_scope` as one box. An int k groups every node whose
      scope path has at least k scopes by its first k. A name groups by the outermost scope of that
      name, or whose name is that word and more ("neuron" matches "neuron 3", "layer 0" matches only
      itself); nn names its scopes "MLP", "layer i", "neuron j", and a GPT's "block i" and "head h",
      and a convolution's output channels "channel o". A tuple tries its depths and names in turn,
      the first that matches a node boxing it: `("head", "block")` draws each attention head as a
      box and the rest of each block as another. Boxes stand in reading order (neuron 2 above neuron
      10). A leaf used by one scope owner only (a neuron's weights and bias) is drawn in its box.
    - `color_by_grad`: fill by |grad| on a log scale from 1e-6 (dark blue) to 1e3 (red), with a
      legend; zero is grey, nan pink; a box shows the largest |grad| of its nodes.
    - `show_order`: number the nodes in the order `backward()` visits them (#1 is `root`).

    >>> from autograd import Value, draw_graph
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> y = a * b + 1.0
    >>> y.backward()
    >>> graph = draw_graph(y)
    >>> "{ a | data 2 | grad -3 }" in graph.source
    True
    """
    return _layout(
        root,
        "draw_graph",
        rankdir=rankdir,
        show_grad=show_grad,
        max_nodes=max_nodes,
        collapse=collapse,
        color_by_grad=color_by_grad,
        show_order=show_order,
    ).graph


@dataclass(frozen=True)
class Drawing:
    """A drawn graph and where each node of it went, for pages that animate the drawing."""

    graph: graphviz.Digraph
    unit: dict[Value, str]  # node -> id of what stands for it: its record or its box
    inlet: dict[Value, str]  # node -> id the arrows from its parents end at (its operation node)
    boxes: dict[str, str]  # box id -> the scope path it stands for, "MLP/layer 0/neuron 2"

    def edge(self, parent: Value, child: Value) -> str:
        """The title Graphviz gives the arrow from `parent` into `child`: "source->target"."""
        return f"{self.unit[parent]}->{self.inlet[child]}"


def _layout(
    root: Value,
    caller: str,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = 500,
    collapse: Collapse | None = None,
    color_by_grad: bool = False,
    show_order: bool = False,
    grad_text: Callable[[Value], str] | None = None,
    names: dict[Value, str] | None = None,
) -> Drawing:
    """`draw_graph`'s work; `caller` names the public function in error messages,
    `grad_text(node)` replaces the grad a record shows and `names` the labels."""
    graphviz = import_graphviz()
    if not isinstance(root, Value):
        raise TypeError(f"{caller}: expected a Value, got {type(root).__name__} {root!r}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"{caller}: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    order = topological_order(root)
    group_of = _groups(order, collapse, caller) if collapse is not None else {}
    boxes: dict[tuple, list[Value]] = {}
    for node in order:
        if node in group_of:
            boxes.setdefault(group_of[node], []).append(node)
    drawn = len(boxes) + len(order) - len(group_of)
    if max_nodes is not None and drawn > max_nodes:
        after = f" ({drawn} after collapse={collapse!r})" if collapse is not None else ""
        raise ValueError(
            f"{caller}: the graph has {len(order)} nodes{after}, "
            f"more than max_nodes={max_nodes}; draw one box per scope with collapse='neuron', "
            "'layer' or a scope depth, or raise max_nodes (None for no limit)"
        )

    graph = _digraph_class(graphviz)(name="chainrule", format="svg")
    graph.attr(rankdir=rankdir)
    unit: dict[Value, str] = {}
    inlet: dict[Value, str] = {}
    drawn_boxes: dict[str, str] = {}
    # Boxes in reading order (neuron 2 before neuron 10). Declaring them so is not enough: when
    # every ordering crosses as many arrows (a layer wired to all of the next), Graphviz's layout
    # rotates them (10 to 15 above 0 to 9). ordering=in keeps the arrows into a box in the order
    # they are declared, which is the order the box's nodes used them, index order in nn. It is
    # set as the default of the boxes' statements only, and reset after them.
    if boxes:
        graph.attr("node", ordering="in")
    for number, (key, members) in enumerate(sorted(boxes.items(), key=_reading_order)):
        largest = _largest([node.grad for node in members])
        text = "/".join(graphviz.escape(name) for _, name in key) + f"\\n{len(members)} nodes"
        text += f"\\nmax |grad| {_number(largest)}" if color_by_grad else ""
        fill = _fill(largest, color_by_grad)
        graph.node(f"g{number}", graphviz.nohtml(text), shape="box", **fill)
        unit.update((node, f"g{number}") for node in members)
        inlet.update((node, f"g{number}") for node in members)
        drawn_boxes[f"g{number}"] = "/".join(name for _, name in key)
    if boxes:
        graph.attr("node", ordering="")
    seen = set()  # arrows that touch a box are drawn once per pair
    for step, node in reversed(list(enumerate(order))):  # parents first
        if node in group_of:
            target = unit[node]
        else:
            target = unit[node] = f"v{step}"
            fields = [f"#{step + 1}"] if show_order else []
            name = node.label if names is None else names[node]
            fields += [_record_text(name)] if name else []
            fields += [f"data {_number(node.data)}"]
            if show_grad:
                grad = _number(node.grad) if grad_text is None else grad_text(node)
                fields += [f"grad {grad}"]
            label = " | ".join(fields)
            label = "{ " + label + " }" if rankdir in ("LR", "RL") else label
            fill = _fill(_largest([node.grad]), color_by_grad)
            graph.node(target, graphviz.nohtml(label), shape="record", **fill)
            if node.parents:
                graph.node(f"op{step}", graphviz.escape(node.op), fontsize="10", height="0.3")
                graph.edge(f"op{step}", target)
                target = f"op{step}"
        inlet[node] = target
        for parent in node.parents:
            source = unit[parent]
            if node in group_of or parent in group_of:
                if source == target or (source, target) in seen:
                    continue
                seen.add((source, target))
            graph.edge(source, target)
    if color_by_grad:
        graph.node("legend", _legend(order, bool(boxes)), shape="plaintext")
    return Drawing(graph, unit, inlet, drawn_boxes)


def save_graph(root: Value, path: str | Path, **options: Any) -> Path:
    """Draw `root`'s graph into `path`, in the format its suffix names; returns the path.

    `.svg`, `.png` and `.pdf` need the Graphviz program; `.dot` (or `.gv`) writes DOT text and
    does not. `options` are `draw_graph`'s.

    >>> import os, tempfile
    >>> from autograd import Value, save_graph
    >>> x = Value(3.0, label="x")
    >>> written = save_graph(x.tanh(), os.path.join(tempfile.mkdtemp(), "tanh.dot"))
    >>> written.read_text().startswith("digraph chainrule {")
    True
    """
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise ValueError(
            f"save_graph: cannot tell the format of {str(path)!r} from its suffix "
            f"{path.suffix!r}; use one of {', '.join(_FORMATS)}"
        )
    graph = draw_graph(root, **options)
    fmt = _FORMATS[path.suffix.lower()]
    if fmt is None:
        path.write_text(graph.source, encoding="utf-8")
    else:
        path.write_bytes(graph.pipe(format=fmt))
    return path


def import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as err:
        raise ImportError(
            'drawing graphs needs the graphviz Python package: pip install "chainrule[viz]"'
        ) from err
    return graphviz


@functools.cache
def _digraph_class(graphviz: Any) -> type:
    @contextmanager
    def explain_missing_program() -> Iterator[None]:
        try:
            yield
        except graphviz.ExecutableNotFound as err:
            raise RuntimeError(_INSTALL_DOT) from err

    class Digraph(graphviz.Digraph):
        """A `graphviz.Digraph` that says how to install Graphviz when `dot` is missing."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            with explain_missing_program():
                return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            with explain_missing_program():
                return super().render(*args, **kwargs)

    return Digraph


def _groups(order: list[Value], collapse: Collapse, caller: str) -> dict[Value, tuple]:
    """The box each grouped node is drawn in, keyed by (owner id, name) of its scopes."""
    rules = collapse if isinstance(collapse, tuple) else (collapse,)
    for rule in rules or ("",):
        depth = isinstance(rule, int) and not isinstance(rule, bool) and rule >= 1
        if not (depth or (isinstance(rule, str) and rule)):
            raise ValueError(
                f"{caller}: collapse must be a depth >= 1, a scope name or a tuple of them, "
                f"got {collapse!r}"
            )

    def depth_of(rule: int | str, path: tuple[Scope, ...]) -> int:
        if isinstance(rule, int):
            return rule if len(path) >= rule else 0
        named = (i for i, s in enumerate(path, 1) if rule in (s.name, s.name.split(" ")[0]))
        return next(named, 0)

    @functools.cache
    def box_of(scope: Scope) -> tuple | None:
        path = scope.path
        depth = next((d for d in (depth_of(rule, path) for rule in rules) if d), 0)
        # Owners and names, not Scope objects: every call of one module shares its box.
        return tuple((id(s.owner), s.name) for s in path[:depth]) or None

    group_of = {node: box_of(node.scope) for node in order if node.scope is not None}
    group_of = {node: box for node, box in group_of.items() if box is not None}
    # A leaf used by one owner only (a neuron's weights, not inputs all neurons share) joins it.
    uses: dict[Value, set] = {}
    for node in order:
        for parent in node.parents:
            if not parent.parents and parent not in group_of:
                use = (group_of[node], id(node.scope.owner)) if node in group_of else None
                uses.setdefault(parent, set()).add(use)
    for leaf, found in uses.items():
        if len(found) == 1 and None not in found:
            group_of[leaf] = found.pop()[0]
    return group_of


def _reading_order(box: tuple) -> list:
    """Sort key for a box: its scope names, with the numbers in them compared as numbers."""
    key, _ = box
    return [
        [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
        for _, name in key
    ]


def _record_text(text: str) -> str:
    """`text` as a literal record field: backslashes, braces, bars and angle brackets escaped."""
    return _RECORD_SPECIAL.sub(r"\\\1", text).replace("\n", "\\n")


def _number(x: Any) -> str:
    return f"{float(x):.4g}"


def _largest(grads: list) -> float:
    """The largest |grad|, or nan if any is nan (so a broken gradient is never hidden)."""
    magnitudes = [abs(float(g)) for g in grads]
    return math.nan if any(map(math.isnan, magnitudes)) else max(magnitudes)


def _colors(magnitude: float) -> tuple[str, str]:
    """Fill and text colours for a gradient this size: grey for 0, pink for nan, else the scale."""
    if magnitude == 0.0:
        rgb = _ZERO
    elif math.isnan(magnitude):
        rgb = _NAN
    else:
        low, high = _GRAD_SCALE
        t = min(max((math.log10(magnitude) - low) / (high - low), 0.0), 1.0) * (len(_STOPS) - 1)
        i = min(int(t), len(_STOPS) - 2)
        rgb = tuple(round(a + (b - a) * (t - i)) for a, b in zip(_STOPS[i], _STOPS[i + 1]))
    dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140
    return "#" + "".join(f"{c:02x}" for c in rgb), "white" if dark else "black"


def _fill(magnitude: float, color_by_grad: bool) -> dict[str, str]:
    if not color_by_grad:
        return {}
    fill, text = _colors(magnitude)
    return {"style": "filled", "fillcolor": fill, "fontcolor": text}


def _legend(order: list[Value], has_boxes: bool) -> str:
    """An HTML-like label: the colour of each decade of |grad|, and this graph's range."""
    low, high = _GRAD_SCALE
    bounds = {low: "&le;", high: "&ge;"}
    swatches = [(f"{bounds.get(k, '')}1e{k}", 10.0**k) for k in range(low, high + 1)]
    swatches += [("0", 0.0), ("nan", math.nan)]
    row = "".join(
        '<TD BGCOLOR="{}"><FONT COLOR="{}">{}</FONT></TD>'.format(*_colors(m), text)
        for text, m in swatches
    )
    magnitudes = [abs(float(node.grad)) for node in order]
    finite = [m for m in magnitudes if m > 0.0 and math.isfinite(m)]
    span = f"{_number(min(finite))} to {_number(max(finite))}" if finite else "no nonzero values"
    note = f"|grad| in this graph: {span}" + ("; a box shows its largest" if has_boxes else "")
    return (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0"><TR><TD BORDER="0">|grad|</TD>'
        f'{row}</TR><TR><TD BORDER="0" COLSPAN="{len(swatches) + 1}">{note}</TD></TR></TABLE>>'
    )
