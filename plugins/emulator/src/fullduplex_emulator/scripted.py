"""The scripted responder: the conversation "brain" every provider's emulator shares.

``ScriptedResponder`` (also known as ``DefaultResponder``) is enough for demos and
end-to-end tests, whatever the wire:

- a text (or scripted audio) turn gets an echoing answer;
- an arithmetic question ("what is 12 times 7?") becomes a ``calculator``
  function call when the session has that tool, and the answer after the tool's
  result speaks it ("The answer is 84."); without the tool it answers directly;
- "goodbye" / "bye" with a ``stop_conversation`` tool says goodbye and calls it;
- "what time is it" becomes a ``current_time`` call when the session has that tool;
- an audio turn nobody scripted or heard gets an answer about its length;
- speech it heard but does not understand gets a polite "I heard ..." answer;
- the silence that trips the server VAD's idle timeout gets "Are you still there?".

Tests that want an audio turn to "say" something queue the text with
``script_transcripts`` (one per committed audio turn, in order). Given a
``speech.SpeechStack`` (``speech=``), it also listens: an audio turn nothing was
scripted for is recognised against the grammar of what it understands, and its
answers say numbers in words ("The answer is eighty four."), as a voice would.
It reads only the neutral ``TurnContext.turns``.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import orjson

from .arithmetic import evaluate, find_arithmetic, format_number
from .numbers import speak_numbers
from .responder import FunctionCall, Reply, Responder, ToolDeclaration, Turn, TurnContext

if TYPE_CHECKING:
    from .speech import SpeechStack

#: what the scripted responder says when the idle timeout fires
IDLE_PROMPT: Final = "Are you still there?"
_GOODBYE = re.compile(r"\b(good\s*bye|bye)\b", re.IGNORECASE)
_TIME = re.compile(r"\bwhat(?:'s| is)? (?:the )?time\b|\btell me the time\b", re.IGNORECASE)


def _argument_name(tool: ToolDeclaration) -> str:
    """The calculator's expression parameter: its only string property, else ``expression``."""
    properties = tool.parameters.get("properties") or {}
    strings = [name for name, spec in properties.items() if (spec or {}).get("type") == "string"]
    return strings[0] if len(strings) == 1 else "expression"


def _content_blocks(value: object) -> list[dict[str, Any]] | None:
    """The blocks of a JSON array of content blocks (``[{"text": "84"}]``, Strands' shape)."""
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(block, dict) and ("text" in block or "json" in block) for block in value):
        return value
    return None


def _spoken(value: object) -> str:
    """A decoded tool result as words: text blocks, a ``result``-like field, a scalar, or JSON."""
    blocks = _content_blocks(value)
    if blocks is not None:
        words = (
            str(block["text"]).strip() if "text" in block else _spoken(block["json"])
            for block in blocks
        )
        return " ".join(words)[:200]
    if isinstance(value, dict):
        for key in ("result", "value", "answer", "content", "text"):
            if key in value:
                return _spoken(value[key])
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return value.strip()[:200]
    return orjson.dumps(value).decode()[:200]


def _result_text(output: str) -> str:
    """A tool output spoken back (JSON or plain text); see ``_spoken``."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output.strip()[:200]
    return _spoken(value)


def _is_error(output: str) -> bool:
    """Whether a tool output is the error result the agent sends (``{"error": "..."}``)."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and set(value) == {"error"}


def _clock_time(output: str) -> str:
    """The ``HH:MM`` of a ``current_time`` result, said as "14 05" (or the output as is)."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output.strip()[:80]
    if isinstance(value, dict) and isinstance(value.get("time"), str):
        hours, _, minutes = value["time"].partition(":")
        if minutes == "00":
            return f"{int(hours)} o'clock"
        return f"{int(hours)} {minutes}" if minutes.isdigit() else value["time"]
    return _result_text(output)


class ScriptedResponder(Responder):
    """The scripted model described in the module docstring."""

    def __init__(self, transcripts: Iterable[str] = (), speech: SpeechStack | None = None) -> None:
        self._scripted: collections.deque[str] = collections.deque(transcripts)
        #: the ears and voice, if any; with them numbers are said in words
        self.speech = speech
        self._not_understood: set[str] = set()

    def script_transcripts(self, *texts: str) -> None:
        """Queue what the next committed audio turns say, one text per turn."""
        self._scripted.extend(texts)

    def transcribe(self, audio: bytes, duration_ms: int) -> str | None:
        return self._scripted.popleft() if self._scripted else None

    def hear(self, audio: bytes, duration_ms: int, pcm16: bytes, rate: int) -> str | None:
        """A scripted transcript first; else, with speech, what the recogniser heard."""
        if self._scripted or self.speech is None:
            return self.transcribe(audio, duration_ms)
        heard = self.speech.hear(pcm16, rate)
        if heard is None:
            return None
        if not heard.understood:
            self._not_understood.add(heard.text)
        return heard.text

    def _say(self, text: str) -> Reply:
        """A spoken reply: numbers in words when this responder has a voice."""
        return Reply(speak_numbers(text) if self.speech is not None else text)

    def respond(self, context: TurnContext) -> Reply:
        if context.idle_timeout:
            return Reply(IDLE_PROMPT)
        # what the model answers: the last thing that is not its own (or a system) message
        last = next(
            (turn for turn in reversed(context.turns) if turn.kind not in ("assistant", "system")),
            None,
        )
        if last is None:
            return Reply("Hello! How can I help you?")
        if last.kind == "tool_result":
            return self._after_tool(last, context)
        if last.kind == "tool_call":
            return Reply(f"I am waiting for the result of {last.name}.")
        if last.text is None:
            seconds = context.audio_ms.get(last.id, last.audio_ms) / 1000
            return Reply(f"I heard {seconds:.1f} seconds of audio.")
        text = last.text.strip()
        if text in self._not_understood:
            return Reply(f"Sorry, I did not understand. I heard: {text}.")
        return self._answer_text(text, context)

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
                return self._say(f"The answer is {format_number(evaluate(expression))}.")
            except ValueError:
                return Reply(f"I cannot compute {expression}.")
        if _TIME.search(text):
            if context.tool_named("current_time") is not None:
                return Reply("", (FunctionCall("current_time", "{}"),))
            return Reply("I have no clock to read.")
        return Reply(f"You said: {text}" if text else "I did not catch that.")

    def _after_tool(self, result: Turn, context: TurnContext) -> Reply:
        name = next(
            (
                turn.name
                for turn in context.turns
                if turn.kind == "tool_call" and turn.call_id == result.call_id
            ),
            None,
        )
        if name == "stop_conversation":
            return Reply("Goodbye!")
        if _is_error(result.output):
            return Reply(f"Sorry, the {name or 'tool'} failed.")
        if name == "current_time":
            return self._say(f"It is {_clock_time(result.output)}.")
        spoken = _result_text(result.output)
        if name == "calculator":
            return self._say(f"The answer is {spoken}.")
        return self._say(f"The {name or 'tool'} result is {spoken}.")


#: the name the OpenAI emulator has always used for it
DefaultResponder = ScriptedResponder
