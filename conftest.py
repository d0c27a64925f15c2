"""Doctest collection (`--doctest-modules` over autograd and nn) leaves out a module whose
optional extra is not installed: importing it would fail, and its tests skip with a reason."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("autograd/torch_backend.py")
