"""NumPy's namespace for the rules' array forms: what `autograd.rules` hands an array form as `np`.

It imports NumPy, so only an array reaching a rule, or a tape, loads it; the eager engine never
does. `autograd.tape.torch_backend.TorchNamespace` has the same names for PyTorch tensors.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    # NumPy has no erf: math.erf entry by entry (gelu and erf are rare in a tape, and exact)
    return np.frompyfunc(math.erf, 1, 1)(x).astype(float)


def _erfc(x: np.ndarray) -> np.ndarray:
    return np.frompyfunc(math.erfc, 1, 1)(x).astype(float)


# What the rules' array forms may call (see `autograd.rules`), bound to NumPy: its own functions,
# but the ufuncs' reduce for sum and max and the method for astype, which skip a Python layer
# (a microsecond a call, which a tape of small steps notices); the results are the same.
NUMPY_NAMESPACE = SimpleNamespace(
    inf=np.inf,
    nan=np.nan,
    **{name: getattr(np, name) for name in ("abs", "arange", "argmax", "broadcast_to", "cos")},
    **{name: getattr(np, name) for name in ("exp", "isfinite", "log", "log1p", "maximum")},
    **{name: getattr(np, name) for name in ("ones_like", "sin", "sqrt", "tanh", "trunc", "where")},
    sum=np.add.reduce,
    max=np.maximum.reduce,
    astype=lambda x, dtype: x.astype(dtype),
    erf=_erf,
    erfc=_erfc,
)
