"""The public names of `autograd` and `nn` stay what they are once every submodule is loaded.

Loading a submodule sets an attribute of its package to the module: a file named like a public
function (`autograd/steps.py` beside `autograd.steps`) would replace the function the first time
something imported the file.
"""

import importlib
import pkgutil
import types

import pytest

import autograd
import nn


@pytest.mark.parametrize("package", [autograd, nn], ids=lambda package: package.__name__)
def test_no_submodule_shadows_a_public_name(package):
    pytest.importorskip("numpy")  # the tape's modules import it
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in ("demo", "demo_digits"):
            continue  # programs, not library modules
        try:
            importlib.import_module(f"{package.__name__}.{info.name}")
        except ImportError:  # an extra that is not installed here
            continue
    shadowed = [
        name for name in package.__all__ if isinstance(getattr(package, name), types.ModuleType)
    ]
    assert shadowed == []
