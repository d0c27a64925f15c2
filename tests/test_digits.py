"""nn.data.load_digits and `python -m nn.demo --digits`, run as a user runs it."""

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from nn.data import load_digits

ROOT = Path(__file__).resolve().parent.parent


def python(*arguments, cwd=ROOT, prelude=""):
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    command = [sys.executable, *(["-c", prelude + arguments[0]] if prelude else arguments)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_load_digits_gives_scikit_learns_1797_images_scaled_to_0_1_and_their_digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    X, y = load_digits()
    reference = sklearn.load_digits()
    assert len(X) == len(y) == 1797 and all(len(x) == 64 for x in X)
    assert X[5] == [v / 16 for v in reference.data[5].tolist()]
    assert y == reference.target.tolist() and all(type(label) is int for label in y)
    assert min(min(x) for x in X) == 0.0 and max(max(x) for x in X) == 1.0


def test_without_scikit_learn_load_digits_says_what_to_install():
    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'sklearn':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    result = python(
        "from nn.data import load_digits\ntry:\n    load_digits()\nexcept ImportError as e:\n    print(e)",  # noqa: E501
        prelude=blocked,
    )
    assert 'pip install "chainrule[digits]"' in result.stdout, result.stderr


def test_the_digits_demo_reaches_95_percent_held_out_through_a_tape_and_draws_its_mistakes(
    tmp_path,
):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    pytest.importorskip("numpy")
    result = python("-m", "nn.demo", "--digits", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = r"^held-out accuracy: (\d+\.\d)% on 360 digits after 20 epochs$"
    [accuracy] = re.findall(line, result.stdout, re.M)
    assert float(accuracy) >= 95.0  # measured: 97.2%
    assert "20/20" in result.stderr and "loss=" in result.stderr  # the progress bar
    picture = tmp_path / "chainrule-output" / "digits_misclassified.png"
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and 100 <= height <= 1000


def test_each_misclassified_digit_is_titled_with_the_answer_then_the_truth(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("numpy")
    from matplotlib.axes import Axes

    from nn import MLP
    from nn.demo.digits import plot_misclassified

    titles = []
    monkeypatch.setattr(Axes, "set_title", lambda self, text, **kw: titles.append(text))
    model = MLP(64, [3, 10], seed=0)
    digits = [[0.0] * 64, [1.0] * 64]
    guesses = [max(range(10), key=lambda k: model(x)[k].data) for x in digits]
    truths = [(g + 1) % 10 for g in guesses]  # both wrong
    plot_misclassified(model, digits, truths, tmp_path / "wrong.png")
    assert titles == [f"said {g}, is {t}" for g, t in zip(guesses, truths)]


def test_the_lenet_demo_reaches_98_percent_held_out_where_the_mlp_reaches_97(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    pytest.importorskip("numpy")
    result = python("-m", "nn.demo", "--lenet", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = r"^held-out accuracy: (\d+\.\d)% on 360 digits after 30 epochs$"
    [accuracy] = re.findall(line, result.stdout, re.M)
    assert float(accuracy) >= 98.0  # measured: 98.6%; the --digits MLP: 96.7%
    assert result.stderr == ""
    picture = tmp_path / "chainrule-output" / "digits_misclassified.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lenet_pools_8x8_digits_down_to_32_channels_of_2x2():
    from nn import Conv2d, MaxPool2d
    from nn.demo.digits import image, lenet

    model = lenet(seed=0)
    convs = [m for m in model if isinstance(m, Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 16, (3, 3), (1, 1)),
        (16, 32, (3, 3), (1, 1)),
    ]
    assert sum(isinstance(m, MaxPool2d) for m in model) == 2
    features = model[:6](image([0.5] * 64))
    assert (len(features), len(features[0]), len(features[0][0])) == (32, 2, 2)
