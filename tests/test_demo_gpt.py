"""`python -m nn.demo --gpt`, run as a user runs it: it trains microgpt's model on the census
names with a progress bar and prints 10 new names, marking those in the training set."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("names")

ROOT = Path(__file__).resolve().parent.parent


def run_demo(tmp_path, *arguments):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, "-m", "nn.demo", "--gpt", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_gpt_demo_trains_with_a_progress_bar_and_prints_ten_new_names(tmp_path):
    from nn.data import load_names

    result = run_demo(tmp_path, "--steps", "60")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "training microgpt's model (4,192 parameters) on 4,131 names, 60 steps of one name each"
    )
    assert "60/60" in result.stderr and "loss=" in result.stderr  # the progress bar
    held_out = re.search(r"^held-out loss on 100 validation names: (\d+\.\d+)", result.stdout, re.M)
    assert held_out and float(held_out[1]) < 3.0  # measured 2.6 after 60 steps; uniform: 3.296
    start = lines.index("10 new names (* = in the training set):")
    samples = lines[start + 1 :]
    assert len(samples) == 10
    train = set(load_names("train", 0))
    for line in samples:
        match = re.fullmatch(r"  ([a-z]*)( \*)?", line)
        assert match, line
        assert (match[1] in train) == (match[2] is not None)
    assert not list(tmp_path.iterdir())  # it writes no files


def test_the_gpt_demo_repeats_itself_with_a_seed_and_hides_the_bar_on_request(tmp_path):
    first = run_demo(tmp_path, "--steps", "5", "--seed", "3", "--no-progress")
    second = run_demo(tmp_path, "--steps", "5", "--seed", "3", "--no-progress")
    assert first.stdout == second.stdout and "5/5" not in first.stderr
