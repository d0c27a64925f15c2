"""The step-through page: `draw_graph`'s drawing, animated by the records of `steps(root)`.

The page is one HTML file: the SVG Graphviz lays out, the frames as JSON, and the script and
style sheet beside this module (`stepthrough.js`, `stepthrough.css`, `stepthrough.html`), all
inline. It loads nothing, so it opens from disk, offline, in any browser.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from autograd.drawing.formulas import number
from autograd.drawing.graph import Collapse, Drawing, _layout
from autograd.drawing.steps import BackwardStep, ForwardStep, Step, check_budget, steps
from autograd.value import Value

_MOST_LINES = 8  # a collapsed box's frame lists this many steps, then says how many more


class StepThrough:
    """A step-through page: shows inline in Jupyter, and `save(path)` writes it as HTML.

    `steps` holds the records it steps through (`autograd.steps`); `html` is the page.
    """

    def __init__(self, page: str, records: list[Step], height: int) -> None:
        self.html = page
        self.steps = records
        self._height = height

    def save(self, path: str | Path) -> Path:
        """Write the page into `path` (a .html or .htm file); returns the path."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise ValueError(
                f"StepThrough.save: {str(path)!r} should end in .html or .htm, "
                f"got the suffix {path.suffix!r}"
            )
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # A frame of its own keeps the page's script, styles and keys apart from the notebook's.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self._height}px; border: 1px solid #ddd" '
            'title="backpropagation, step by step"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<StepThrough of {len(self.steps)} steps>"


def step_through(
    root: Value,
    *,
    collapse: Collapse | None = None,
    max_nodes: int | None = 500,
    rankdir: str = "LR",
) -> StepThrough:
    """A page that steps through the forward pass and the backward sweep of `root`'s graph.

    It shows inline in Jupyter, and `save("backprop.html")` writes it as one HTML file that
    opens from disk in any browser: no server, no network. The graph is `draw_graph`'s; Next,
    Back, Play, a slider and the arrow keys move through the records of `steps(root)`.
    `collapse` and `max_nodes` are `draw_graph`'s: a box of a collapsed scope steps as one.
    Laying out the graph needs the Graphviz program `dot`.

    >>> import os, tempfile
    >>> from autograd import Value, step_through
    >>> x = Value(0.5, label="x")
    >>> page = step_through(x.tanh() * x)
    >>> path = page.save(os.path.join(tempfile.mkdtemp(), "backprop.html"))
    >>> path.read_text().startswith("<!DOCTYPE html>")
    True
    """
    if not isinstance(root, Value):
        raise TypeError(f"step_through: expected a Value, got {type(root).__name__} {root!r}")
    check_budget(max_nodes, "step_through")
    return build_page(root, steps(root), collapse=collapse, max_nodes=max_nodes, rankdir=rankdir)


def build_page(
    root: Value,
    records: list[Step],
    *,
    collapse: Collapse | None,
    max_nodes: int | None,
    rankdir: str,
) -> StepThrough:
    """The page for `root`'s graph, stepping through `records` (which `steps(root)` made)."""
    widest: dict[Value, str] = {}  # records are laid out wide enough for every running grad
    for record in records:
        if isinstance(record, BackwardStep):
            text = number(record.after)
            if len(text) > len(widest.get(record.parent, "")):
                widest[record.parent] = text
    names = {record.node: record.name for record in records if isinstance(record, ForwardStep)}
    drawing = _layout(
        root,
        "step_through",
        rankdir=rankdir,
        max_nodes=max_nodes,
        collapse=collapse,
        grad_text=lambda node: widest[node],
        names=names,
    )
    svg = drawing.graph.pipe(format="svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]
    frames = _frames(records, drawing)
    data = {"frames": frames, "forward": sum(f["phase"] == "forward" for f in frames)}
    title = f"Backpropagation through {names[root]}, step by step"
    parts = {
        "title": html.escape(title),
        "css": _asset("stepthrough.css"),
        "svg": svg,
        # "</script" in a label would end the script element early; JSON reads \u003c as "<".
        "data": json.dumps(data, separators=(",", ":")).replace("<", "\\u003c"),
        "js": _asset("stepthrough.js"),
    }
    page = re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], _asset("stepthrough.html"))
    height_pt = float(re.search(r'height="([\d.]+)pt"', svg).group(1))
    return StepThrough(page, records, height=round(min(height_pt * 4 / 3, 560)) + 250)


def _asset(name: str) -> str:
    return resources.files("autograd.drawing").joinpath(name).read_text(encoding="utf-8")


