"""The README's two opening commands are the ones CI and users run."""

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


def _python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


# The third-party packages README examples import, and the extra that installs each.
EXTRAS = {"numpy": "tape", "torch": "torch", "onnx": "onnx", "onnxruntime": "onnx"}


def test_the_readme_has_python_examples_and_names_the_extra_of_every_package_they_import():
    examples = _python_examples()
    assert len(examples) >= 5
    imported = {name for example in examples for name in _imports(example)}
    assert imported - set(sys.stdlib_module_names) - {"autograd", "nn"} <= set(EXTRAS)


def _imports(example: str) -> set[str]:
    return set(re.findall(r"^(?:from|import) (\w+)", example, re.M))


@pytest.mark.parametrize("number", range(len(_python_examples())))
def test_every_python_example_in_the_readme_runs(number, tmp_path, monkeypatch):
    example = _python_examples()[number]
    for name in sorted(_imports(example) & set(EXTRAS)):  # as a user without that extra sees
        pytest.importorskip(name, reason=f'needs {name}: pip install "chainrule[{EXTRAS[name]}]"')
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    exec(compile(example, "README.md", "exec"), {})
