"""MkDocs hooks: the pages of the site that come from the rest of the repository.

They are made at build time:

- `index.md` is README.md, the tour, with its links into docs/ made relative to the site;
- `notebooks/*.ipynb` are the tutorials, which mkdocs-jupyter renders with their stored outputs;
- `reference/*.md` is the API reference from the docstrings (mkdocstrings), one page for each
  public module of REFERENCE, showing the names that module offers;
- `stepthrough/*.html` are live step-through pages, made by `autograd.step_through`.

The guide pages (GUIDES) are files of docs/; the navigation gathers them into one section, and
their links to the notebooks, written for GitHub (`../notebooks/...`), are made the site's.

The rendered notebooks are then freed of what their renderer would load from the network
(MathJax, Mermaid): their TeX math becomes MathML, which browsers show by themselves.
"""

from __future__ import annotations

import ast
import html
import importlib
import logging
import re
import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.hooks.site")  # under "mkdocs": a warning fails a strict build
sys.path.insert(0, str(ROOT))  # the step-through pages come from this checkout's autograd

# The guide pages, in the order of the site's navigation and of the README's list.
GUIDES = [
    "engine.md",
    "transforms.md",
    "your-own-operations.md",
    "step-through.md",
    "training.md",
    "layers.md",
    "tapes.md",
    "interop.md",
    "files-and-threads.md",
    "speed.md",
]

# The public modules: the import paths a user writes, whatever files lie behind them.
REFERENCE = [
    "autograd",
    "autograd.checkpointing",
    "nn",
    "nn.losses",
    "nn.optim",
    "nn.data",
    "nn.train",
    "nn.models",
    "nn.files",
    "nn.init",
    "nn.schedules",
]


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
    for module in REFERENCE:
        files.append(File.generated(config, f"reference/{module}.md", content=reference(module)))
    from autograd import step_through

    for name, example in step_through_examples().items():
        page = step_through(**example).html
        files.append(File.generated(config, f"stepthrough/{name}", content=page))
    return files


def reference(module: str) -> str:
    """The reference page of `module`: its docstring and its public names (`public_names`), each
    under `module.name`. A name the module serves lazily (PEP 562's `__getattr__`) is not in its
    source, so it is documented under the module that defines it."""
    imported = importlib.import_module(module)
    written = set(_source_names(imported))
    names = public_names(module)
    members = "".join(f"\n        - {name}" for name in names if name in written) or " []"
    page = f"---\ntitle: {module}\n---\n::: {module}\n    options:\n      heading_level: 1\n"
    page += f"      members:{members}\n"
    for name in (name for name in names if name not in written):
        page += f"\n::: {_defining_module(imported, name)}.{name}\n"
        page += "    options:\n      heading_level: 2\n"
    return page


def public_names(module: str) -> list[str]:
    """What `module` offers: its `__all__` if it has one; else what its source defines at the top
    level, what it re-exports as `from a import x as x`, and what it serves lazily (`__dir__`)."""
    imported = importlib.import_module(module)
    if hasattr(imported, "__all__"):
        return list(imported.__all__)
    lazy = sorted(set(dir(imported)) - set(vars(imported)))
    return _source_names(imported) + [name for name in lazy if not name.startswith("_")]


def _source_names(module) -> list[str]:
    """The public names a module's source binds at the top level, in source order: definitions,
    assignments, re-exports (`from a import x as x`) and the names of `__all__`."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = list(getattr(module, "__all__", []))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.ImportFrom):
            names += [alias.asname for alias in node.names if alias.asname == alias.name]
    return [name for name in dict.fromkeys(names) if not name.startswith("_")]


def _defining_module(module, name: str) -> str:
    """The module that defines what `module` serves lazily as `name`."""
    value = getattr(module, name)
    origin = getattr(value, "__module__", None)
    if origin is not None and not isinstance(value, str):
        return origin
    for candidate in list(sys.modules.values()):  # a constant: the module that binds it
        if candidate is not module and vars(candidate).get(name) is value:
            if candidate.__name__.startswith(module.__name__.split(".")[0] + "."):
                return candidate.__name__
    raise LookupError(f"cannot tell where {module.__name__}.{name} is defined")


def on_page_markdown(markdown: str, page, config, files) -> str:
    """A guide's links to the notebooks, written for GitHub (docs/ -> ../notebooks/), as the
    site has them (notebooks/ beside the guide)."""
    if page.file.src_uri in GUIDES:
        return markdown.replace("](../notebooks/", "](notebooks/")
    return markdown


def on_nav(nav: Navigation, config, files) -> Navigation:
    """The home page, the guides in GUIDES's order, the tutorials, then the reference in
    REFERENCE's order."""
    guides = Section("Guides", [files.get_file_from_path(uri).page for uri in GUIDES])
    items = [item for item in nav.items if item not in guides.children]
    home = next(i for i, item in enumerate(items) if item.is_page and item.is_homepage)
    items.insert(home + 1, guides)
    for section in items:
        if section.is_section and section.title == "Reference":
            section.children.sort(key=lambda page: REFERENCE.index(page.file.name))
    pages = []

    def link(item, parent) -> None:
        item.parent = parent
        if isinstance(item, Page):
            pages.append(item)
        for child in item.children or []:
            link(child, item)

    for item in items:
        link(item, None)
    for before, page, after in zip([None, *pages], pages, [*pages[1:], None]):
        page.previous_page, page.next_page = before, after
    return Navigation(items, pages)


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
