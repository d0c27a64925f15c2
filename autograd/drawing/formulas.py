"""Operations and local derivatives written out with the names of the nodes, for step-throughs.

The local derivatives come from the rule table itself. A rule's `derivatives` is plain arithmetic
that runs on floats and on `Value`s; run on `Symbol`s, which record the arithmetic as text, the
same function writes its formula out: `tanh` gives `1 - out * out`, `x * w` gives `w` for `x`.
Rules whose local derivatives are constants (`+`, `ReLU`, a product with a number) show the
number the node recorded.
"""

from __future__ import annotations

import math
from typing import Any

from autograd.value import Value

_ADD, _MUL, _UNARY, _POWER, _ATOM = 1, 2, 3, 4, 5  # how tightly each kind of expression binds
_INFIX = {"+", "-", "*", "/", "**"}
_MOST_TERMS = 4  # a longer sum or dot product is shown by its first two and last terms


def number(x: Any) -> str:
    """`x` to 4 significant digits, as graph drawings show numbers."""
    return f"{float(x):.4g}"


class Symbol:
    """A named quantity, or arithmetic on such, written out as text.

    Only a name carries a value, so that a rule can compare it (`out == 0`); anything else a rule
    asks of a formula raises, and the caller falls back to naming the derivative.
    """

    __slots__ = ("text", "value", "binding")

    def __init__(self, text: str, value: float | None = None, binding: int = _ATOM) -> None:
        self.text = text
        self.value = value
        self.binding = binding

    def _infix(self, symbol: str, other: Any, binding: int, reflected: bool = False) -> Symbol:
        left, right = (_symbol(other), self) if reflected else (self, _symbol(other))
        if symbol == "**" and right.text == "1":  # x ** (n - 1) at n = 2
            return left
        # The right operand of - / ** needs brackets at equal binding: a - (b - c), a / (b * c).
        strict = symbol in ("-", "/", "**")
        text = f"{left.wrapped(binding)} {symbol} {right.wrapped(binding + strict)}"
        return Symbol(text, binding=binding)

    def wrapped(self, binding: int) -> str:
        """The text, in brackets if it binds less tightly than `binding`."""
        return self.text if self.binding >= binding else f"({self.text})"

    def __add__(self, other: Any) -> Symbol:
        return self._infix("+", other, _ADD)

    def __radd__(self, other: Any) -> Symbol:
        return self._infix("+", other, _ADD, reflected=True)

    def __sub__(self, other: Any) -> Symbol:
        return self._infix("-", other, _ADD)

    def __rsub__(self, other: Any) -> Symbol:
        return self._infix("-", other, _ADD, reflected=True)

    def __mul__(self, other: Any) -> Symbol:
        return self._infix("*", other, _MUL)

    def __rmul__(self, other: Any) -> Symbol:
        return self._infix("*", other, _MUL, reflected=True)

    def __truediv__(self, other: Any) -> Symbol:
        return self._infix("/", other, _MUL)

    def __rtruediv__(self, other: Any) -> Symbol:
        return self._infix("/", other, _MUL, reflected=True)

    def __pow__(self, other: Any) -> Symbol:
        return self._infix("**", other, _POWER)

    def __rpow__(self, other: Any) -> Symbol:
        return self._infix("**", other, _POWER, reflected=True)

    def __neg__(self) -> Symbol:
        return Symbol(f"-{self.wrapped(_POWER)}", binding=_UNARY)

    def __eq__(self, other: object) -> bool:
        if self.value is None:
            raise TypeError(f"cannot compare the formula {self.text!r}")
        return self.value == other

    __hash__ = None  # type: ignore[assignment]


def _function(name: str) -> Any:
    return lambda self: Symbol(f"{name}({self.text})")


for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "erf", "sin", "cos"):
    setattr(Symbol, _name, _function(_name))


def _symbol(x: Any) -> Symbol:
    if isinstance(x, Symbol):
        return x
    return Symbol(number(x), binding=_ATOM if x >= 0 else _UNARY)


