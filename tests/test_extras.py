"""nn without its extras: `import nn` needs neither PyTorch nor onnx, and the functions that do
need one say which `pip install` brings it. These tests run whether or not the extras are
installed: a subprocess makes them unimportable."""

import subprocess
import sys
import textwrap

import pytest

from nn.extras import require


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


# --- without the extras -------------------------------------------------------------------------
def test_importing_nn_and_autograd_loads_neither_torch_nor_onnx():
    result = run_python(
        """
        import sys
        import autograd, nn, nn.interop, nn.interop.onnx_export
        print(sorted({"torch", "onnx", "onnxruntime", "numpy"} & set(sys.modules)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_extras_nn_works_and_the_converters_name_the_install():
    result = run_python(
        """
        import sys
        for name in ("torch", "onnx", "onnxruntime"):
            sys.modules[name] = None  # as if not installed: importing it raises ImportError
        import nn
        model = nn.MLP(2, [3, 1], seed=0)
        model([1.0, 2.0]).backward()
        for call in (lambda: nn.to_torch(model), lambda: nn.from_torch(object()),
                     lambda: nn.export_onnx(model, "never.onnx")):
            try:
                call()
            except ImportError as error:
                print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        'to_torch needs torch (not installed): pip install "chainrule[torch]"',
        'from_torch needs torch (not installed): pip install "chainrule[torch]"',
        'export_onnx needs onnx (not installed): pip install "chainrule[onnx]"',
    ]


def test_require_returns_the_module_or_names_the_install():
    assert require("math", "none", "this test").pi > 3
    with pytest.raises(ImportError, match=r'export_onnx needs onnx_missing .*"chainrule\[onnx\]"'):
        require("onnx_missing", "onnx", "export_onnx")
