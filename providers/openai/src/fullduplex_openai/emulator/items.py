"""The ``conversation.item.*`` events: create, retrieve, delete, truncate.

Items a client creates are checked the way the service checks them (roles and
their content part types, ``function_call_output`` needing its call, assistant
audio never created by the client) before they enter the conversation.
Truncation only cuts model output audio, never past what exists (an answer
still streaming can be cut within what was sent of it): the client says what
the user heard, and the service then deletes the item's transcript.
"""

from __future__ import annotations

import base64
import binascii
import copy

from fullduplex_emulator.frames import Frame

from . import synth
from .errors import RealtimeProtocolError, invalid_type, invalid_value, unknown_parameter
from .ids import new_id
from .state import Json, SessionState


def on_create(state: SessionState, event: Json) -> list[Frame]:
    raw = event.get("item")
    if not isinstance(raw, dict):
        raise RealtimeProtocolError(
            "missing_required_parameter", "Missing required parameter: 'item'.", "item"
        )
    previous_item_id = event.get("previous_item_id")
    if previous_item_id is not None and not isinstance(previous_item_id, str):
        raise invalid_type("previous_item_id", previous_item_id, "a string")
    item, audio = _check_item(state, raw)
    previous = state.conversation.insert(item, previous_item_id, audio)
    if audio:
        bpm = synth.bytes_per_ms(state.input_format)
        state.audio_ms[item["id"]] = len(audio) // bpm
        state.item_bytes_per_ms[item["id"]] = bpm
        heard = state.responder.transcribe(audio, len(audio) // bpm)
        if heard is not None:
            state.transcripts[item["id"]] = heard
    return [
        state.frame("conversation.item.added", item=item, previous_item_id=previous),
        state.frame("conversation.item.done", item=item, previous_item_id=previous),
    ]


def _check_item(state: SessionState, raw: Json) -> tuple[Json, bytes]:
    item = copy.deepcopy(raw)
    kind = item.get("type")
    item_id = item.get("id")
    if item_id is None:
        item_id = new_id("item")
    elif not isinstance(item_id, str) or not item_id or len(item_id) > 64:
        raise invalid_value("item.id", item_id, "a string of 1 to 64 characters")
    audio = b""
    if kind == "message":
        allowed = {"type", "id", "object", "status", "role", "content"}
        for key in item:
            if key not in allowed:
                raise unknown_parameter(f"item.{key}")
        role = item.get("role")
        accepted = {
            "user": ("input_text", "input_audio", "input_image"),
            "system": ("input_text",),
            "assistant": ("output_text", "output_audio"),
        }
        if role not in accepted:
            raise invalid_value("item.role", role, "'user', 'system', and 'assistant'")
        content = item.get("content")
        if not isinstance(content, list):
            raise invalid_type("item.content", content, "an array")
        for i, part in enumerate(content):
            path = f"item.content[{i}]"
            if not isinstance(part, dict) or part.get("type") not in accepted[role]:
                found = part.get("type") if isinstance(part, dict) else part
                names = ", ".join(f"'{t}'" for t in accepted[role])
                raise invalid_value(f"{path}.type", found, names)
            if part["type"] in ("input_text", "output_text") and not isinstance(
                part.get("text"), str
            ):
                raise invalid_type(f"{path}.text", part.get("text"), "a string")
            if part["type"] == "input_audio":
                if "audio" in part:
                    try:
                        audio = base64.b64decode(part.pop("audio"), validate=True)
                    except (binascii.Error, ValueError, TypeError) as exc:
                        raise RealtimeProtocolError(
                            "invalid_value", f"Invalid '{path}.audio': not base64.", path
                        ) from exc
                part.setdefault("transcript", None)
            if part["type"] == "output_audio" and "audio" in part:
                raise RealtimeProtocolError(
                    "invalid_value",
                    "Assistant audio cannot be created by the client; send output_text "
                    "or an output_audio transcript instead.",
                    f"{path}.audio",
                )
    elif kind == "function_call":
        for key in ("name", "call_id"):
            if not isinstance(item.get(key), str):
                raise RealtimeProtocolError(
                    "missing_required_parameter",
                    f"Missing required parameter: 'item.{key}'.",
                    f"item.{key}",
                )
        item.setdefault("arguments", "")
        if not isinstance(item["arguments"], str):
            raise invalid_type("item.arguments", item["arguments"], "a string")
    elif kind == "function_call_output":
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise RealtimeProtocolError(
                "missing_required_parameter",
                "Missing required parameter: 'item.call_id'.",
                "item.call_id",
            )
        if not isinstance(item.get("output"), str):
            raise invalid_type("item.output", item.get("output"), "a string")
        if not any(
            existing.get("type") == "function_call" and existing.get("call_id") == call_id
            for existing in state.conversation.items
        ):
            raise RealtimeProtocolError(
                "invalid_value",
                f"No tool call found for function call output with call_id {call_id}.",
                "item.call_id",
            )
    else:
        raise invalid_value(
            "item.type", kind, "'message', 'function_call', and 'function_call_output'"
        )
    item["id"] = item_id
    item["object"] = "realtime.item"
    item["status"] = "completed"
    return item, audio


def _item_id_of(event: Json) -> str:
    item_id = event.get("item_id")
    if not isinstance(item_id, str):
        raise RealtimeProtocolError(
            "missing_required_parameter", "Missing required parameter: 'item_id'.", "item_id"
        )
    return item_id


def on_retrieve(state: SessionState, event: Json) -> list[Frame]:
    item = state.conversation.retrieved(_item_id_of(event))
    return [state.frame("conversation.item.retrieved", item=item)]


def on_delete(state: SessionState, event: Json) -> list[Frame]:
    item_id = _item_id_of(event)
    state.conversation.delete(item_id)
    state.audio_ms.pop(item_id, None)
    return [state.frame("conversation.item.deleted", item_id=item_id)]


def on_truncate(state: SessionState, event: Json) -> list[Frame]:
    item_id = _item_id_of(event)
    item = state.conversation.get(item_id)
    content_index = event.get("content_index", 0)
    end_ms = event.get("audio_end_ms")
    if isinstance(end_ms, bool) or not isinstance(end_ms, int):
        raise invalid_type("audio_end_ms", end_ms, "an integer")
    if end_ms < 0:
        raise invalid_value("audio_end_ms", end_ms, "an integer >= 0")
    is_audio_answer = (
        item.get("type") == "message"
        and item.get("role") == "assistant"
        and any(part.get("type") == "output_audio" for part in item.get("content", ()))
    )
    if not is_audio_answer:
        raise RealtimeProtocolError(
            "invalid_value", "Only model output audio messages can be truncated", "item_id"
        )
    if content_index != 0:
        raise invalid_value("content_index", content_index, "0")
    bpm = state.item_bytes_per_ms.get(item_id, 48)
    available_ms = len(state.conversation.audio_of(item_id)) // bpm
    if end_ms > available_ms:
        raise RealtimeProtocolError(
            None,
            f"Audio content of {available_ms}ms is already shorter than {end_ms}ms",
            "audio_end_ms",
        )
    state.conversation.truncate_audio(item_id, end_ms, bpm)
    state.truncated_items.add(item_id)
    state.audio_ms[item_id] = end_ms
    return [
        state.frame(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=0,
            audio_end_ms=end_ms,
        )
    ]
