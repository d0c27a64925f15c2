"""Optional dependencies: imported only when a function needs them, with the install to run if not.

The core (`autograd` and eager `nn`) needs nothing beyond tqdm; PyTorch (`chainrule[torch]`) and
onnx with onnxruntime (`chainrule[onnx]`) are extras that `nn.to_torch`, `nn.from_torch` and
`nn.export_onnx` import when they are called.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def require(package: str, extra: str, needed_by: str) -> ModuleType:
    """Import `package`, or raise ImportError naming the `pip install` that brings it.

    >>> require("math", "none", "this example").pi > 3
    True
    >>> require("no_such_package", "onnx", "export_onnx")
    Traceback (most recent call last):
    ...
    ImportError: export_onnx needs no_such_package (not installed): pip install "chainrule[onnx]"
    """
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise ImportError(
            f'{needed_by} needs {package} (not installed): pip install "chainrule[{extra}]"'
        ) from error
