"""examples/gpt_ddp.py, run as a user runs it (a subprocess, with small settings): two processes
train the GPT's torch twin under DistributedDataParallel over gloo, and the result comes back to
nn with `from_torch`. The example checks its own results and exits with an error when one fails;
the test also reads the figures it prints."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("names")  # the census first names the example trains on

ROOT = Path(__file__).parent.parent
TIMEOUT = 120  # seconds; two processes that each import torch, then ten small steps


def distributed_unavailable() -> str | None:
    """Why torch.distributed cannot run the example here, or None when it can."""
    import torch.distributed as dist

    if not dist.is_available():
        return "torch was built without torch.distributed"
    if not dist.is_gloo_available():
        return "torch.distributed has no gloo backend in this build"
    return None


@pytest.mark.skipif(distributed_unavailable() is not None, reason=str(distributed_unavailable()))
def test_two_processes_train_the_twin_and_nn_gets_the_result_back():
    # the worktree's packages, in the spawned processes too, however nn is installed
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    settings = ["--steps", "8", "--batch-size", "8", "--held-out", "20", "--check-one-process"]
    # a session of its own, so that a run past the timeout is stopped with the processes it
    # spawned (its process group), not just the first
    with subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "gpt_ddp.py"), *settings],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path}, start_new_session=True,
    ) as run:  # fmt: skip
        try:
            out, err = run.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
            pytest.fail(f"examples/gpt_ddp.py took more than {TIMEOUT} s")
    assert run.returncode == 0, out + err
    assert re.search(r"^2 processes, 8 steps of 8 names", out, re.M), out
    held_out = re.search(r"held-out loss \(20 names, nn\): (\S+) -> (\S+)", out)
    before, after = map(float, held_out.groups())
    assert after < before - 0.1, out  # eight steps of Adam at 0.01 take it well down
    gap = float(re.search(r"largest difference (\S+)$", out, re.M).group(1))
    assert gap <= 1e-12, out
    drift = float(re.search(r"largest weight difference (\S+)$", out, re.M).group(1))
    assert drift <= 1e-9, out
    assert out.rstrip().endswith("ok")
