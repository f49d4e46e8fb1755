"""Replaying a conversation into a fresh Live connection as ``clientContent`` turns.

Only a connection without a usable resumption handle needs this: with one,
the server restores its own state and a replay would duplicate it. Roles are
``user`` and ``model``; tool calls become ``functionCall`` parts and their
results ``functionResponse`` parts (named after the call, as the API wants).
On 2.5 models the seed must end on a user turn, so a placeholder is added when
the history ends on the model's side (both reference integrations do this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

if TYPE_CHECKING:
    from fullduplex.messages import Message

#: the user turn added after a history that ends on the model's side
PLACEHOLDER: Final = "."


def result_payload(content: str, status: str) -> dict[str, Any]:
    """A ``FunctionResponse.response``: ``{"output": ...}`` or ``{"error": ...}``."""
    try:
        value: Any = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = content
    return {"error": value} if status == "error" else {"output": value}


def _parts(message: Message, names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in message["content"]:
        if "text" in block:
            if block["text"]:
                parts.append({"text": block["text"]})
        elif "toolUse" in block:
            use = block["toolUse"]
            names[use["toolUseId"]] = use["name"]
            args = use["input"] if isinstance(use["input"], dict) else {"input": use["input"]}
            parts.append(
                {"functionCall": {"id": use["toolUseId"], "name": use["name"], "args": args}}
            )
        elif "toolResult" in block:
            result = block["toolResult"]
            text = "".join(part["text"] for part in result["content"])
            call_id = result["toolUseId"]
            parts.append(
                {
                    "functionResponse": {
                        "id": call_id,
                        "name": names.get(call_id, "tool"),
                        "response": result_payload(text, result["status"]),
                    }
                }
            )
        elif "image" in block:
            image = block["image"]
            parts.append(
                {
                    "inlineData": {
                        "mimeType": f"image/{image['format']}",
                        "data": image["source"]["base64"],
                    }
                }
            )
    return parts


def history_turns(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """``messages`` as ``Content`` turns, consecutive same-role messages merged."""
    names: dict[str, str] = {}
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = "model" if message["role"] == "assistant" else "user"
        parts = _parts(message, names)
        if not parts:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": role, "parts": parts})
    return turns


def needs_answer(messages: Sequence[Message]) -> bool:
    """Whether the history ends on the user's side (a question, or a tool's result)."""
    for message in reversed(messages):
        if message["content"]:
            return bool(message["role"] == "user")
    return False


def history_message(messages: Sequence[Message]) -> dict[str, Any] | None:
    """The ``clientContent`` frame replaying ``messages``, or ``None`` for an empty history."""
    turns = history_turns(messages)
    if not turns:
        return None
    answer = needs_answer(messages)
    if turns[-1]["role"] == "model":
        turns.append({"role": "user", "parts": [{"text": PLACEHOLDER}]})
    return {"clientContent": {"turns": turns, "turnComplete": answer}}
