"""Arithmetic in plain words and digits: the scripted responder's calculator questions.

``find_arithmetic`` pulls the expression out of a question, written or heard:
"what is 12 times 7?" -> ``12*7``, "what is two to the power of ten" -> ``2**10``,
"(17+4)*3 - sqrt(16)" -> ``(17+4)*3-sqrt(16)``, "the square root of sixteen" ->
``sqrt(16)``. The result is what the ``calculator`` tool accepts. ``evaluate``
computes it (exactly with fractions where it can; ``sqrt`` of a non-square is
a float), walking the syntax tree, never ``eval``, and refusing huge powers;
``format_number`` writes the result the way a person would ("84", "2.5").
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Final

from .numbers import digits_for_words

_WORD_OPERATORS: Final = (
    (r"\bto the power of\b", "**"),
    (r"\braised to(?: the)?\b", "**"),
    (r"\bsquared\b", "**2"),
    (r"\bcubed\b", "**3"),
    (r"\b(?:the )?square root of\s*(\d+(?:\.\d+)?)", r"sqrt(\1)"),
    (r"\bmultiplied by\b", "*"),
    (r"\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\bover\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"(?<=\d)\s*[x\u00d7]\s*(?=\d)", "*"),
    (r"\u00f7", "/"),
    (r"\u2212", "-"),
    (r"\^", "**"),
)
_NUMBER = r"(?:\d+(?:\.\d+)?|sqrt\(\s*\d+(?:\.\d+)?\s*\))"
_OPERATOR = r"(?:\*\*|[-+*/])"
#: a run of numbers, operators and brackets holding at least one operator or a sqrt
_EXPRESSION = re.compile(rf"[(\s]*-?\s*{_NUMBER}(?:[\s)]*{_OPERATOR}[\s(]*-?\s*{_NUMBER})*[\s)]*")
#: the largest power evaluated (a result of about 10**300 at most)
MAX_RESULT_BITS: Final = 1000
_BINARY: Mapping[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _balanced(text: str) -> str:
    """Drop the unmatched brackets a regex match may have picked up at its edges."""
    while text.count("(") > text.count(")") and text.startswith("("):
        text = text[1:]
    while text.count(")") > text.count("(") and text.endswith(")"):
        text = text[:-1]
    return text


def find_arithmetic(text: str) -> str | None:
    """The arithmetic expression in a question (``"what is 12 times 7?"`` -> ``"12*7"``), if any.

    A lone number is no question; a ``sqrt`` of one is.
    """
    lowered = digits_for_words(text.lower())
    for pattern, symbol in _WORD_OPERATORS:
        lowered = re.sub(pattern, f" {symbol} ", lowered)
    best: str | None = None
    for match in _EXPRESSION.finditer(lowered):
        candidate = _balanced(re.sub(r"\s+", "", match.group(0)))
        if not re.search(r"\d\)*(?:\*\*|[-+*/])|sqrt", candidate):
            continue
        if best is None or len(candidate) > len(best):
            best = candidate
    if best is None or best.count("(") != best.count(")"):
        return None
    return best


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise ValueError("only whole powers are computed here")
    if abs(base) > 1 and abs(exponent.numerator) * math.log2(abs(float(base))) > MAX_RESULT_BITS:
        raise ValueError("the result is too large")
    result: Fraction = base**exponent.numerator
    return result


def _sqrt(value: Fraction) -> Fraction:
    if value < 0:
        raise ValueError("the square root of a negative number is not real")
    if value.denominator == 1:
        root = math.isqrt(value.numerator)
        if root * root == value.numerator:
            return Fraction(root)
    return Fraction(math.sqrt(value))


def evaluate(expression: str) -> Fraction:
    """Evaluate ``+ - * / **`` and ``sqrt`` over numbers (no ``eval``); raises ``ValueError``."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _power(walk(node.left), walk(node.right))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "sqrt"
            and len(node.args) == 1
            and not node.keywords
        ):
            return _sqrt(walk(node.args[0]))
        raise ValueError(f"not simple arithmetic: {expression!r}")

    try:
        return walk(ast.parse(expression, mode="eval"))
    except (SyntaxError, ZeroDivisionError) as exc:
        raise ValueError(f"cannot evaluate {expression!r}: {exc}") from exc


def format_number(value: Fraction | float | int) -> str:
    """``84`` rather than ``84.0``; at most 6 decimals otherwise."""
    number = Fraction(value) if not isinstance(value, Fraction) else value
    if number.denominator == 1:
        return str(number.numerator)
    return f"{float(number):.6f}".rstrip("0").rstrip(".")
