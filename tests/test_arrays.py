"""Every rule's array form agrees with its float form entry for entry: values, local derivatives,
and the exceptions of domain errors, NaN and infinities included."""

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import UNARY_DOMAINS, alphas, away_from_zero, exponents, positive_bases, reals

from autograd import rules

np = pytest.importorskip("numpy")
arrays = pytest.importorskip("autograd.tape.arrays")

ROOT = Path(__file__).resolve().parent.parent
TABLE = {rule.name: rule for rule in vars(rules).values() if isinstance(rule, rules.Rule)}
n_ary = st.integers(1, 4)

# The inputs of each rule's float form, a number last for the rules that take one.
FIXED_DOMAINS = {
    **{name: (domain,) for name, domain in UNARY_DOMAINS.items()},
    "add": (reals(), reals()),
    "sub": (reals(), reals()),
    "mul": (reals(), reals()),
    "div": (reals(), away_from_zero()),
    "pow": (positive_bases, exponents),
    "add_constant": (reals(), reals()),
    "subtract_from_constant": (reals(), reals()),
    "mul_constant": (reals(), reals()),
    "divide_by_constant": (reals(), away_from_zero()),
    "divide_constant": (away_from_zero(), reals()),
    "pow_constant": (positive_bases, exponents),
    "constant_to_pow": (exponents, positive_bases),
    "leaky_relu": (away_from_zero(), alphas),
}
STACKED_GROUPS = {"sum": 1, "max": 1, "dot": 2, "dot_constant": 2}  # groups of n operands


def test_every_rule_in_the_table_has_inputs_here_and_an_array_form():
    assert set(TABLE) == set(FIXED_DOMAINS) | set(STACKED_GROUPS)
    assert {name for name, rule in TABLE.items() if rule.stacked} == set(STACKED_GROUPS)


def close(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal, both NaN, or within 1e-12 of the larger of |b| and `scale` (NumPy's exp and
    math.exp may differ by an ulp; a sum rounds relative to its terms, `scale`, not its result)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    return abs(a - b) <= 1e-12 * max(abs(b), scale)


def terms_scale(rule, example) -> float:
    """The sum of the sizes of an n-ary rule's terms: what its rounding is relative to."""
    if not rule.stacked:
        return 0.0
    if len(example) == 1:
        return sum(map(abs, example[0]))
    return sum(abs(w * x) for w, x in zip(*example))


def float_call(rule, entry):
    """The float form on one example: n-ary rules get their groups flattened, as nodes do."""
    if not rule.stacked:
        return rule.forward(*entry), rule.derivatives(rule.forward(*entry), *entry)
    if rule.name == "dot_constant":
        weights, constants = entry
        out = rule.forward(*weights, tuple(constants))
        return out, (rule.derivatives(out, *weights, tuple(constants)),)
    flat = [x for group in entry for x in group]
    out = rule.forward(*flat)
    locals_ = rule.derivatives(out, *flat)
    n = len(entry[0])
    return out, tuple(locals_[i * n : (i + 1) * n] for i in range(len(entry)))


def as_arrays(rule, examples):
    """One array per input, the batch on the last axis (operands on axis -2 when stacked)."""
    groups = len(examples[0])
    return tuple(
        np.array([example[i] for example in examples], dtype=float).T for i in range(groups)
    )


@st.composite
def batches_for(draw, name):
    size = draw(st.integers(1, 5))
    if name in FIXED_DOMAINS:
        domains = FIXED_DOMAINS[name]
        return [tuple(draw(d) for d in domains) for _ in range(size)]
    n = draw(n_ary)
    return [
        tuple(tuple(draw(reals(-3, 3)) for _ in range(n)) for _ in range(STACKED_GROUPS[name]))
        for _ in range(size)
    ]


@pytest.mark.parametrize("name", sorted(TABLE))
@given(data=st.data())
def test_array_form_equals_the_float_form_entry_for_entry(name, data):
    rule = TABLE[name]
    examples = data.draw(batches_for(name))
    inputs = as_arrays(rule, examples)
    out = arrays.forward(rule, *inputs)
    locals_ = arrays.derivatives(rule, out, *inputs)
    assert np.shape(out) == (len(examples),)
    for j, example in enumerate(examples):
        expected, expected_locals = float_call(rule, example)
        assert close(float(out[j]), expected, terms_scale(rule, example))
        for local, expected_local in zip(locals_, expected_locals):
            entry = np.broadcast_to(local, np.broadcast_shapes(np.shape(local), (len(examples),)))
            # A local derivative such as 1 - tanh(x)**2 cancels near saturation: the ulp by which
            # NumPy's tanh may differ from math.tanh is then all that is left of it, so locals
            # are compared within 1e-12 of their terms (about 1), not of the result.
            if rule.stacked:
                assert all(close(float(a), b, 1.0) for a, b in zip(entry[:, j], expected_local))
            else:
                assert close(float(entry[j]), expected_local, 1.0)


SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1000.0, 1e308, math.nan, math.inf, -math.inf]


