"""The tutorial notebooks as committed: executed in order, outputs kept, public API only, small.

nbmake (`python -m pytest --nbmake notebooks/`) runs each notebook in a fresh kernel, which checks
that its cells still pass; these tests check the stored files a reader sees on a code host.
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_BYTES = 500 * 1024
# `from autograd import ...` and the nn modules design.md names are public; the rest is not.
PUBLIC_MODULES = {
    "autograd",
    "nn",
    "nn.data",
    "nn.demo.mnist1d",  # the MNIST-1D models and their training, which 12_convolutions shows
    "nn.linear",
    "nn.losses",
    "nn.norm",
    "nn.optim",
    "nn.recurrent",
    "nn.train",
}
IMPORT = re.compile(r"^\s*(?:from\s+(\S+)\s+import\s+(\([^)]*\)|.+)|import\s+(\S+))", re.MULTILINE)


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def test_the_tutorials_are_there():
    assert [path.name for path in NOTEBOOKS] == [
        "01_the_engine.ipynb",
        "02_graphs.ipynb",
        "03_training.ipynb",
        "04_beyond_first_order.ipynb",
        "05_sequences.ipynb",
        "06_regularisation.ipynb",
        "07_compiled.ipynb",
        "08_beyond_chainrule.ipynb",
        "09_the_1986_experiments.ipynb",
        "10_the_seeds_derivations.ipynb",
        "11_a_gpt_on_scalars.ipynb",
        "12_convolutions.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_executed_top_to_bottom(path):
    counts = [cell["execution_count"] for cell in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_keeps_outputs_and_no_errors(path):
    outputs = [output for cell in code_cells(path) for output in cell["outputs"]]
    assert outputs, f"{path.name} was committed without its outputs"
    errors = [output for output in outputs if output["output_type"] == "error"]
    assert not errors, f"{path.name} holds an error output: {errors[0].get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_imports_only_the_public_api(path):
    for cell in code_cells(path):
        for from_module, names, module in IMPORT.findall(source(cell)):
            imported = from_module or module
            if imported.split(".")[0] not in ("autograd", "nn"):
                continue
            assert imported in PUBLIC_MODULES, f"{path.name} imports {imported}"
            private = [name for name in re.findall(r"\w+", names) if name.startswith("_")]
            assert not private, f"{path.name} imports private names {private} from {imported}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_file_stays_small(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size // 1024} KiB, over {MAX_BYTES // 1024} KiB"
