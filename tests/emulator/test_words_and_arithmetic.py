"""What the scripted responder understands and how it says numbers (no speech stack needed)."""

from __future__ import annotations

from fractions import Fraction

import orjson
import pytest

from fullduplex_emulator.arithmetic import evaluate, find_arithmetic
from fullduplex_emulator.numbers import digits_for_words, say_number, speak_numbers
from fullduplex_emulator.responder import ToolDeclaration, Turn, TurnContext
from fullduplex_emulator.scripted import ScriptedResponder


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("twelve times seven", "12*7", 84),
        ("what is 2 to the power of 100", "2**100", 2**100),
        ("(17+4)*3 - sqrt(16)", "(17+4)*3-sqrt(16)", 59),
        ("what is the square root of sixteen", "sqrt(16)", 4),
        ("what is one hundred and five minus nineteen", "105-19", 86),
        ("what is forty two plus seventeen", "42+17", 59),
        ("what is 2^10", "2**10", 1024),
        ("I am 42", None, None),
    ],
)
def test_questions_in_words_and_digits(question: str, expression: str | None, value: int) -> None:
    assert find_arithmetic(question) == expression
    if expression is not None:
        assert evaluate(expression) == value


def test_huge_powers_and_negative_roots_are_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        evaluate("9**9999")
    with pytest.raises(ValueError, match="not real"):
        evaluate("sqrt(-4)")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (84, "eighty four"),
        (0, "zero"),
        (-3, "minus three"),
        (1_000_001, "one million one"),
        (Fraction(1, 8), "zero point one two five"),
        (10**40, "one " + " ".join(["zero"] * 40)),
    ],
)
def test_numbers_are_said_in_words(value: Fraction | int, words: str) -> None:
    assert say_number(value) == words


def test_words_become_digits_and_back() -> None:
    assert digits_for_words("two three, then twenty four") == "2 3, then 24"
    assert digits_for_words("one point two five") == "1.25"
    assert speak_numbers("The answer is 84.") == "The answer is eighty four."


def _context(*turns: Turn, tools: tuple[str, ...] = ()) -> TurnContext:
    return TurnContext(
        items=(),
        tools=(),
        instructions="",
        turns=turns,
        declarations=tuple(ToolDeclaration(name) for name in tools),
    )


def test_the_time_goes_through_current_time_and_is_said() -> None:
    brain = ScriptedResponder()
    asked = _context(Turn("user", "u1", "what time is it?"), tools=("current_time",))
    call = brain.respond(asked).function_calls[0]
    assert call.name == "current_time"
    answered = _context(
        Turn("user", "u1", "what time is it?"),
        Turn("tool_call", "c", name="current_time", call_id="k"),
        Turn("tool_result", "r", call_id="k", output=orjson.dumps({"time": "14:05"}).decode()),
    )
    assert brain.respond(answered).text == "It is 14 05."


def test_a_tool_error_is_answered_politely() -> None:
    brain = ScriptedResponder()
    answered = _context(
        Turn("user", "u1", "what is 7 divided by 0"),
        Turn("tool_call", "c", name="calculator", call_id="k"),
        Turn("tool_result", "r", call_id="k", output='{"error": "division by zero"}'),
    )
    assert brain.respond(answered).text == "Sorry, the calculator failed."