def outcome(call, *args):
    try:
        return "value", call(*args)
    except (ArithmeticError, ValueError) as error:
        return "error", type(error)


def same(array_outcome, float_outcome) -> bool:
    kind, found = array_outcome
    if kind != float_outcome[0]:
        return False
    if kind == "error":
        return found is float_outcome[1]
    found = np.atleast_1d(np.asarray(found, dtype=float)).ravel()
    return all(close(float(a), float(b)) for a, b in zip(found, np.ravel(float_outcome[1])))


@pytest.mark.parametrize("name", sorted(FIXED_DOMAINS))
def test_nan_infinities_and_domain_edges_give_the_eager_value_or_the_eager_exception(name):
    rule = TABLE[name]
    for entry in itertools.product(SPECIAL, repeat=len(FIXED_DOMAINS[name])):
        expected = outcome(rule.forward, *entry)
        inputs = tuple(np.array([x]) for x in entry)
        assert same(outcome(arrays.forward, rule, *inputs), expected), entry
        if expected[0] == "value":
            out = expected[1]
            float_locals = outcome(rule.derivatives, out, *entry)
            found = outcome(arrays.derivatives, rule, np.array([out]), *inputs)
            assert same(found, float_locals), (entry, found, float_locals)


@pytest.mark.parametrize("name", sorted(STACKED_GROUPS))
def test_n_ary_rules_give_the_eager_value_or_exception_with_nan_and_infinities(name):
    rule = TABLE[name]
    for a, b in itertools.product(SPECIAL, repeat=2):
        groups = ((a, b), (b, a))[: STACKED_GROUPS[name]]
        expected = outcome(lambda g: float_call(rule, g)[0], groups)
        inputs = tuple(np.array(group)[:, None] for group in groups)
        assert same(outcome(arrays.forward, rule, *inputs), expected), groups


@pytest.mark.parametrize(
    "rule, inputs, error, message",
    [
        (rules.LOG, ([1.0, 2.0, 0.0],), ValueError, "log(0.0) needs a positive number"),
        (rules.SQRT, ([4.0, -1.0],), ValueError, "sqrt(-1.0) needs a non-negative number"),
        (rules.DIV, ([1.0, 2.0], [3.0, 0.0]), ZeroDivisionError, "division by zero: 2.0 / 0.0"),
        (rules.EXP, ([1.0, 1000.0],), OverflowError, "exp(1000.0) is too large for a float"),
        (rules.POW, ([-2.0, 2.0], [2.0, 2.0]), ValueError, "non-negative base"),
    ],
    ids=["log(0)", "sqrt(-1)", "division by zero", "overflow", "negative base"],
)
def test_a_domain_error_names_the_op_the_value_and_the_example(rule, inputs, error, message):
    entries = list(zip(*inputs))
    bad = next(i for i, entry in enumerate(entries) if outcome(rule.forward, *entry)[0] == "error")
    with pytest.raises(error) as raised:
        arrays.forward(rule, *map(np.array, inputs))
    assert message in str(raised.value)
    assert f"(example {bad} of the batch)" in str(raised.value)


