"""Python decisions taken while tracing: guarded at every call, or refused when the tape could not
replay them; domain errors, NaN and infinities behave as in the eager engine."""

import math

import pytest

from autograd import GuardError, TraceError, Value, grad, max_values, no_grad, trace

np = pytest.importorskip("numpy")


def branchy(x):
    if x > 0:  # the guarded line
        return x * 2.0
    return x * 3.0


def test_a_traced_if_replayed_on_the_other_side_raises_naming_the_line_and_the_way_out():
    tape = trace(branchy, 1.0)
    assert tape(5.0) == 10.0
    with pytest.raises(GuardError) as raised:
        tape(-1.0)
    message = str(raised.value)
    line = branchy.__code__.co_firstlineno + 1
    assert f"test_tape_guards.py:{line} (if x > 0:  # the guarded line)" in message
    assert "'>'" in message and "True when f was traced" in message and "-1.0" in message
    assert "relu" in message and "max_values" in message


def test_a_batch_never_mixes_branches_the_error_names_the_first_example_on_the_other_side():
    tape = trace(branchy, 1.0)
    assert tape(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    with pytest.raises(GuardError, match="for example 2 of the batch it is False"):
        tape(np.array([1.0, 2.0, -3.0, -4.0]))


@pytest.mark.parametrize(
    "f, good, bad",
    [
        (lambda x, y: x if x < y else y, [1.0, 2.0], [3.0, 2.0]),
        (lambda x, y: max([x, y]), [1.0, 2.0], [3.0, 2.0]),
        (lambda x, y: min(x, y) * 2, [1.0, 2.0], [3.0, 2.0]),
        (lambda x, y: sorted([x, y])[0], [1.0, 2.0], [3.0, 2.0]),
        (lambda x, y: x * (2 if x >= 0.5 else 3) + y, [1.0, 0.0], [0.0, 0.0]),
        (lambda x, y: x * 2 if 0 <= x else y, [1.0, 0.0], [-1.0, 0.0]),
    ],
    ids=["<", "max()", "min()", "sorted()", ">= number", "reflected <="],
)
def test_comparisons_and_builtins_that_compare_are_guarded(f, good, bad):
    tape = trace(f, 1.0, 2.0)
    with no_grad():
        assert tape(*good) == f(Value(good[0]), Value(good[1])).data
    with pytest.raises(GuardError):
        tape(*bad)


@pytest.mark.parametrize("read", [float, Value.item], ids=["float()", "item()"])
def test_a_value_turned_into_a_plain_number_is_guarded_to_stay_the_same(read):
    def f(x, y):
        return y * 2 if read(x) > 0 else y * 3

    tape = trace(f, 1.0, 5.0)
    assert tape(1.0, 7.0) == 14.0  # the same x: the number read is the same
    with pytest.raises(GuardError, match=r"read 1.0 when f was traced, but the Value is 2.0"):
        tape(2.0, 7.0)


def test_choices_written_as_nodes_need_no_guard_and_follow_each_example():
    tape = trace(lambda x, y: max_values([x, y]) + abs(x) + (x - y).relu(), 1.0, 2.0)
    assert tape.program.guards == []
    X, Y = np.array([1.0, 3.0, -2.0]), np.array([2.0, 2.0, -5.0])
    assert tape(X, Y).tolist() == [2.0 + 1.0 + 0.0, 3.0 + 3.0 + 1.0, -2.0 + 2.0 + 3.0]


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x * x.data,
        lambda x: x + Value(x.data),
        lambda x: x * x.detach(),
        lambda x: x * float(x),
    ],
    ids=[".data as a number", "Value(x.data)", "detach()", "float()"],
)
def test_a_number_computed_from_the_data_is_refused_when_tracing(f):
    with pytest.raises(TraceError, match="computed from the data"):
        trace(f, 1.5)


def test_a_constant_made_under_no_grad_inside_f_from_the_data_is_refused():
    def f(x):
        with no_grad():
            scale = x * 2
        return x * scale

    with pytest.raises(TraceError, match="made inside f"):
        trace(f, 1.5)


def test_constants_made_inside_f_and_numbers_that_do_not_change_are_fine():
    tape = trace(lambda x: x * Value(2.0) + 3.0 - (x / 4.0) ** 2, 1.5)
    assert tape(2.0) == 2.0 * 2.0 + 3.0 - 0.25


