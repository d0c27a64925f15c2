"""`python -m nn.demo`, run as a user runs it: what it prints and the files it writes, with and
without the Graphviz program."""

import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("graphviz")

ROOT = Path(__file__).resolve().parent.parent
ACCURACY_LINE = re.compile(r"^training accuracy: (\d+\.\d)% on 100 points after 5 epochs$", re.M)


def run_demo(cwd, *arguments, path=None):
    """The demo in a fresh interpreter, 5 epochs, in folder `cwd`; PATH replaced when given."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    if path is not None:
        env["PATH"] = path
    result = subprocess.run(
        [sys.executable, "-m", "nn.demo", "--epochs", "5", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # from the IHDR chunk
    assert 300 <= width <= 2000 and 300 <= height <= 2000


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program is missing")
def test_demo_prints_its_accuracy_and_writes_the_plot_and_the_graph_into_chainrule_output(
    tmp_path,
):
    result = run_demo(tmp_path)
    out = tmp_path / "chainrule-output"
    assert f"writing into chainrule-output{os.sep}\n" in result.stdout
    [accuracy] = ACCURACY_LINE.findall(result.stdout)
    assert float(accuracy) >= 70.0  # measured: 83% after 5 epochs; chance is 50%
    assert "5/5" in result.stderr and "loss=" in result.stderr  # the progress bar
    assert sorted(p.name for p in out.iterdir()) == [
        "backprop.html",
        "decision_boundary.png",
        "model_graph.svg",
    ]
    assert_png(out / "decision_boundary.png")
    page = (out / "backprop.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "x1.grad += w1 * n1.grad = -0.8 * 0.3592 = -0.2874" in page
    svg = ET.parse(out / "model_graph.svg").getroot()
    assert svg.tag.endswith("svg")
    texts = " ".join(node.text or "" for node in svg.iter() if node.tag.endswith("text"))
    assert "MLP/layer 0/neuron 0" in texts and "max |grad|" in texts


def test_without_dot_the_demo_writes_dot_text_and_says_how_to_render_it(tmp_path):
    path = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if not (Path(folder) / "dot").exists()
    )
    assert shutil.which("dot", path=path) is None
    out = tmp_path / "pictures"
    result = run_demo(tmp_path, "--out", str(out), path=path)
    assert len(ACCURACY_LINE.findall(result.stdout)) == 1
    assert sorted(p.name for p in out.iterdir()) == ["decision_boundary.png", "model_graph.dot"]
    assert_png(out / "decision_boundary.png")
    assert (out / "model_graph.dot").read_text().startswith("digraph chainrule {")
    dot_file, svg_file = out / "model_graph.dot", out / "model_graph.svg"
    assert f"dot -Tsvg {dot_file} -o {svg_file}" in result.stdout
    assert "apt-get install graphviz" in result.stdout
    assert "backprop.html needs `dot` as well, so it is not written" in result.stdout


def test_the_same_seed_trains_the_same_model_and_another_seed_differs(tmp_path):
    def accuracy_and_plot(seed):
        out = tmp_path / f"seed-{seed}"
        result = run_demo(tmp_path, "--out", str(out), "--seed", str(seed), "--no-progress")
        assert result.stderr == ""
        return ACCURACY_LINE.findall(result.stdout), (out / "decision_boundary.png").read_bytes()

    first = accuracy_and_plot(3)
    assert accuracy_and_plot(3) == first
    assert accuracy_and_plot(4)[1] != first[1]


@pytest.mark.parametrize(
    ("epochs", "shown"), [("0", "0"), ("-2", "-2"), ("many", "'many'")], ids=["0", "-2", "many"]
)
def test_the_demo_refuses_an_epoch_count_that_is_not_a_positive_integer(tmp_path, epochs, shown):
    result = subprocess.run(
        [sys.executable, "-m", "nn.demo", "--epochs", epochs, "--out", str(tmp_path / "x")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"argument --epochs: must be a positive integer, got {shown}" in result.stderr
    assert not (tmp_path / "x").exists()
