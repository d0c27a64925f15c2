"""One traced program on each array backend: a tape's forward and backward on NumPy arrays and on
PyTorch tensors (float64 and float32; a CUDA device where there is one).

    python benchmarks/tape_backends.py            # milliseconds per training call, median of 7
    python benchmarks/tape_backends.py --compat   # also with array-api-compat's namespaces

Two tapes: MLP(2, [16, 16, 1]) (mlp_step's model) at batch 100 and 1,000, and MLP(784, [128, 10])
with cross-entropy at batch 256. Each call is what a training step asks of a tape: `tape.vjp`
(reading the parameters, running the steps forward) and its pullback for the parameters'
gradients only (`arguments=False`), as `fit(compile=True)` does. One thread
each for NumPy's BLAS and PyTorch, as in the vectorised rows of run.py. With `--compat`, the rules'
array forms get `array_api_compat.numpy` / `array_api_compat.torch` in place of the NumPy module
and `autograd.tape.torch_backend.TorchNamespace`: the measurement behind the choice recorded there.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import checkout  # noqa: F401  (first: makes `autograd` and `nn` this checkout's)
from measure import alternate, median
from vectorised import single_threaded


def tapes() -> dict[str, tuple]:
    """name -> (tape, inputs as a NumPy array, calls per sample)."""
    import numpy as np

    from autograd import trace
    from nn import MLP
    from nn.losses import cross_entropy

    rng = np.random.default_rng(0)
    small = MLP(2, [16, 16, 1], seed=0)
    small_tape = trace(lambda x: small(x), [0.5, -0.5])
    mnist = MLP(784, [128, 10], seed=0)
    mnist_tape = trace(lambda x: cross_entropy([mnist(x)], [3]), [0.0] * 784)
    return {
        "MLP(2, [16, 16, 1]), batch 100": (small_tape, rng.normal(size=(100, 2)), 50),
        "MLP(2, [16, 16, 1]), batch 1,000": (small_tape, rng.normal(size=(1000, 2)), 20),
        "MLP(784, [128, 10]) cross-entropy, batch 256": (
            mnist_tape,
            rng.normal(size=(256, 784)),
            3,
        ),
    }


def backends(compat: bool) -> dict[str, tuple]:
    """column -> (how the inputs are made from a NumPy array, the namespace swap or None)."""
    import torch

    found = {
        "numpy": (lambda X: X, None),
        "torch cpu f64": (lambda X: torch.tensor(X), None),
        "torch cpu f32": (lambda X: torch.tensor(X, dtype=torch.float32), None),
    }
    if torch.cuda.is_available():
        found["torch cuda f64"] = (lambda X: torch.tensor(X, device="cuda"), None)
        found["torch cuda f32"] = (
            lambda X: torch.tensor(X, dtype=torch.float32, device="cuda"),
            None,
        )
    if compat:
        import array_api_compat.numpy
        import array_api_compat.torch

        found["numpy, compat"] = (lambda X: X, ("numpy", array_api_compat.numpy))
        found["torch cpu f64, compat"] = (
            lambda X: torch.tensor(X),
            ("torch", array_api_compat.torch),
        )
    return found


def use_namespace(swap: tuple | None) -> None:
    """Give the rules' array forms another namespace (None: the ones the tape ships with)."""
    import numpy as np

    from autograd import arrays, torch_backend

    arrays.NumpyBackend.xp = np
    for backend in torch_backend._BACKENDS.values():
        backend.xp = torch_backend.TorchNamespace(backend.device, backend.dtype)
    if swap is None:
        return
    library, namespace = swap
    if library == "numpy":
        arrays.NumpyBackend.xp = namespace
    else:
        for backend in torch_backend._BACKENDS.values():
            backend.xp = namespace


def training_call(tape, X, seeds) -> Any:
    outputs, pullback = tape.vjp(X)
    return pullback(seeds, arguments=False).parameters


def timed(tape, X, seeds, calls: int, swap: tuple | None, sync) -> float:
    use_namespace(swap)
    training_call(tape, X, seeds)  # the first call makes the tables and the moved steps
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        training_call(tape, X, seeds)
    sync()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compat", action="store_true", help="also time array-api-compat")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import numpy as np
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    columns = backends(args.compat)
    print(f"ms per training call of a tape (vjp and pullback), median of {args.repeats}")
    print(f"{'':46}" + "".join(f"{name:>24}" for name in columns))
    with single_threaded():
        for label, (tape, X, calls) in tapes().items():
            inputs = {name: make(X) for name, (make, _) in columns.items()}
            seeds = {name: make(np.ones(len(X))) for name, (make, _) in columns.items()}
            for name, (_, swap) in columns.items():  # warm each backend before timing any
                timed(tape, inputs[name], seeds[name], 1, swap, sync)
            cases = {
                name: (
                    lambda t=tape, X=inputs[name], S=seeds[name], c=calls, s=swap: timed(
                        t, X, S, c, s, sync
                    )
                )
                for name, (_, swap) in columns.items()
            }
            samples = alternate(cases, args.repeats)
            print(f"{label:46}" + "".join(f"{median(samples[n]) * 1e3:>24.3f}" for n in columns))
    use_namespace(None)


if __name__ == "__main__":
    main()
