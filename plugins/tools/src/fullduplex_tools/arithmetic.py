"""A safe arithmetic evaluator for the ``calculator`` tool.

The expression comes from a language model, so it is untrusted: it is parsed
with :mod:`ast` and only numbers, arithmetic operators, parentheses and a fixed
set of math functions and constants are evaluated. ``eval`` is never used.
Operations whose result would be too large to compute in reasonable time and
memory (``9**9**9``, ``factorial(10**6)``) are refused before they run.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Final

Number = int | float


class CalculationError(ValueError):
    """The expression is not arithmetic we evaluate, or cannot be computed."""


MAX_EXPRESSION_CHARS: Final = 500
#: the largest integer result, in bits, that we agree to compute
MAX_INT_BITS: Final = 14_000  # ~4,200 digits: within str(int) limits
MAX_FACTORIAL: Final = 1_000

CONSTANTS: Final[dict[str, float]] = {
    "pi": math.pi,
    "e": math.e,
    "tau": math.tau,
    "inf": math.inf,
}


def _factorial(n: Number) -> int:
    if isinstance(n, float):
        if not n.is_integer():
            raise CalculationError("factorial: takes a whole number")
        n = int(n)
    if n < 0:
        raise CalculationError("factorial: takes a number that is not negative")
    if n > MAX_FACTORIAL:
        raise CalculationError(f"factorial: {n} is too large (at most {MAX_FACTORIAL})")
    return math.factorial(n)


def _log(x: Number, base: Number = math.e) -> float:
    return math.log(x, base)


FUNCTIONS: Final[dict[str, Callable[..., Number]]] = {
    "sqrt": math.sqrt,
    "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x),
    "exp": math.exp,
    "log": _log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "degrees": math.degrees,
    "radians": math.radians,
    "hypot": math.hypot,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
    "min": min,
    "max": max,
}


def _power(base: Number, exponent: Number) -> Number:
    """``base ** exponent``, refused when the result would be enormous."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = exponent * math.log2(abs(base))
        if bits > MAX_INT_BITS:
            raise CalculationError("the result is too large to compute")
    try:
        result = base**exponent
    except OverflowError as exc:
        raise CalculationError("the result is too large to compute") from exc
    if isinstance(result, complex):
        raise CalculationError("the result is not a real number")
    return result


def _multiply(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise CalculationError("the result is too large to compute")
    return a * b


BINARY: Final[dict[type[ast.operator], Callable[[Number, Number], Number]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}

UNARY: Final[dict[type[ast.unaryop], Callable[[Number], Number]]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}

#: spoken or typographic spellings a model may pass through
_SPELLINGS: Final = (
    ("\u00d7", "*"),  # multiplication sign
    ("\u00f7", "/"),  # division sign
    ("\u2212", "-"),  # minus sign
    ("^", "**"),
    (" times ", " * "),
    (" multiplied by ", " * "),
    (" divided by ", " / "),
    (" plus ", " + "),
    (" minus ", " - "),
    (" to the power of ", " ** "),
)


#: a comma between digit groups (1,000), not one between arguments
_THOUSANDS: Final = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalise(expression: str) -> str:
    """Map spoken and typographic operators onto Python's."""
    text = f" {expression.strip().lower()} "
    for spelled, symbol in _SPELLINGS:
        text = text.replace(spelled, symbol)
    return _THOUSANDS.sub("", text).strip()


def evaluate(expression: str) -> Number:
    """Evaluate ``expression`` safely; raise :class:`CalculationError` saying why not."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculationError("expression: expected arithmetic such as '12 * 7'")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"expression: longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(normalise(expression), mode="eval")
    except SyntaxError as exc:
        raise CalculationError(f"expression: not valid arithmetic ({exc.msg})") from exc
    try:
        return _eval(tree.body)
    except ZeroDivisionError as exc:
        raise CalculationError("division by zero") from exc
    except OverflowError as exc:
        raise CalculationError("the result is too large to compute") from exc
    except (ValueError, TypeError) as exc:
        if isinstance(exc, CalculationError):
            raise
        raise CalculationError(f"cannot compute: {exc}") from exc


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculationError(f"expression: {node.value!r} is not a number")
        return node.value
    if isinstance(node, ast.BinOp):
        binary = BINARY.get(type(node.op))
        if binary is None:
            raise CalculationError(f"expression: operator {type(node.op).__name__} not allowed")
        return binary(_eval(node.left), _eval(node.right))
    if isinstance(node, ast.UnaryOp):
        unary = UNARY.get(type(node.op))
        if unary is None:
            raise CalculationError(f"expression: operator {type(node.op).__name__} not allowed")
        return unary(_eval(node.operand))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CalculationError(
            f"expression: unknown name {node.id!r}; constants: {', '.join(CONSTANTS)}"
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            raise CalculationError(
                f"expression: unknown function {node.func.id!r}; "
                f"functions: {', '.join(sorted(FUNCTIONS))}"
            )
        return function(*(_eval(arg) for arg in node.args))
    raise CalculationError(f"expression: {type(node).__name__} is not arithmetic")


def format_number(value: Number) -> str:
    """A result as a person would read it: 84, 0.5, 3.14159265359."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.12g}"
    return str(value)
