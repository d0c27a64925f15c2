"""The README's two opening commands are the ones CI and users run, every Python example of the
README and of the guides in docs/ runs, and the README's figures about the code hold."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _opening_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def test_readme_opens_with_an_install_and_demo_command_then_an_install_and_test_command():
    demo, tests = _opening_commands()
    assert demo.startswith("pip install -e ") and "python -m nn.demo" in demo
    assert tests.startswith("pip install -e ") and tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    _, tests = _opening_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert tests in ci_lines


# The README and the guide pages: the manual, whose examples the suite runs.
PAGES = ["README.md", *sorted(str(page.relative_to(ROOT)) for page in (ROOT / "docs").glob("*.md"))]


def _python_examples(page: str = "README.md") -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", (ROOT / page).read_text(), re.S)


EXAMPLES = [(page, number) for page in PAGES for number in range(len(_python_examples(page)))]

# The third-party packages the examples import, and the extra that installs each.
EXTRAS = {"numpy": "tape", "torch": "torch", "onnx": "onnx", "onnxruntime": "onnx"}


def test_the_readme_has_python_examples_and_names_the_extra_of_every_package_they_import():
    assert len(_python_examples()) >= 5
    examples = [example for page in PAGES for example in _python_examples(page)]
    imported = {name for example in examples for name in _imports(example)}
    assert imported - set(sys.stdlib_module_names) - {"autograd", "nn"} <= set(EXTRAS)


def _imports(example: str) -> set[str]:
    return set(re.findall(r"^(?:from|import) (\w+)", example, re.M))


@pytest.mark.parametrize("page, number", EXAMPLES, ids=[f"{p}:{n}" for p, n in EXAMPLES])
def test_every_python_example_in_the_readme_and_the_guides_runs(
    page, number, tmp_path, monkeypatch
):
    example = _python_examples(page)[number]
    for name in sorted(_imports(example) & set(EXTRAS)):  # as a user without that extra sees
        pytest.importorskip(name, reason=f'needs {name}: pip install "chainrule[{EXTRAS[name]}]"')
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    exec(compile(example, page, "exec"), {})


def test_the_readme_links_every_guide_page_and_every_link_of_the_manual_leads_to_a_file():
    readme = (ROOT / "README.md").read_text()
    guides = {page for page in PAGES if page.startswith("docs/")}
    assert guides <= set(re.findall(r"\]\((docs/[\w-]+\.md)", readme))
    for page in PAGES:
        targets = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", (ROOT / page).read_text())
        missing = [t for t in targets if not ((ROOT / page).parent / t).exists()]
        assert missing == [], page


# The core's modules, whose length the README states.
CORE = ["value", "rules", "backward", "modes", "functional", "forward", "auxiliary", "collector"]


def test_the_readme_states_the_length_of_the_core_within_five_percent():
    (stated,) = re.findall(
        r"The core \(.*?\) is about ([\d,]+) lines", (ROOT / "README.md").read_text(), re.S
    )
    lines = sum(len((ROOT / "autograd" / f"{name}.py").read_bytes().splitlines()) for name in CORE)
    assert abs(int(stated.replace(",", "")) - lines) <= 0.05 * lines, (stated, lines)
