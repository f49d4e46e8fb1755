"""Arithmetic in plain words: the scripted responder's calculator questions.

``find_arithmetic`` pulls ``12*7`` out of "what is 12 times 7?"; ``evaluate``
computes ``+ - * /`` exactly with fractions, walking the syntax tree (never
``eval``); ``format_number`` says the result the way a person would.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from fractions import Fraction

_WORD_OPERATORS = (
    (r"\bmultiplied by\b", "*"),
    (r"\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\bover\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"(?<=\d)\s*[x\u00d7]\s*(?=\d)", "*"),
    (r"\u00f7", "/"),
)
_EXPRESSION = re.compile(r"\(?-?\d+(?:\.\d+)?(?:\s*[-+*/]\s*\(?-?\d+(?:\.\d+)?\)?)+")
_BINARY: Mapping[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def find_arithmetic(text: str) -> str | None:
    """The arithmetic expression in a question (``"what is 12 times 7?"`` -> ``"12*7"``), if any."""
    lowered = text.lower()
    for pattern, symbol in _WORD_OPERATORS:
        lowered = re.sub(pattern, f" {symbol} ", lowered)
    match = _EXPRESSION.search(lowered)
    if match is None:
        return None
    return re.sub(r"\s+", "", match.group(0))


def evaluate(expression: str) -> Fraction:
    """Evaluate ``+ - * /`` over numbers exactly (no ``eval``); raises ``ValueError``."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
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
