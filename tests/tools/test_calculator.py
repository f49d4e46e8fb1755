"""The calculator tool: exact answers, safe refusals, errors the model can read."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fullduplex.tools import ToolCall
from fullduplex_tools import calculator
from fullduplex_tools.arithmetic import CalculationError, evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("12 * 7", "84"),
        ("12 times 7", "84"),
        ("2 + 2", "4"),
        ("(1 + 2) * 3", "9"),
        ("2^10", "1024"),
        ("2 ** 0.5", "1.41421356237"),
        ("9 divided by 3", "3"),
        ("10 / 4", "2.5"),
        ("7 // 2", "3"),
        ("7 % 4", "3"),
        ("-3 + +5", "2"),
        ("sqrt(16)", "4"),
        ("factorial(10)", "3628800"),
        ("round(pi, 3)", "3.142"),
        ("max(3, 9, 4)", "9"),
        ("log(8, 2)", "3"),
        ("1,000 + 1", "1001"),
        ("6 \u00d7 7", "42"),
        ("84 \u00f7 2", "42"),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: str) -> None:
    assert format_number(evaluate(expression)) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("9**9**9", "too large"),
        ("10**5000 * 10**5000", "too large"),
        ("factorial(100000)", "too large"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("__import__('os').system('true')", "not arithmetic"),
        ("open('/etc/passwd')", "unknown function"),
        ("().__class__", "not arithmetic"),
        ("x + 1", "unknown name"),
        ("'a' * 3", "not a number"),
        ("True + 1", "unknown name"),
        ("2 +", "not valid arithmetic"),
        ("", "expected arithmetic"),
        ("1" * 600, "longer than"),
        ("sqrt(-1)", "cannot compute"),
        ("lambda: 1", "not arithmetic"),
        ("[1, 2]", "not arithmetic"),
    ],
)
def test_refuses_what_it_must_not_compute(expression: str, reason: str) -> None:
    with pytest.raises(CalculationError, match=reason):
        evaluate(expression)


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_integer_arithmetic_matches_python(a: int, b: int) -> None:
    assert evaluate(f"{a} + {b}") == a + b
    assert evaluate(f"{a} * ({b})") == a * b
    if b:
        assert evaluate(f"{a} // ({b})") == a // b


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0.5, 1e6))
def test_division_matches_python(a: float, b: float) -> None:
    assert math.isclose(evaluate(f"{a!r} / {b!r}"), a / b)


async def test_tool_returns_result_for_the_model() -> None:
    result = await calculator.invoke(
        ToolCall.from_model("c1", "calculator", '{"expression": "12 * 7"}')
    )
    assert (result.status, result.content) == ("success", "84")


async def test_tool_turns_refusal_into_error_result() -> None:
    result = await calculator.invoke(
        ToolCall.from_model("c2", "calculator", '{"expression": "9**9**9"}')
    )
    assert result.status == "error"
    assert "too large" in json.loads(result.content)["error"]


async def test_tool_reports_missing_argument_by_name() -> None:
    result = await calculator.invoke(ToolCall.from_model("c3", "calculator", "{}"))
    assert result.status == "error"
    assert "expression" in json.loads(result.content)["error"]


def test_tool_is_still_a_plain_function() -> None:
    assert calculator("6 * 7") == "42"


def test_schema_describes_the_argument() -> None:
    schema = calculator.spec.parameters
    assert schema["required"] == ["expression"]
    assert schema["properties"]["expression"]["type"] == "string"
    assert "12 * 7" in schema["properties"]["expression"]["description"]
