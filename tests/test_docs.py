"""The documentation site: `mkdocs build --strict` passes (a broken reference or a docstring that
does not render fails it), every page is there, and the site loads nothing from the network."""

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd

for module in ("mkdocs", "material", "mkdocstrings", "mkdocs_jupyter", "latex2mathml", "yaml"):
    pytest.importorskip(module, reason='the docs extra is missing: pip install "chainrule[docs]"')
pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="the Graphviz program is missing"
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", site]
    env = dict(os.environ, PYTHONPATH=path, NO_MKDOCS_2_WARNING="1")  # Material's banner
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"^WARNING\b", result.stderr, re.MULTILINE)
    return out


def text_of(page: Path) -> str:
    """What a reader sees: the page without scripts, styles, drawings, code and tags."""
    body = re.sub(r"<(script|style|svg|pre|code|math)\b.*?</\1>", " ", page.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_home_page_is_the_readme_tour_with_its_pictures(site):
    index = site / "index.html"
    assert "A short tour" in text_of(index) and "Backpropagation, step by step" in text_of(index)
    pictures = re.findall(r'<img[^>]*\bsrc="([^"]+)"', index.read_text())
    assert {"backprop.png", "neuron.svg", "decision_boundary.png"} <= set(pictures)
    assert all((site / picture).is_file() for picture in pictures)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_every_notebook_is_a_page_with_its_stored_outputs_and_its_math_as_mathml(site, notebook):
    page = site / "notebooks" / f"{notebook.stem}.html"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    rendered = page.read_text()
    assert rendered.count('class="jp-OutputArea-child') >= len(outputs) > 0
    assert rendered.count("data:image/png;base64") >= images
    markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    if "$" in markdown:
        assert "<math" in rendered
    assert "$" not in text_of(page)  # no TeX left for a script to typeset


def hooks():
    """docs/hooks/site.py, which holds the site's lists of guide pages and public modules."""
    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs/hooks/site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_guide_page_is_in_the_navigation_in_order_between_the_tour_and_the_tutorials(site):
    index = (site / "index.html").read_text()
    nav = index[index.index("md-nav--primary") :]  # the navigation's links come first from here
    order = list(dict.fromkeys(re.findall(r'href="([^"#]+)"', nav)))
    guides = [page.replace(".md", ".html") for page in hooks().GUIDES]
    assert [page for page in order if page in guides] == guides
    assert order.index(guides[-1]) < min(
        order.index(p) for p in order if p.startswith("notebooks/")
    )
    for guide in guides:
        assert (site / guide).is_file()


def test_every_reference_page_documents_the_public_names_of_its_module(site):
    import importlib

    site_hooks = hooks()
    references = sorted(page.stem for page in (site / "reference").glob("*.html"))
    assert references == sorted(site_hooks.REFERENCE)
    for module in site_hooks.REFERENCE:
        page = (site / "reference" / f"{module}.html").read_text()
        imported = importlib.import_module(module)
        in_source = site_hooks._source_names(imported)
        names = site_hooks.public_names(module)
        assert names, module
        ids = [  # a name served lazily is documented under the module that defines it
            f"{module if name in in_source else site_hooks._defining_module(imported, name)}.{name}"
            for name in names
        ]
        assert [i for i in ids if f'id="{i}"' not in page] == [], module


def test_the_reference_documents_every_public_name_of_autograd_and_nn(site):
    import nn

    reference = (site / "reference" / "autograd.html").read_text()
    missing = [name for name in autograd.__all__ if f'id="autograd.{name}"' not in reference]
    assert missing == []
    reference = (site / "reference" / "nn.html").read_text()
    assert [name for name in nn.__all__ if f'id="nn.{name}"' not in reference] == []
    for module in ("nn.losses", "nn.optim", "nn.data", "nn.train"):
        assert (site / "reference" / f"{module}.html").is_file()
    for page in (site / "reference").glob("*.html"):  # examples as code, not as quotations
        assert "<blockquote" not in page.read_text()
    prompts = (site / "reference" / "autograd.html").read_text().count('class="gp">&gt;&gt;&gt;')
    assert prompts >= len(autograd.__all__)


def test_the_step_through_page_embeds_pages_built_with_the_site(site):
    page = (site / "step-through.html").read_text()
    frames = re.findall(r'<iframe src="([^"]+)"', page)
    assert frames == ["stepthrough/neuron.html", "stepthrough/shared.html", "stepthrough/mlp.html"]
    for frame in frames:
        assert (site / frame).read_text().startswith("<!DOCTYPE html>")


def test_no_page_script_or_style_sheet_asks_the_network_for_anything(site):
    remote = re.compile(
        r"""<(?:script|img|iframe)[^>]*\bsrc=["']https?:"""
        r"""|<link[^>]*\bhref=["']https?:"""
        r"""|@import\s+(?:url\()?["']?https?:|url\(["']?https?:"""
        r"""|import\s*\(\s*["']https?:|fonts\.googleapis"""
    )
    pages = [*site.rglob("*.html"), *site.rglob("*.css")]
    offending = {str(p.relative_to(site)) for p in pages if remote.search(p.read_text())}
    assert offending == set()


def test_a_reference_to_nothing_fails_the_strict_build(tmp_path):
    yaml = pytest.importorskip("yaml")
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("hooks"))
    (docs / "broken.md").write_text(
        "# Broken\n\nSee [the missing function][autograd.no_such_thing].\n"
    )
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config["docs_dir"] = str(docs)
    config["hooks"] = [str(ROOT / "docs/hooks/site.py")]
    # Without the notebooks' plugin (the slow part) they are copied as files, not rendered.
    config["plugins"] = [p for p in config["plugins"] if "mkdocs-jupyter" not in p]
    (plugin,) = [p for p in config["plugins"] if isinstance(p, dict) and "mkdocstrings" in p]
    python = plugin["mkdocstrings"]["handlers"]["python"]
    python["paths"] = [str(ROOT)]
    python["options"]["extensions"] = [str(ROOT / "docs/hooks/doctest_blocks.py")]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "autograd.no_such_thing" in result.stderr


def test_the_site_opens_from_disk_and_loads_only_its_own_files(site, chromium):
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    for name in ("index.html", f"notebooks/{NOTEBOOKS[0].stem}.html", "step-through.html"):
        page.goto((site / name).as_uri())
        page.wait_for_load_state("load")
    frame = page.frame_locator('iframe[src="stepthrough/neuron.html"]')
    for _ in range(3):
        frame.locator("#next").click()
    assert frame.locator("#arithmetic").inner_text() == "n1 = x1 * w1 = 1.5 * -0.8 = -1.2"
    page.close()
    outside = [url for url in requests if not url.startswith(("file://", "data:", "about:"))]
    assert outside == []
