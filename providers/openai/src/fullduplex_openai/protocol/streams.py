"""Streamed text assembled: transcripts (both roles) and tool-call arguments.

Why apart from the dispatcher: each is a small accumulator keyed by item or
call id, with the same rule (the final event's full text wins over the deltas
seen). Their bound methods sit directly in the protocol's handler table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fullduplex.events import (
    BidiErrorEvent,
    BidiOutputEvent,
    BidiTranscriptStreamEvent,
    ToolUseStreamEvent,
)

from .responses import ResponseFlow
from .shapes import Shape, obj, text

Events = list[BidiOutputEvent]
_NONE: Events = []  # shared "no events" result; never mutated


class Transcripts:
    """The assistant's and the user's transcripts, delta by delta, per item."""

    def __init__(self, clean: Callable[[str], str]) -> None:
        self._clean = clean
        self.reset()

    def reset(self) -> None:
        """Forget the transcripts of the last connection."""
        self._assistant: dict[str, str] = {}
        self._user: dict[str, str] = {}

    def assistant_delta(self, event: dict[str, Any]) -> Events:
        item_id = text(event, "item_id") or ""
        delta = text(event, "delta") or ""
        current = self._assistant.get(item_id, "") + delta
        self._assistant[item_id] = current
        return [
            BidiTranscriptStreamEvent(
                delta, "assistant", False, current, event.get("response_id"), item_id or None
            )
        ]

    def _final_assistant(self, event: dict[str, Any], said: Any) -> Events:
        item_id = text(event, "item_id") or ""
        so_far = self._assistant.pop(item_id, "")
        final = said if isinstance(said, str) else so_far
        return [
            BidiTranscriptStreamEvent(
                final, "assistant", True, final, event.get("response_id"), item_id or None
            )
        ]

    def assistant_done(self, event: dict[str, Any]) -> Events:
        return self._final_assistant(event, event.get("transcript"))

    def text_done(self, event: dict[str, Any]) -> Events:
        return self._final_assistant(event, event.get("text"))

    def user_delta(self, event: dict[str, Any]) -> Events:
        item_id = text(event, "item_id") or ""
        delta = text(event, "delta") or ""
        current = self._user.get(item_id, "") + delta
        self._user[item_id] = current
        return [BidiTranscriptStreamEvent(delta, "user", False, current, None, item_id or None)]

    def user_done(self, event: dict[str, Any]) -> Events:
        item_id = text(event, "item_id") or ""
        so_far = self._user.pop(item_id, "")
        said = event.get("transcript")
        final = said if isinstance(said, str) else so_far
        return [BidiTranscriptStreamEvent(final, "user", True, final, None, item_id or None)]

    def user_failed(self, event: dict[str, Any]) -> Events:
        item_id = text(event, "item_id") or ""
        error = obj(event, "error")
        self._user.pop(item_id, None)
        message = str(error.get("message") or "unknown")
        code = error.get("code")
        return [
            BidiErrorEvent(
                self._clean(f"the user's speech could not be transcribed: {message}"),
                code if isinstance(code, str) and code else "transcription_failed",
                None,
            )
        ]


class CallArguments:
    """Function calls of the current connection, their arguments delta by delta."""

    def __init__(self, flow: ResponseFlow) -> None:
        self._flow = flow
        self.reset()

    def reset(self) -> None:
        """Forget the calls of the last connection."""
        self._calls: dict[str, tuple[str, str | None]] = {}  # call_id -> (name, item_id)
        self._args: dict[str, str] = {}

    def item_added(self, event: dict[str, Any]) -> Events:
        item = obj(event, "item")
        if item.get("type") == "function_call":
            call_id = text(item, "call_id", "item.") or ""
            name = text(item, "name", "item.") or ""
            self._calls[call_id] = (name, text(item, "id", "item."))
        return _NONE

    def args_delta(self, event: dict[str, Any]) -> Events:
        call_id = text(event, "call_id") or ""
        delta = text(event, "delta") or ""
        response_id = text(event, "response_id")
        name, item_id = self._calls.get(call_id, ("", text(event, "item_id")))
        args = self._args.get(call_id, "") + delta
        self._args[call_id] = args
        return [ToolUseStreamEvent(call_id, name, args, delta, False, response_id, item_id)]

    def args_done(self, event: dict[str, Any]) -> Events:
        call_id = text(event, "call_id")
        if not call_id:
            # a call nobody can answer must not hold the batch's response forever
            raise Shape("call_id", "a non-empty string")
        response_id = text(event, "response_id")
        event_name = text(event, "name")
        event_item = text(event, "item_id")
        known_name, item_id = self._calls.pop(call_id, ("", event_item))
        name = event_name or known_name
        args = event.get("arguments")
        if not isinstance(args, str):
            args = self._args.get(call_id, "")
        self._args.pop(call_id, None)
        self._flow.call_finished(call_id, response_id)
        return [ToolUseStreamEvent(call_id, name, args, "", True, response_id, item_id)]
