"""Doctests and notebooks that need an optional extra skip, naming it, where it is missing.

(Test files skip themselves with `pytest.importorskip`.) `nn/interop/torch_modules.py` and
`autograd/tape/torch_backend.py` import torch themselves, so without torch they are not collected at
all; the other modules import their extra only inside functions, so their examples are skipped
one by one, as is a notebook that imports one.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
# The packages each module's examples or each notebook imports, and the extras that install them.
NEEDS = {
    "notebooks/08_beyond_chainrule.ipynb": ["torch", "onnx", "onnxruntime"],
    "notebooks/11_a_gpt_on_scalars.ipynb": ["names"],
    "nn/interop/pytorch.py": ["torch"],
    "nn/interop/torch_modules.py": ["torch"],
    "nn/interop/torch_structure.py": ["torch"],
    "nn/interop/onnx_export.py": ["onnx", "onnxruntime"],
    "nn/interop/onnx_graph.py": ["onnx"],
    "nn/interop/onnx_recurrent.py": ["onnx"],
    "nn/interop/onnx_conv.py": ["onnx"],
    "nn/interop/onnx_gpt.py": ["onnx"],
    "nn/data/mnist1d.py": ["mnist1d"],
    "nn/demo/mnist1d.py": ["mnist1d"],
    "notebooks/12_convolutions.ipynb": ["mnist1d"],
}
EXTRAS = {
    "torch": "torch", "onnx": "onnx", "onnxruntime": "onnx", "mnist1d": "mnist1d", "names": "names",
}  # fmt: skip


def _missing(packages: list[str]) -> list[str]:
    return [package for package in packages if importlib.util.find_spec(package) is None]


# Modules that import their extra at the top are not collected at all without it.
collect_ignore = (
    ["nn/interop/torch_modules.py", "autograd/tape/torch_backend.py"] if _missing(["torch"]) else []
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    path = Path(str(item.path)).resolve()
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else ""
    missing = _missing(NEEDS.get(name, []))
    if missing:
        extras = sorted({EXTRAS[package] for package in missing})
        installs = " ".join(f'"chainrule[{extra}]"' for extra in extras)
        pytest.skip(f"needs {', '.join(missing)}: pip install {installs}")
