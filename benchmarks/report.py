"""Printing the results: a table of medians, the ratios, and PASS/FAIL for each target."""

from __future__ import annotations

from dataclasses import dataclass, field

Cell = float | str  # a figure, or the reason there is none ("RecursionError", "n/a", ...)


@dataclass
class Row:
    """One line of the table: a figure per engine, in `unit`."""

    label: str
    unit: str
    values: dict[str, Cell]
    api: str = ""  # how chainrule is used for this row
    timed: bool = True  # whether ratios (smaller is faster) make sense
    notes: dict[str, str] = field(default_factory=dict)  # engine -> a mark after the figure
    samples: dict = field(default_factory=dict)  # engine -> every measurement, for --json


@dataclass
class Target:
    """One goal the project set itself, its measured figure, and the figure it must reach.

    `passed` is None for a row kept as information: a figure reported with no goal to meet.
    """

    name: str
    measured: Cell
    goal: str
    passed: bool | None
    beside: str = ""


def figure(value: Cell) -> str:
    """A cell as the table shows it: about three significant figures, or why it is missing.

    >>> figure(1234567.0), figure(123.4), figure(12.34), figure(0.01234), figure("RecursionError")
    ('1,234,567', '123', '12.3', '0.0123', 'RecursionError')
    """
    if isinstance(value, str):
        return value
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio(numerator: Cell, denominator: Cell) -> Cell:
    """numerator / denominator, or '-' when either is missing."""
    if isinstance(numerator, str) or isinstance(denominator, str) or denominator == 0:
        return "-"
    return numerator / denominator


def _table(header: list[str], lines: list[list[str]], left: tuple[int, ...] = (0,)) -> str:
    """Columns padded to their widest cell; the columns in `left` are aligned left."""
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def render(line: list[str]) -> str:
        cells = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([render(header), "-" * len(render(header)), *map(render, lines)])


def medians_table(rows: list[Row], engines: list[str]) -> str:
    """The medians, one column per engine, then the API chainrule uses for the row."""
    header = ["workload [unit]", *engines, "chainrule API"]
    lines = [
        [
            f"{row.label} [{row.unit}]",
            *(figure(row.values.get(e, "-")) + row.notes.get(e, "") for e in engines),
            row.api,
        ]
        for row in rows
    ]
    return _table(header, lines, left=(0, len(header) - 1))


def ratios_table(rows: list[Row], engines: list[str], reference: str) -> str:
    """Each engine's time divided by the reference engine's: how many times longer it takes.

    Rows where no other engine has a figure are left out.
    """
    others = [e for e in engines if e != reference]
    lines = []
    for row in rows:
        base = row.values.get(reference, "-")
        ratios = [ratio(row.values.get(e, "-"), base) for e in others]
        if row.timed and any(not isinstance(r, str) for r in ratios):
            lines.append([row.label, *map(figure, ratios)])
    return _table(["workload", *(f"{e}/{reference}" for e in others)], lines)


def targets_table(targets: list[Target]) -> str:
    """PASS or FAIL for each target (INFO for a figure with no goal), with the measured figure
    and the goal."""
    verdict = {True: "PASS", False: "FAIL", None: "INFO"}
    lines = [[verdict[t.passed], t.name, figure(t.measured), t.goal, t.beside] for t in targets]
    return _table(["", "target", "measured", "goal", ""], lines, left=(0, 1, 4))


def at_least(name: str, measured: Cell, goal: float, beside: str = "") -> Target:
    """A target met when the figure is at least `goal` (a missing figure fails)."""
    passed = not isinstance(measured, str) and measured >= goal
    return Target(name, measured, f">= {goal:,}", passed, beside)


def at_most(name: str, measured: Cell, goal: float, beside: str = "") -> Target:
    """A target met when the figure is at most `goal` (a missing figure fails)."""
    passed = not isinstance(measured, str) and measured <= goal
    return Target(name, measured, f"<= {goal:,}", passed, beside)


def information(name: str, measured: Cell, beside: str = "") -> Target:
    """A figure reported beside the targets, with no goal: neither PASS nor FAIL."""
    return Target(name, measured, "(information)", None, beside)
