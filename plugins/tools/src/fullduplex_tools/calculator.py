"""The ``calculator`` tool: arithmetic a voice assistant should not guess at."""

from __future__ import annotations

from fullduplex.tools import tool

from .arithmetic import evaluate, format_number


@tool(timeout_s=5.0)
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression and return the exact result.

    Supports + - * / // % and ** (or ^), parentheses, the constants pi, e and
    tau, and the functions sqrt, cbrt, exp, log, ln, log10, log2, sin, cos,
    tan, asin, acos, atan, atan2, sinh, cosh, tanh, degrees, radians, hypot,
    abs, round, floor, ceil, factorial, min and max.

    Args:
        expression: The arithmetic to evaluate, for example "12 * 7" or "sqrt(2) / 2".
    """
    return format_number(evaluate(expression))