def test_the_derivative_of_a_power_that_overflows_raises_as_in_eager_mode():
    x, n = 1e-300, -1.0  # x**n = 1e300 is fine; its slope n x**(n-1) = -1e600 overflows
    with pytest.raises(OverflowError):
        rules.POW_CONSTANT.derivatives(rules.POW_CONSTANT.forward(x, n), x, n)
    with pytest.raises(OverflowError, match="example 0 of the batch"):
        out = arrays.forward(rules.POW_CONSTANT, np.array([x]), n)
        arrays.derivatives(rules.POW_CONSTANT, out, np.array([x]), n)


def test_the_helpers_shared_by_floats_and_values_run_on_arrays_too():
    x = np.array([-1.0, 0.0, 2.0])
    for helper, reference in [
        (rules.sigmoid_of, lambda v: 1 / (1 + math.exp(-v))),
        (rules.exp_of, math.exp),
        (rules.erf_of, math.erf),
        (rules.sin_of, math.sin),
        (rules.cos_of, math.cos),
    ]:
        assert all(close(float(a), reference(v)) for a, v in zip(helper(x), x)), helper.__name__


BLOCK = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name == "{0}" or name.startswith("{0}."):
            raise ImportError("{0} is blocked for this test")
sys.meta_path.insert(0, Blocked())
"""


def run_without(package: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(package) + code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_without_numpy(code: str) -> subprocess.CompletedProcess:
    return run_without("numpy", code)


def test_the_eager_engine_and_nn_work_without_numpy():
    result = run_without_numpy(
        "import autograd, nn\n"
        "from autograd import *\n"
        "from autograd import Value, grad, trace\n"
        "from nn import MLP\n"
        "from nn.train import fit\n"
        "from nn.losses import cross_entropy\n"
        "from nn.optim import Adam\n"
        "x = Value(0.5); y = (x * x).tanh(); y.backward()\n"
        "model = MLP(2, [4, 2], seed=0)\n"
        "fit(model, cross_entropy, Adam(model.parameters(), lr=0.01), "
        "([[0.0, 1.0], [1.0, 0.0]], [0, 1]), epochs=2, progress=False)\n"
        "print(grad(lambda v: v.sigmoid())(0.0), 'numpy' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.25", "False"]


def test_trace_without_numpy_says_what_to_install():
    result = run_without_numpy(
        "from autograd import trace\n"
        "try:\n"
        "    trace(lambda x: x * 2, 1.0)\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "chainrule[tape]"' in result.stdout


def test_tapes_on_numpy_import_no_torch_and_work_without_it():
    # torch is blocked: a tape, fit(compile=True) and the arrays module never reach for it
    result = run_without(
        "torch",
        "import numpy as np\n"
        "from autograd import Value, trace, rules\n"
        "from autograd.tape import arrays\n"
        "from nn import MLP\n"
        "from nn.train import fit\n"
        "from nn.losses import mse\n"
        "from nn.optim import SGD\n"
        "w = Value(2.0)\n"
        "tape = trace(lambda x: (w * x).tanh(), 1.0)\n"
        "values, (dx,) = tape.value_and_grad(np.array([0.0, 1.0]), accumulate='sum')\n"
        "model = MLP(1, [2, 1], seed=0)\n"
        "fit(model, mse, SGD(model.parameters(), lr=0.1), ([[0.0], [1.0]], [0.0, 1.0]), "
        "epochs=2, progress=False, compile=True)\n"
        "print(values[0], dx[0], w.grad > 0, arrays.forward(rules.EXP, np.zeros(1))[0])\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.0", "2.0", "True", "1.0"]


def test_nothing_imports_torch_until_a_tensor_is_passed_in():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, numpy as np\n"
            "from autograd import trace\n"
            "import nn, nn.train.compiled\n"
            "tape = trace(lambda x: x.exp(), 0.0)\n"
            "tape(np.zeros(3)); tape.value_and_grad(np.zeros(3)); tape(1.0)\n"
            "print('torch' in sys.modules)\n",
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
