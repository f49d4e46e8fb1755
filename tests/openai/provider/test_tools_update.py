"""The mid-session tools update of the OpenAI protocol (sans I/O): what it sends, and a
refusal that is reported without ending the conversation."""

from __future__ import annotations

from typing import Any

from fullduplex.events import BidiErrorEvent
from fullduplex.tools import ToolSpec
from fullduplex_openai.protocol import RealtimeProtocol

HOSTED = {"type": "mcp", "server_label": "docs", "server_url": "https://example.invalid/mcp"}


def make(session: dict[str, Any] | None = None) -> RealtimeProtocol:
    return RealtimeProtocol(model_id="gpt-realtime", base_session=session or {})


def test_the_update_carries_only_the_tools_after_the_configured_ones() -> None:
    proto = make({"tools": [HOSTED], "instructions": "unchanged"})
    spec = ToolSpec("bonus", "Double x", {"type": "object", "properties": {"x": {}}})
    proto.tools_update([spec])
    [update] = proto.outbox
    assert update["type"] == "session.update"
    assert update["event_id"] == "fd_tools_update"
    assert update["session"] == {
        "type": "realtime",
        "tools": [
            HOSTED,
            {
                "type": "function",
                "name": "bonus",
                "description": "Double x",
                "parameters": spec.parameters,
            },
        ],
    }


def test_an_empty_list_is_sent_to_clear_the_tools() -> None:
    proto = make()
    proto.tools_update([])
    assert proto.outbox[0]["session"]["tools"] == []


def test_a_refused_tools_update_is_an_error_event_not_the_end() -> None:
    proto = make()
    events = proto.handle(
        {
            "type": "error",
            "error": {
                "code": "invalid_value",
                "message": "Invalid tool name.",
                "param": "session.tools[0].name",
                "event_id": "fd_tools_update",
            },
        }
    )
    [error] = events
    assert isinstance(error, BidiErrorEvent)
    assert "refused the changed tool list" in error.message
    assert error.param == "session.tools[0].name"
