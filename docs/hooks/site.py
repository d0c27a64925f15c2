"""MkDocs hooks: the pages of the site that come from the rest of the repository.

They are made at build time, with nothing listed by hand:

- `index.md` is README.md, the tour, with its links into docs/ made relative to the site;
- `notebooks/*.ipynb` are the tutorials, which mkdocs-jupyter renders with their stored outputs;
- `reference/*.md` is the API reference from the docstrings (mkdocstrings): `autograd`, `nn`, and
  each module of nn whose names nn does not re-export;
- `stepthrough/*.html` are live step-through pages, made by `autograd.step_through`.

The rendered notebooks are then freed of what their renderer would load from the network
(MathJax, Mermaid): their TeX math becomes MathML, which browsers show by themselves.
"""

from __future__ import annotations

import html
import logging
import re
import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.hooks.site")  # under "mkdocs": a warning fails a strict build
sys.path.insert(0, str(ROOT))  # the step-through pages come from this checkout's autograd


def step_through_examples() -> dict[str, object]:
    """The graphs that docs/step-through.md embeds, by file name."""
    from autograd import Value
    from nn import MLP
    from nn.demo import tanh_neuron

    a = Value(2.0, label="a")
    shared = (a + a) * a
    shared.label = "y"
    x1, x2 = Value(0.5, label="x1"), Value(-1.0, label="x2")
    mlp = MLP(2, [4, 4, 1], seed=0)([x1, x2])
    return {
        "neuron.html": {"root": tanh_neuron()},
        "shared.html": {"root": shared},
        "mlp.html": {"root": mlp, "collapse": "neuron"},
    }


@event_priority(100)  # before mkdocs-jupyter looks for notebooks among the files
def on_files(files: Files, config) -> Files:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = re.sub(r'(\]\(|src=")docs/', r"\1", readme)
    files.append(File.generated(config, "index.md", content=readme))
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        # A real file under the repository (not File.generated): mkdocs-jupyter reads it there.
        uri = f"notebooks/{notebook.name}"
        files.append(File(uri, str(ROOT), config.site_dir, config.use_directory_urls))
    for module in reference_modules():
        page = f"---\ntitle: {module}\n---\n::: {module}\n    options:\n      heading_level: 1\n"
        files.append(File.generated(config, f"reference/{module}.md", content=page))
    from autograd import step_through

    for name, example in step_through_examples().items():
        page = step_through(**example).html
        files.append(File.generated(config, f"stepthrough/{name}", content=page))
    return files


def reference_modules() -> list[str]:
    """`autograd` (its public names are all re-exported), `nn`, and the modules of nn that
    nn/__init__.py does not import from (nn.losses, nn.optim, ...)."""
    init = (ROOT / "nn" / "__init__.py").read_text(encoding="utf-8")
    re_exported = set(re.findall(r"^from nn\.(\w+) import", init, re.MULTILINE))
    modules = sorted(path.stem for path in (ROOT / "nn").glob("*.py"))
    return ["autograd", "nn"] + [
        f"nn.{name}" for name in modules if not name.startswith("_") and name not in re_exported
    ]


def on_nav(nav, config, files):
    """The reference in module order: autograd, nn, then nn's modules."""
    for section in nav.items:
        if section.is_section and section.title == "Reference":
            section.children.sort(key=lambda page: page.file.src_uri.split("/")[-1][:-3].split("."))
    return nav


def on_post_page(output: str, page, config) -> str:
    if not page.file.src_uri.startswith("notebooks/"):
        return output
    output = _LOADERS.sub("", output)
    return _math_to_mathml(output)


# The scripts nbconvert puts in a notebook's page to load MathJax (from a CDN, or an empty
# address) and Mermaid (imported from a CDN); with the math in MathML neither is needed.
_LOADERS = re.compile(
    r'<script[^>]*\bsrc="(?:https?://[^"]*)?"[^>]*>\s*</script>'
    r"|<script[^>]*>(?:(?!</script>).)*?(?:MathJax|mermaid)(?:(?!</script>).)*</script>",
    re.S,
)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$]+?)(?<![\s\\])\$", re.S)
_SKIP = re.compile(r"(<(pre|code|script|style|svg)\b.*?</\2>)", re.S)


def _math_to_mathml(page: str) -> str:
    """Every $...$ and $$...$$ outside code, scripts and drawings, as MathML."""
    from latex2mathml.converter import convert

    def replace(match: re.Match) -> str:
        display, inline = match.groups()
        tex = html.unescape(display if display is not None else inline)
        try:
            return convert(tex, display="block" if display is not None else "inline")
        except Exception as error:  # latex2mathml raises its own kinds; strict builds fail on this
            log.warning("cannot turn the TeX %r into MathML: %s", tex, error)
            return match.group(0)

    parts = _SKIP.split(page)
    # split() returns text, then each skipped element with its tag name: convert the text only
    return "".join(
        _MATH.sub(replace, part) if i % 3 == 0 else part
        for i, part in enumerate(parts)
        if i % 3 != 2
    )
