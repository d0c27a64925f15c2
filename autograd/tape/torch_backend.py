"""A tape on PyTorch tensors: its tables are tensors on the arguments' device, in their dtype.

`autograd.tape.tape.Tape` picks this backend when its arguments are tensors (and
`autograd.tape.arrays` when a rule's array form is handed one); this module is imported only then,
so nothing imports PyTorch unless a tensor is passed in. The traced program is the same: each step
calls its rule's array form with `TorchNamespace` in place of NumPy's
(`autograd.tape.arrays.NUMPY_NAMESPACE`), and uses `TorchBackend` for what a tape needs beyond the
rules (tables, strided views of them, scatter-adds, reading non-finite entries back for the float
forms to recheck).

PyTorch never raises on a domain error either, so the rechecks of `autograd.tape.arrays` work as on
NumPy: a tensor's non-finite entries are computed again by the rule's float form, which raises
the eager engine's exception naming the example. In float32 a result beyond float32's range
becomes an infinity, as in PyTorch, where the eager engine (float64) would give a number.

Why a module per library rather than one code path through `array-api-compat`. The Python array
API standard names the functions an array library should have; NumPy 2.1 and later follow it in
their main namespace, and `array-api-compat` wraps PyTorch (and CuPy, Dask, ...) into namespaces
that do. The rules' array forms are written in its names, so they run on any such namespace, and
that was tried: with `array_api_compat.torch` in place of `TorchNamespace`, every PyTorch test
passes (`tests/test_tape_torch.py`, `tests/test_arrays_torch.py`). What the trial broke first
showed where the rules had leaned on NumPy, and they no longer do: `argmax` of booleans (PyTorch
refuses it), `where` of two numbers (PyTorch makes the result float32, its default, inside a
float64 tape) and `arange` without a device (the default device, not the data's: a GPU tape would
have failed). But the standard covers only the rules. A tape also writes its tables in place,
reads strided views of them, adds repeated rows with a scatter-add, silences NumPy's warnings and
reads single entries back for the rechecks: none of that is in the standard, so this module would
exist either way, and the namespace part of it is sixteen aliases and four small functions. Nor
was compat's namespace faster. A training call (`tape.vjp` and its pullback) of MLP(2, [16, 16,
1])'s tape took 0.389 ms with it against 0.364 with `TorchNamespace` at batch 100, 0.579 against
0.551 at batch 1,000, and the same (8.0 ms) for MLP(784, [128, 10]) with cross-entropy at batch
256, on one CPU thread in float64; on NumPy, `array_api_compat.numpy` hands back NumPy's own
functions for most names and measured the same as `autograd.tape.arrays.NUMPY_NAMESPACE`. (Its
PyTorch wrappers add a Python call to each operation, which shows at small batches only.) So
chainrule writes each backend (NumPy's is `autograd.tape.arrays.NumpyBackend`) and needs no extra
dependency; another library with mutable arrays would take one more module like this one. JAX's
arrays are immutable: a tape that writes its tables in place cannot run on them through any
namespace. `python benchmarks/tape_backends.py --compat` measures both namespaces.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch


class TorchNamespace:
    """The functions the rules' array forms call, on tensors of one device and dtype, under
    NumPy's (and the array API standard's) names; see `autograd.rules` for the list."""

    inf, nan = math.inf, math.nan
    abs = torch.abs
    cos = torch.cos
    exp = torch.exp
    isfinite = torch.isfinite
    log = torch.log
    log1p = torch.log1p
    ones_like = torch.ones_like
    sin = torch.sin
    sqrt = torch.sqrt
    tanh = torch.tanh
    trunc = torch.trunc
    erf = torch.special.erf
    erfc = torch.special.erfc
    where = torch.where  # at least one of its two values is an array (see autograd.rules)
    sum = torch.sum  # torch's reductions take NumPy's axis= for their dim=
    max = torch.amax  # NaN propagates, as in np.max
    argmax = torch.argmax  # the first maximum, as NumPy's

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype

    def maximum(self, x: torch.Tensor, y: Any) -> torch.Tensor:
        if isinstance(y, torch.Tensor):
            return torch.maximum(x, y)
        return torch.clamp_min(x, y)  # NaN stays NaN, as in np.maximum

    def astype(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return x.to(dtype)

    def broadcast_to(self, x: Any, shape: tuple[int, ...]) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        return torch.broadcast_to(x, shape)

    def arange(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.arange(n, device=device)


class TapeFunction(torch.autograd.Function):
    """A tape's call as one operation of PyTorch's autograd: `run(params, arguments)` gives the
    outputs and `pull(cotangents, arguments, params, arguments)`, the tape's pullback, which is
    the backward pass (`Tape._in_torch_graph`)."""

    @staticmethod
    def forward(ctx: Any, run: Any, params: torch.Tensor, *arguments: torch.Tensor) -> Any:
        outputs, ctx.pull = run(params, arguments)
        ctx.save_for_backward(params, *arguments)  # PyTorch refuses them changed in place since
        return outputs

    @staticmethod
    def backward(ctx: Any, cotangents: torch.Tensor) -> tuple:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "tape: PyTorch asked for a graph of the gradient (create_graph=True), but a "
                "tape's backward pass is its own pullback, which PyTorch cannot differentiate. "
                "Take higher derivatives with chainrule's transforms (autograd.hessian, "
                "autograd.grad of autograd.grad) on f itself, or write that part in PyTorch"
            )
        params, *arguments = ctx.saved_tensors
        wanted = ctx.needs_input_grad[2:]
        found = ctx.pull(cotangents, any(wanted), params, tuple(arguments))
        gradients = found.arguments or (None,) * len(wanted)
        gradients = [g if w else None for g, w in zip(gradients, wanted)]
        return None, found.parameters if ctx.needs_input_grad[1] else None, *gradients


class TorchBackend:
    """A tape's tables as tensors of one dtype on one device (`autograd.tape.arrays.NumpyBackend` is
    the same for NumPy). Made once per device and dtype (`backend_for`)."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        self.xp = TorchNamespace(device, dtype)

    def __repr__(self) -> str:
        return f"TorchBackend({self.device}, {self.dtype})"

    def records(self, tensors: tuple, params: Any) -> bool:
        """Whether PyTorch's autograd records an operation on these: grad mode is on and one of
        them (the arguments, or `params=` as a tensor) requires grad."""
        if not torch.is_grad_enabled():
            return False
        return any(isinstance(t, torch.Tensor) and t.requires_grad for t in (*tensors, params))

    def join(self, run: Any, params: torch.Tensor, arguments: tuple) -> torch.Tensor:
        """The outputs of `run` (a tape's call) in PyTorch's graph (`TapeFunction`)."""
        return TapeFunction.apply(run, params, *arguments)

    def quiet(self) -> Any:
        """PyTorch never warns on floating-point errors; and a tape records nothing in its
        autograd."""
        return torch.no_grad()

    def asarray(self, x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.detach().to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.empty(shape, dtype=self.dtype, device=self.device)

    def copy(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone(memory_format=torch.contiguous_format)

    def zero(self, x: torch.Tensor) -> None:
        x.zero_()

    def stack(self, arrays: list, axis: int) -> torch.Tensor:
        return torch.stack(arrays, dim=axis)

    def nonfinite(self, x: torch.Tensor) -> Iterator[int]:
        """The flat indices of the non-finite entries of x."""
        return iter(torch.nonzero(~torch.isfinite(x.reshape(-1))).flatten().tolist())

    def write(self, x: torch.Tensor, index: tuple[int, ...], value: float) -> None:
        """x[index] = value, rounded to x's dtype (beyond float32's range: an infinity)."""
        x[index] = torch.tensor(value, dtype=torch.float64)

    def on_host(self, x: torch.Tensor) -> Any:
        """x as a NumPy array in its own dtype (guards are checked on the host)."""
        return x.cpu().numpy()

    def index(self, rows: Any) -> torch.Tensor:
        """Row numbers (a NumPy array) as an index tensor on the device."""
        return torch.as_tensor(rows, device=self.device)

    def strided(self, table: torch.Tensor, start: int, steps: tuple, shape: tuple) -> torch.Tensor:
        """The view of `table` whose entry [i, j, :] is row start + i steps[0] + j steps[1]."""
        rows, columns = table.stride()
        return table.as_strided(
            (*shape, table.shape[1]),
            (steps[0] * rows, steps[1] * rows, columns),
            table.storage_offset() + start * rows,
        )

    def add_at(self, table: torch.Tensor, rows: torch.Tensor, values: torch.Tensor) -> None:
        """table[rows] += values, a repeated row receiving every one of its shares."""
        table.index_add_(0, rows, values)


_BACKENDS: dict[tuple, TorchBackend] = {}


def backend_for(device: torch.device, dtype: torch.dtype) -> TorchBackend:
    """The one backend of a device and dtype (a tape keeps its steps for it by identity)."""
    found = _BACKENDS.get((device, dtype))
    if found is None:
        found = _BACKENDS.setdefault((device, dtype), TorchBackend(device, dtype))
    return found


def backend_of_arguments(args: tuple, caller: str) -> TorchBackend:
    """The backend for a call's tensors: their device, and float32 if every floating tensor is
    float32, else float64 (so integer tensors count as float64, as NumPy's integer arrays do)."""
    devices = {a.device for a in args}
    if len(devices) > 1:
        raise ValueError(
            f"{caller}: every tensor must be on one device, got {sorted(map(str, devices))}"
        )
    if any(a.dtype == torch.bool for a in args):
        raise TypeError(f"{caller}: tensors must hold numbers, got a torch.bool tensor")
    floating = {a.dtype for a in args if a.is_floating_point() or a.is_complex()}
    other = floating - {torch.float32, torch.float64}
    if other:
        raise TypeError(
            f"{caller}: tensors must be float64 or float32 (a tape computes in one of them), "
            f"got {sorted(map(str, other))}; convert with .double() or .float()"
        )
    dtype = torch.float32 if floating == {torch.float32} else torch.float64
    return backend_for(devices.pop(), dtype)
