"""Replay items: a fullduplex history recreated in a fresh Realtime connection.

A new connection (first start with ``messages=``, or a restart after a drop or
``timeout_s``) knows nothing of the conversation so far. The GA protocol lets a
client recreate text, tool calls and tool results as items, but not assistant
audio, so spoken turns are replayed by their transcripts: user text becomes an
``input_text`` message, assistant text an assistant ``output_text`` message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from fullduplex.messages import Message

from .client import item_create as _create


def _image_url(block: Any) -> str | None:
    if not isinstance(block, dict):
        return None
    source = block.get("source") or {}
    data = source.get("base64") if isinstance(source, dict) else None
    if not isinstance(data, str):
        return None
    fmt = str(block.get("format") or "png").lower()
    mime = "image/jpeg" if fmt in ("jpg", "jpeg") else f"image/{fmt}"
    return f"data:{mime};base64,{data}"


def _tool_output(result: Any) -> str:
    parts = result.get("content") or []
    texts = [p.get("text", "") for p in parts if isinstance(p, dict)]
    return "".join(texts)


def history_items(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """``conversation.item.create`` events recreating ``messages`` in order.

    Consecutive text blocks of one message become one item; tool calls and tool
    results become their own items at the place they occurred.
    """
    events: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        pending: list[dict[str, Any]] = []

        def flush(role: str = str(role), pending: list[dict[str, Any]] = pending) -> None:
            if pending:
                events.append(_create({"type": "message", "role": role, "content": list(pending)}))
                pending.clear()

        blocks: list[Any] = list(message.get("content") or [])
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if "text" in block and isinstance(block["text"], str):
                if block["text"]:
                    kind = "input_text" if role == "user" else "output_text"
                    pending.append({"type": kind, "text": block["text"]})
            elif "image" in block and role == "user":
                url = _image_url(block["image"])
                if url is not None:
                    pending.append({"type": "input_image", "image_url": url})
            elif "toolUse" in block:
                flush()
                use = block["toolUse"]
                args = use.get("input")
                events.append(
                    _create(
                        {
                            "type": "function_call",
                            "call_id": str(use.get("toolUseId", "")),
                            "name": str(use.get("name", "")),
                            "arguments": args if isinstance(args, str) else json.dumps(args),
                        }
                    )
                )
            elif "toolResult" in block:
                flush()
                result = block["toolResult"]
                events.append(
                    _create(
                        {
                            "type": "function_call_output",
                            "call_id": str(result.get("toolUseId", "")),
                            "output": _tool_output(result),
                        }
                    )
                )
        flush()
    return events


def needs_answer(messages: Sequence[Message], *, cut_off: bool = False) -> bool:
    """True when the connection that replays ``messages`` owes a response.

    A history ending in tool results the model has not answered always does.
    A history ending in the user's words does only when ``cut_off``: the old
    connection died while an answer was owed or streaming, so the user is still
    waiting for it. Otherwise it is left alone: a late user transcript is often
    recorded after the answer it led to, and answering twice would be worse
    than waiting for the user to speak.
    """
    for message in reversed(messages):
        content = [b for b in message.get("content") or [] if isinstance(b, dict)]
        if not content:
            continue
        if message.get("role") == "assistant":
            return False
        return cut_off or any("toolResult" in b for b in content)
    return False


def unanswered_calls(messages: Iterable[Message]) -> list[str]:
    """Call ids of tool calls in ``messages`` that have no result yet.

    Their tools are still running across a reconnect; the new connection must
    wait for their results too before it asks for one answer to all of them.
    """
    calls: dict[str, None] = {}
    for message in messages:
        blocks: list[Any] = list(message.get("content") or [])
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("toolUse"), dict):
                calls[str(block["toolUse"].get("toolUseId", ""))] = None
            elif isinstance(block.get("toolResult"), dict):
                calls.pop(str(block["toolResult"].get("toolUseId", "")), None)
    return list(calls)
