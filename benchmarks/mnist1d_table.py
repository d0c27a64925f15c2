"""The MNIST-1D table of Greydanus and Kobak, reproduced: four models, plain and shuffled.

    python benchmarks/mnist1d_table.py                 # all eight runs: about 20 minutes here
    python benchmarks/mnist1d_table.py --kinds CNN     # some of the models only (merged in)
    python benchmarks/mnist1d_table.py --epochs 10     # a quick look (not written unless --out)
    python benchmarks/mnist1d_table.py --kinds         # only the CNN with the project's settings

Each run is `nn.demo.mnist1d.train`: the model built from seed 0 and trained with
`fit(..., compile=True)` on MNIST-1D (`nn.data.load_mnist1d`, shuffled or not) with the
module's `RECIPE` (150 epochs of batches of 100, Adam at 1e-2 with weight decay 1e-3, the rate a
tenth for the last 30 epochs), then scored on the 1,000 held-out signals. The seconds are
`fit`'s wall time on this machine (shared with other jobs: take them as rough). One more run
trains the plain CNN with the project's own settings (`PROJECT`: no weight decay, no cut), to
show what the recipe's additions bring.

Writes `mnist1d_table.json` beside this script (accuracy and seconds of each run, the recipe,
the paper's figures), which `notebooks/12_convolutions.ipynb` reads, and the trained CNN of the
plain row as `mnist1d_cnn.json` (an nn model file: `Module.load`), whose filters the notebook
draws. Runs of other models already in the file are kept.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import checkout  # noqa: F401  (measure this checkout's autograd and nn)

from nn.demo.mnist1d import KINDS, PAPER, PROJECT, RECIPE, train

HERE = Path(__file__).resolve().parent
TABLE, CNN = HERE / "mnist1d_table.json", HERE / "mnist1d_cnn.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="*", choices=KINDS, default=list(KINDS))
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--out", type=Path, help=f"the table's file (default {TABLE.name})")
    args = parser.parse_args()
    out = args.out or (TABLE if args.epochs == RECIPE["epochs"] else None)
    table = json.loads(out.read_text()) if out is not None and out.exists() else {}
    runs = {(r["kind"], r["shuffled"]): r for r in table.get("runs", [])}
    for kind in args.kinds:
        for shuffled in (False, True):
            run = train(kind, shuffle=shuffled, epochs=args.epochs, progress=True)
            paper = PAPER[kind][shuffled]
            print(
                f"{kind:>19} {'shuffled' if shuffled else 'plain':>8}: {run.accuracy:.1%} "
                f"(paper {paper:.0f}%) in {run.seconds:.1f} s",
                flush=True,
            )
            runs[kind, shuffled] = {
                "kind": kind, "shuffled": shuffled, "accuracy": run.accuracy,
                "seconds": round(run.seconds, 1), "epochs": run.epochs, "paper": paper,
            }  # fmt: skip
            if out is not None and kind == "CNN" and not shuffled:
                run.model.save(CNN)
    project = table.get("project_settings")
    if args.epochs == RECIPE["epochs"]:
        run = train("CNN", epochs=args.epochs, progress=True, recipe=PROJECT)
        print(f"CNN, the project's settings: {run.accuracy:.1%} in {run.seconds:.1f} s")
        project = {"recipe": PROJECT, "accuracy": run.accuracy, "seconds": round(run.seconds, 1)}
    if out is None:
        return
    table = {
        "recipe": RECIPE,
        "project_settings": project,
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "runs": [runs[k, s] for k in KINDS for s in (False, True) if (k, s) in runs],
    }
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