def test_a_graph_whose_length_depends_on_the_data_says_so():
    def f(xs):
        return [x * 2 for x in xs] if xs[0].data == 1.0 else [xs[0] * 2]

    with pytest.raises(TraceError, match="length depends on the data"):
        trace(f, [1.0, 2.0])


def test_a_graph_whose_structure_depends_on_the_data_says_so():
    def f(x):
        return x.exp() if x.data == 1.0 else x.tanh()

    with pytest.raises(TraceError, match="different graph.*exp"):
        trace(f, 1.0)


def test_a_loop_on_comparisons_is_guarded_at_the_comparison_that_ends_it():
    def doubled_past_ten(x):
        while x < 10.0:
            x = x * 2.0
        return x

    tape = trace(doubled_past_ten, 3.0)  # 3 -> 6 -> 12: two doublings
    assert tape(4.0) == 16.0
    with pytest.raises(GuardError):
        tape(1.0)  # needs four


def test_decisions_of_other_threads_are_not_recorded_by_a_trace():
    import threading

    other = threading.Thread(target=lambda: [Value(1.0) > 0 for _ in range(1000)])
    tape = trace(lambda x: (x * 2).tanh(), 1.0)
    other.start()
    other.join()
    assert tape.program.guards == []


# --- domain errors, NaN and infinities ---------------------------------------------------------
# One possible error per function: where an input would raise two (log(0) and 1/0), the eager
# engine raises the one f reaches first and a tape the one its levels reach first.
DOMAIN_FUNCTIONS = {
    "log": lambda x, y: x.log() * y,
    "division": lambda x, y: y / x + y,
    "sqrt": lambda x, y: (x * y).sqrt(),
    "exp": lambda x, y: (x * y).exp().tanh(),
    "power": lambda x, y: (x**2.5) * y,
}


@pytest.mark.parametrize("name", sorted(DOMAIN_FUNCTIONS))
@pytest.mark.parametrize("x", [0.0, -1.0, 1000.0, math.nan, math.inf, -math.inf, 2.0])
@pytest.mark.parametrize("y", [1.0, -1e9, 0.0, math.nan, math.inf])
def test_nan_infinities_and_domain_errors_give_the_eager_value_or_exception(name, x, y):
    f_domain = DOMAIN_FUNCTIONS[name]
    tape = trace(f_domain, 2.0, 1.0)
    try:
        expected = f_domain(Value(x), Value(y)).data
    except (ArithmeticError, ValueError) as error:
        with pytest.raises(type(error)):
            tape(x, y)
        with pytest.raises(type(error), match="example 1 of the batch"):
            tape(np.array([2.0, x]), np.array([1.0, y]))
        return
    found = tape(x, y)
    assert found == expected or (math.isnan(found) and math.isnan(expected))
    batch = tape(np.array([2.0, x]), np.array([1.0, y]))[1]
    assert batch == expected or (math.isnan(batch) and math.isnan(expected))
    gradient = grad(f_domain, argnums=(0, 1))(x, y)
    found_gradient = tape.value_and_grad(x, y)[1]
    for a, b in zip(found_gradient, gradient):
        assert a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)


def test_a_domain_error_in_a_batch_names_the_op_the_value_and_the_example():
    tape = trace(lambda x: (x - 1.0).log(), 2.0)
    with pytest.raises(ValueError, match=r"log\(0.0\) needs a positive number \(example 2 of"):
        tape(np.array([3.0, 2.5, 1.0, 0.0]))
    with pytest.raises(ZeroDivisionError, match=r"division by zero: 1.0 / 0.0 \(example 1"):
        trace(lambda x, y: x / y, 1.0, 1.0)(np.array([1.0, 1.0]), np.array([2.0, 0.0]))
    with pytest.raises(OverflowError, match=r"exp\(1000.0\) is too large"):
        trace(lambda x: x.exp(), 1.0)(1000.0)


def test_an_error_on_the_other_branch_is_reported_as_the_guard_not_as_the_error():
    def f(x):
        if x > 0:
            return x.log()
        return (-x).log()

    tape = trace(f, 2.0)
    with pytest.raises(GuardError):
        tape(-2.0)  # log(-2) would be a ValueError: the guard comes first


def test_trace_inside_no_grad_compiles_the_graph_as_the_other_transforms_do():
    w = Value(2.0)
    with no_grad():
        tape = trace(lambda x: w * x, 1.0)
        value, (gradient,) = tape.value_and_grad(3.0)
    assert (value, gradient) == (6.0, 2.0)