def _frames(records: list[Step], drawing: Drawing) -> list[dict[str, Any]]:
    """What the page shows at each step: the lit node, arrows and targets, the lines of
    arithmetic, and the fields it sets.

    A collapsed box steps as one: its forward steps become one frame where its last one was (all
    its inputs are known by then), and each run of backward steps inside it becomes one frame
    (a run, not all of them, so that every running grad the page shows is the engine's).
    """
    last_forward = {}  # box -> index of its last forward step
    for i, record in enumerate(records):
        if isinstance(record, ForwardStep) and drawing.unit[record.node] in drawing.boxes:
            last_forward[drawing.unit[record.node]] = i
    frames: list[dict[str, Any]] = []
    pending: dict[str, list[dict[str, Any]]] = {}  # box -> its forward frames so far
    run: list[dict[str, Any]] = []  # the backward frames of the box being swept
    for i, record in enumerate(records):
        frame = _frame(record, drawing)
        box = frame["current"] if frame["current"] in drawing.boxes else None
        if run and (box is None or box != run[0]["current"]):
            frames.append(_box_frame(run, drawing))
            run = []
        if box is None:
            frames.append(frame)
        elif isinstance(record, ForwardStep):
            pending.setdefault(box, []).append(frame)
            if last_forward[box] == i:
                frames.append(_box_frame(pending.pop(box), drawing))
        else:
            run.append(frame)
    if run:
        frames.append(_box_frame(run, drawing))
    return frames


def _frame(record: Step, drawing: Drawing) -> dict[str, Any]:
    """The frame of one step."""
    if isinstance(record, ForwardStep):
        node, sources, targets = record.node, list(record.node.parents), []
    elif record.child is None:  # the seed
        node, sources, targets = record.parent, [], []
    else:
        node, sources, targets = record.child, [record.parent], [drawing.unit[record.parent]]
    unit, inlet = drawing.unit[node], drawing.inlet[node]
    # No arrow is drawn between two nodes of one box.
    edges = [drawing.edge(source, node) for source in sources if drawing.unit[source] != inlet]
    if inlet != unit:  # the operation's own arrow into its record
        edges.append(f"{inlet}->{unit}")
    sets = []
    if isinstance(record, ForwardStep) and unit not in drawing.boxes:
        sets.append([unit, "data", f"data {number(record.value)}"])
    if isinstance(record, BackwardStep) and drawing.unit[record.parent] not in drawing.boxes:
        sets.append([drawing.unit[record.parent], "grad", f"grad {number(record.after)}"])
    return {
        "phase": record.phase,
        "current": unit,
        "targets": [target for target in targets if target != unit],
        "nodes": [inlet] if inlet != unit else [],
        "edges": edges,
        "sets": sets,
        "title": _title(record),
        "lines": [str(record)],
    }


def _box_frame(parts: list[dict[str, Any]], drawing: Drawing) -> dict[str, Any]:
    """One frame for consecutive steps of one box. The lines listed are those that reach
    outside the box (all of them in the forward pass), up to `_MOST_LINES`."""
    first = parts[0]
    phase, box = first["phase"], drawing.boxes[first["current"]]
    lines = [p["lines"][0] for p in parts if phase == "forward" or p["targets"]]
    hidden = len(parts) - min(len(lines), _MOST_LINES)
    lines = lines[:_MOST_LINES] + ([f"... and {hidden} more steps"] if hidden else [])
    count = f"{len(parts)} step{'s' * (len(parts) > 1)}"
    name = "forward pass" if phase == "forward" else "backward sweep"
    return {
        "phase": phase,
        "current": first["current"],
        "targets": list(dict.fromkeys(t for p in parts for t in p["targets"])),
        "nodes": [],
        "edges": list(dict.fromkeys(e for p in parts for e in p["edges"])),
        "sets": [s for p in parts for s in p["sets"]],
        "title": f"{box}: {count} of the {name} as one box",
        "lines": lines,
    }


def _title(record: Step) -> str:
    """The headline of a step: what happens, in words."""
    if isinstance(record, ForwardStep):
        if not record.expression:
            return f"{record.name} is a leaf (an input or a parameter): its value is given"
        return f"computing {record.name} from its inputs"
    if record.child is None:
        name = record.parent_name
        return f"the sweep starts at {name}: d{name}/d{name} = 1"
    return (
        f"backward() visits {record.child_name} (node {record.visit + 1}) and passes "
        f"local derivative * {record.child_name}.grad to {record.parent_name}"
    )
