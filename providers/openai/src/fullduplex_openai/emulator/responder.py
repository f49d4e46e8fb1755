"""What the emulated model says: deterministic and replaceable.

The session asks a ``Responder`` two things: what a committed user audio turn
"said" (``transcribe``), and what to answer given the conversation
(``respond``, returning a ``Reply``: words to speak or write and/or function
calls). Pass your own with ``Emulator(responder=...)``.

``DefaultResponder`` is enough for demos and end-to-end tests:

- a text (or scripted audio) turn gets an echoing answer;
- an arithmetic question ("what is 12 times 7?") becomes a ``calculator``
  function call when the session has that tool, and the answer after the
  ``function_call_output`` speaks the result ("The answer is 84.");
  without the tool it answers directly;
- "goodbye" / "bye" with a ``stop_conversation`` tool says goodbye and calls it;
- an audio turn nobody scripted gets an answer about its length;
- the silence that trips server VAD's idle timeout gets "Are you still there?".

Audio carries no words the emulator can understand, so tests that want an audio
turn to "say" something queue the text with ``script_transcripts`` (one per
committed audio turn, in order).
"""

from __future__ import annotations

import ast
import collections
import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call the model makes: the tool ``name`` and its JSON ``arguments`` string."""

    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class Reply:
    """One response's content: ``text`` (spoken or written; may be empty), then function calls."""

    text: str = ""
    function_calls: tuple[FunctionCall, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What a responder may look at when answering.

    ``items`` are the conversation items in order, as the server shows them (no audio bytes);
    ``transcripts`` maps user audio item ids to what the responder's ``transcribe`` said they
    contain; ``audio_ms`` maps item ids to their audio length; ``idle_timeout`` is true for
    the response the server creates itself when server VAD's idle timeout fires (the last
    item is then the silent audio it committed).
    """

    items: Sequence[Mapping[str, Any]]
    tools: Sequence[Mapping[str, Any]]
    instructions: str
    transcripts: Mapping[str, str] = field(default_factory=dict)
    audio_ms: Mapping[str, int] = field(default_factory=dict)
    #: the user stayed silent for server VAD's ``idle_timeout_ms``: prompt them
    idle_timeout: bool = False

    def tool_named(self, name: str) -> Mapping[str, Any] | None:
        """The function tool called ``name``, if the session (or response) declares it."""
        for tool in self.tools:
            if tool.get("type", "function") == "function" and tool.get("name") == name:
                return tool
        return None


class Responder(ABC):
    """Decides the emulated model's output. Subclass and override ``respond``."""

    def transcribe(self, audio: bytes, duration_ms: int) -> str | None:
        """What a committed audio turn says, or ``None`` when unknown (the default)."""
        return None

    @abstractmethod
    def respond(self, context: TurnContext) -> Reply:
        """The reply to the conversation as it stands."""


# --- arithmetic ------------------------------------------------------------------------

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


def _argument_name(tool: Mapping[str, Any]) -> str:
    """The calculator's expression parameter: its only string property, else ``expression``."""
    properties = (tool.get("parameters") or {}).get("properties") or {}
    strings = [name for name, spec in properties.items() if (spec or {}).get("type") == "string"]
    return strings[0] if len(strings) == 1 else "expression"


def _result_text(output: str) -> str:
    """A tool output spoken back: a JSON ``result``/``value`` field, a JSON scalar, or the text."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output.strip()[:200]
    if isinstance(value, dict):
        for key in ("result", "value", "answer", "content", "text"):
            if key in value:
                value = value[key]
                break
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return value.strip()[:200]
    return orjson.dumps(value).decode()[:200]


#: what ``DefaultResponder`` says when the idle timeout fires
IDLE_PROMPT = "Are you still there?"
_GOODBYE = re.compile(r"\b(good\s*bye|bye)\b", re.IGNORECASE)


def _user_text(item: Mapping[str, Any], context: TurnContext) -> str | None:
    parts: list[str] = []
    for part in item.get("content", ()):
        kind = part.get("type")
        if kind == "input_text":
            parts.append(str(part.get("text", "")))
        elif kind == "input_audio":
            # Audio the session heard is known only through the responder's own transcribe();
            # the item's transcript may be a mere description. Audio created with a
            # transcript by the client (a replayed history) carries its words.
            item_id = str(item.get("id"))
            if item_id in context.audio_ms:
                known = context.transcripts.get(item_id)
            else:
                known = part.get("transcript")
            if known:
                parts.append(str(known))
    return " ".join(parts) if parts else None


class DefaultResponder(Responder):
    """The scripted model described in the module docstring."""

    def __init__(self, transcripts: Iterable[str] = ()) -> None:
        self._scripted: collections.deque[str] = collections.deque(transcripts)

    def script_transcripts(self, *texts: str) -> None:
        """Queue what the next committed audio turns say, one text per turn."""
        self._scripted.extend(texts)

    def transcribe(self, audio: bytes, duration_ms: int) -> str | None:
        return self._scripted.popleft() if self._scripted else None

    def respond(self, context: TurnContext) -> Reply:
        if context.idle_timeout:
            return Reply(IDLE_PROMPT)
        last = next(
            (
                item
                for item in reversed(context.items)
                if not (item.get("type") == "message" and item.get("role") != "user")
            ),
            None,
        )
        if last is None:
            return Reply("Hello! How can I help you?")
        if last.get("type") == "function_call_output":
            return self._after_tool(last, context)
        if last.get("type") == "function_call":
            return Reply(f"I am waiting for the result of {last.get('name')}.")
        if last.get("type") != "message":
            return Reply("Okay.")
        text = _user_text(last, context)
        if text is None:
            seconds = context.audio_ms.get(str(last.get("id")), 0) / 1000
            return Reply(f"I heard {seconds:.1f} seconds of audio.")
        return self._answer_text(text.strip(), context)

    def _answer_text(self, text: str, context: TurnContext) -> Reply:
        if _GOODBYE.search(text):
            if context.tool_named("stop_conversation") is not None:
                return Reply("Goodbye!", (FunctionCall("stop_conversation", "{}"),))
            return Reply("Goodbye!")
        expression = find_arithmetic(text)
        if expression is not None:
            calculator = context.tool_named("calculator")
            if calculator is not None:
                arguments = orjson.dumps({_argument_name(calculator): expression}).decode()
                return Reply("", (FunctionCall("calculator", arguments),))
            try:
                return Reply(f"The answer is {format_number(evaluate(expression))}.")
            except ValueError:
                return Reply(f"I cannot compute {expression}.")
        return Reply(f"You said: {text}" if text else "I did not catch that.")

    def _after_tool(self, output_item: Mapping[str, Any], context: TurnContext) -> Reply:
        call_id = output_item.get("call_id")
        name = next(
            (
                item.get("name")
                for item in context.items
                if item.get("type") == "function_call" and item.get("call_id") == call_id
            ),
            None,
        )
        if name == "stop_conversation":
            return Reply("Goodbye!")
        result = _result_text(str(output_item.get("output", "")))
        if name == "calculator":
            return Reply(f"The answer is {result}.")
        return Reply(f"The {name or 'tool'} result is {result}.")
