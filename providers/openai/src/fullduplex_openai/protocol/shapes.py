"""Field readers and fixed names of the OpenAI Realtime GA wire, shared by both directions.

Why a module of its own: the server handlers and the client-side builders both
need the event ids we tag our requests with (to recognise the server's answer
to them) and the same strict readers of server fields, which raise
:class:`Shape` naming the field when it has the wrong type. A wrongly shaped
event becomes one ``BidiErrorEvent``; it never ends the conversation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from fullduplex.events import StopReason

#: tags our ``session.update``: its refusal is a configuration error
SESSION_EVENT_ID: Final[str] = "fd_session_update"
#: tags our mid-session ``session.update`` of the tools: its refusal is reported
#: (a ``BidiErrorEvent``) and the conversation goes on with the previous tools
TOOLS_EVENT_ID: Final[str] = "fd_tools_update"
#: tags our ``response.create``, so a refusal of it can be told from other errors
CREATE_EVENT_ID: Final[str] = "fd_response_create"
#: tags our ``conversation.item.truncate``: its refusal (audio already shorter
#: than asked, an item the server forgot) is harmless and not shown
TRUNCATE_EVENT_ID: Final[str] = "fd_item_truncate"
#: tags our ``response.cancel``
CANCEL_EVENT_ID: Final[str] = "fd_response_cancel"

#: Server events that carry nothing a fullduplex user needs. Listed so that
#: "every GA server event is handled or deliberately ignored" can be checked.
IGNORED_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "conversation.created",
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.done",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "conversation.item.input_audio_transcription.segment",
        "input_audio_buffer.dtmf_event_received",
        "input_audio_buffer.timeout_triggered",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "rate_limits.updated",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    }
)

#: Error codes that mean the credentials or the connection shape were refused.
AUTH_CODES: Final[frozenset[str]] = frozenset(
    {
        "invalid_api_key",
        "invalid_authentication",
        "authentication_error",
        "unauthorized",
        "insufficient_permissions",
        "permission_denied",
        "invalid_client_secret",
        "expired_client_secret",
    }
)
MODEL_CODES: Final[frozenset[str]] = frozenset({"model_not_found", "invalid_model"})
#: Errors the lifecycle makes harmless: never shown to the user as failures.
QUIET_CODES: Final[frozenset[str]] = frozenset({"response_cancel_not_active"})

#: The field the hot path reads without checking, per event type, for the
#: message when it fails (the handlers of other events raise :class:`Shape`).
HOT_FIELDS: Final[dict[str, tuple[str, str]]] = {
    "response.output_audio.delta": ("delta", "a base64 string"),
}


class Shape(Exception):
    """A server event field has the wrong shape (internal: becomes a BidiErrorEvent)."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(field, expected)
        self.field = field
        self.expected = expected


def obj(parent: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """``parent[key]`` as a dict (``{}`` when absent or null)."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Shape(where + key, "an object")
    return value


def text(parent: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """``parent[key]`` as an optional string."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Shape(where + key, "a string")


def integer(parent: Mapping[str, Any], key: str, where: str = "") -> int:
    """``parent[key]`` as an integer (0 when absent; finite numbers are truncated)."""
    value = parent.get(key)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    raise Shape(where + key, "a number")


def stop_reason(response: Mapping[str, Any], had_tool_call: bool) -> StopReason:
    """The fullduplex stop reason of a finished ``response`` object."""
    status = response.get("status")
    details = response.get("status_details") or {}
    reason = details.get("reason") if isinstance(details, dict) else None
    if status == "completed":
        return "tool_use" if had_tool_call else "complete"
    if status == "cancelled":
        return "interrupted" if reason == "turn_detected" else "cancelled"
    if status == "incomplete":
        if reason == "content_filter":
            return "content_filter"
        return "max_tokens"
    if status == "failed":
        return "error"
    return "complete"


def interrupt_response(turn: Any, *, default: bool) -> bool:
    """Whether a ``turn_detection`` object lets the server cut a response on speech."""
    if isinstance(turn, dict):
        value = turn.get("interrupt_response", True)
        return bool(value) if value is not None else True
    return default


def create_on_commit(turn: Any) -> bool:
    """Whether the server answers a committed user turn by itself."""
    return not (isinstance(turn, dict) and turn.get("create_response") is False)
