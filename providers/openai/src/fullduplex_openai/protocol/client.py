"""Every client event we send, built in one place (replay items are in :mod:`.replay`).

Pure functions: data in, a JSON-ready dict (or, for input audio, the frame's
bytes) out. The transport sends what they build; nothing else in the provider
spells a client event.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fullduplex.errors import EventError

from .shapes import (
    CANCEL_EVENT_ID,
    CREATE_EVENT_ID,
    SESSION_EVENT_ID,
    TOOLS_EVENT_ID,
    TRUNCATE_EVENT_ID,
)

_APPEND_HEAD: Final[bytes] = b'{"type":"input_audio_buffer.append","audio":"'
_APPEND_TAIL: Final[bytes] = b'"}'
_IMAGE_TYPES: Final[tuple[str, ...]] = ("image/png", "image/jpeg", "image/jpg")


def audio_append(wire_audio: bytes) -> bytes:
    """The ``input_audio_buffer.append`` frame for audio already in the wire format.

    Built from bytes directly (no dict, no JSON encoder): it is the input hot
    path, one frame per microphone chunk.
    """
    return _APPEND_HEAD + b2a_base64(wire_audio, newline=False) + _APPEND_TAIL


def function_tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """Tool specs as the session's ``function`` tools."""
    return [
        {
            "type": "function",
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        }
        for spec in tools
    ]


def session_update(
    base_session: Mapping[str, Any], system_prompt: str | None, tools: Sequence[Any] | None
) -> dict[str, Any]:
    """The ``session.update`` that configures a new connection (tagged, see shapes)."""
    session = dict(base_session)
    session["type"] = "realtime"
    if system_prompt is not None:
        session["instructions"] = system_prompt
    if tools:
        session["tools"] = [*(session.get("tools") or []), *function_tools(tools)]
    return {"type": "session.update", "event_id": SESSION_EVENT_ID, "session": session}


def tools_update(base_session: Mapping[str, Any], tools: Sequence[Any]) -> dict[str, Any]:
    """The mid-session ``session.update`` that replaces the tools (and nothing else).

    The configured tools (``provider_config["inference"]["tools"]``, hosted
    ones say) stay first, as at the start; an empty ``tools`` leaves only
    those (the list is always sent: ``[]`` clears it).
    """
    session = {
        "type": "realtime",
        "tools": [*(base_session.get("tools") or []), *function_tools(tools)],
    }
    return {"type": "session.update", "event_id": TOOLS_EVENT_ID, "session": session}


def item_create(item: dict[str, Any]) -> dict[str, Any]:
    """``conversation.item.create`` for ``item``."""
    return {"type": "conversation.item.create", "item": item}


def text_message(text: str, role: str) -> dict[str, Any]:
    """A typed line of ``role`` as a message item."""
    kind = "input_text" if role == "user" else "output_text"
    return item_create({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})


def image_message(data_b64: str, mime_type: str) -> dict[str, Any]:
    """A user image as a message item; raises :class:`EventError` for another type."""
    if mime_type not in _IMAGE_TYPES:
        raise EventError(f"mime_type: {mime_type!r} not accepted; accepted: image/png, image/jpeg")
    url = f"data:{mime_type};base64,{data_b64}"
    return item_create(
        {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": url}]}
    )


def function_output(call_id: str, content: str) -> dict[str, Any]:
    """A tool's result as a ``function_call_output`` item."""
    return item_create({"type": "function_call_output", "call_id": call_id, "output": content})


def truncate(item_id: str, audio_end_ms: int) -> dict[str, Any]:
    """``conversation.item.truncate``, tagged so that its refusal is recognised."""
    return {
        "type": "conversation.item.truncate",
        "event_id": TRUNCATE_EVENT_ID,
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": audio_end_ms,
    }


def cancel(response_id: str | None) -> dict[str, Any]:
    """``response.cancel`` of ``response_id`` (the active response when ``None``)."""
    message: dict[str, Any] = {"type": "response.cancel", "event_id": CANCEL_EVENT_ID}
    if response_id:
        message["response_id"] = response_id
    return message


def response_create() -> dict[str, Any]:
    """``response.create``, tagged so that its refusal is recognised."""
    return {"type": "response.create", "event_id": CREATE_EVENT_ID}
