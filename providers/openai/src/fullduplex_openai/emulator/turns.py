"""The GA conversation, told to the kit's responder in its neutral terms.

The kit's scripted responder reads ``Turn`` values, never wire items; this
module is where the OpenAI item shapes (``message`` with ``input_text`` /
``input_audio`` parts, ``function_call``, ``function_call_output``) and tool
objects (``{"type": "function", "name", "parameters"}``) are read for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fullduplex_emulator.responder import ToolDeclaration, Turn


def _user_text(
    item: Mapping[str, Any], transcripts: Mapping[str, str], audio_ms: Mapping[str, int]
) -> str | None:
    """What a user message says: its text parts and what is known of its audio."""
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
            known = transcripts.get(item_id) if item_id in audio_ms else part.get("transcript")
            if known:
                parts.append(str(known))
    return " ".join(parts) if parts else None


def _message_text(item: Mapping[str, Any]) -> str | None:
    texts = [
        str(part.get("text") or part.get("transcript") or "") for part in item.get("content", ())
    ]
    return " ".join(texts) if texts else None


def turn_of(
    item: Mapping[str, Any], transcripts: Mapping[str, str], audio_ms: Mapping[str, int]
) -> Turn:
    """One GA item as a ``Turn``."""
    item_id = str(item.get("id"))
    kind = item.get("type")
    if kind == "function_call":
        return Turn(
            "tool_call",
            item_id,
            name=item.get("name"),
            call_id=item.get("call_id"),
            arguments=str(item.get("arguments", "")),
        )
    if kind == "function_call_output":
        return Turn(
            "tool_result",
            item_id,
            call_id=item.get("call_id"),
            output=str(item.get("output", "")),
        )
    role = item.get("role")
    if role == "user":
        return Turn(
            "user", item_id, _user_text(item, transcripts, audio_ms), audio_ms.get(item_id, 0)
        )
    return Turn("system" if role == "system" else "assistant", item_id, _message_text(item))


def turns_of(
    items: Iterable[Mapping[str, Any]],
    transcripts: Mapping[str, str],
    audio_ms: Mapping[str, int],
) -> tuple[Turn, ...]:
    """The conversation's items as ``Turn`` values, in order."""
    return tuple(turn_of(item, transcripts, audio_ms) for item in items)


def declarations_of(tools: Sequence[Mapping[str, Any]]) -> tuple[ToolDeclaration, ...]:
    """The function tools among a session's (or response's) tools."""
    return tuple(
        ToolDeclaration(
            str(tool.get("name")),
            str(tool.get("description") or ""),
            tool.get("parameters") or {},
        )
        for tool in tools
        if tool.get("type", "function") == "function" and isinstance(tool.get("name"), str)
    )
