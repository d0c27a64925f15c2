from autograd import Value


def test_square_plus_linear_has_derivative_2x_plus_2():
    x = Value(3.0)
    (x * x + 2 * x).backward()
    assert x.grad == 8.0