def local_formulas(node: Value, names: dict[Value, str]) -> tuple[str, ...]:
    """Each local derivative d(node)/d(parent) as a formula in the nodes' names, ready to be
    multiplied (in brackets where needed); `d<node>/d<parent>` where the rule cannot be written."""
    rule = node.rule
    if rule is None:
        return ()
    if rule.constant_locals:
        return tuple(_symbol(local).wrapped(_MUL) for local in node.local_derivatives)
    inputs = [Symbol(names[parent], parent.data) for parent in node.parents]
    args = inputs if rule.constant is None else [*inputs, rule.constant]
    try:
        formulas = rule.derivatives(Symbol(names[node], node.data), *args)
        return tuple(_symbol(formula).wrapped(_MUL) for formula in formulas)
    except (TypeError, AttributeError, ArithmeticError, ValueError):
        return tuple(f"d{names[node]}/d{names[parent]}" for parent in node.parents)


def expression(node: Value, names: dict[Value, str]) -> tuple[str, str]:
    """How `node` was computed, in its parents' names and in their numbers: ("x * w", "2 * -3").
    Both are empty for a leaf."""
    rule = node.rule
    if rule is None:
        return "", ""
    parents = node.parents
    by_name = [names[parent] for parent in parents]
    # -2**2 would read as -(2**2), and --2 as a typo: negatives go in brackets there.
    bracket = rule.name in ("neg", "pow", "pow_constant", "constant_to_pow")
    by_number = [_operand(parent.data, bracket) for parent in parents]
    if rule.name in ("sum", "dot", "dot_constant"):
        return _terms(rule.name, node, by_name), _terms(rule.name, node, by_number)
    if len(parents) == 2 and rule.symbol in _INFIX:
        template = "{} " + rule.symbol + " {}"
        return template.format(*by_name), template.format(*by_number)
    if len(parents) > 1:  # an n-ary function such as max_values: max(a, b, c)
        return _call(rule.symbol, by_name), _call(rule.symbol, by_number)
    template = _one_input_template(node)
    return template.format(by_name[0]), template.format(by_number[0])


def _operand(x: float, bracket_negatives: bool) -> str:
    text = number(x)
    return f"({text})" if bracket_negatives and text.startswith("-") else text


def _terms(kind: str, node: Value, operands: list[str]) -> str:
    """A sum or dot product written out: "a + b + c" or "w1 * x1 + w2 * x2"."""
    if kind == "sum":
        terms = operands
    elif kind == "dot":
        half = len(operands) // 2
        terms = [f"{w} * {x}" for w, x in zip(operands[:half], operands[half:])]
    else:  # dot_constant: only the weights are parents; their local derivatives are the inputs
        terms = [f"{w} * {number(c)}" for w, c in zip(operands, node.local_derivatives)]
    if len(terms) > _MOST_TERMS:
        terms = [*terms[:2], f"... ({len(terms) - 3} more)", terms[-1]]
    return " + ".join(terms)


def _call(function: str, operands: list[str]) -> str:
    if len(operands) > _MOST_TERMS:
        operands = [*operands[:2], f"... ({len(operands) - 3} more)", operands[-1]]
    return f"{function}({', '.join(operands)})"


# How a one-input node made with a number is written; the number is the one the node keeps.
_WITH_A_NUMBER = {
    "add_constant": "{} + %s",
    "subtract_from_constant": "%s - {}",
    "mul_constant": "{} * %s",
    "divide_by_constant": "{} / %s",
    "divide_constant": "%s / {}",
    "pow_constant": "{}**%s",
    "constant_to_pow": "%s**{}",
}


def _one_input_template(node: Value) -> str:
    """ "{} + 0.3", "-{}", "tanh({})": the operation on its one input, with the number it was
    applied with (a one-parent node keeps it in `_db`)."""
    rule = node.rule
    if rule.name == "neg":
        return "-{}"
    if rule.name in _WITH_A_NUMBER:
        c = node._db
        shown = number(c) if math.isfinite(c) and c >= 0 else f"({number(c)})"
        return _WITH_A_NUMBER[rule.name] % shown
    return rule.symbol + "({})"
