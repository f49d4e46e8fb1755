"""Every event type survives to_dict() -> JSON -> event_from_dict()."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fullduplex import events as ev
from fullduplex.errors import EventError

SAMPLES: list[Any] = [
    ev.BidiTextInputEvent("hello", "user"),
    ev.BidiAudioInputEvent(b"\x01\x02\x03\x04", 16000, 1, "pcm16"),
    ev.BidiImageInputEvent(b"\x89PNG\r\n", "image/png"),
    ev.BidiAudioTruncateEvent("item_1", 1234, "resp_1"),
    ev.BidiResponseCancelEvent("resp_1", "user_speech"),
    ev.ToolResultEvent("call_1", "calculator", '{"result": 4}', "error", "resp_1"),
    ev.BidiConnectionStartEvent("conn_1", "gpt-realtime"),
    ev.BidiConnectionRestartEvent("timeout", 2, "conn_2", "timeout_s reached"),
    ev.BidiConnectionCloseEvent("user_stop", "conn_1"),
    ev.BidiResponseStartEvent("resp_1"),
    ev.BidiAudioStreamEvent(b"\x00\xff" * 3, 24000, 1, "pcm16", "resp_1", "item_1"),
    ev.BidiTranscriptStreamEvent("lo", "assistant", True, "hello", "resp_1", "item_1"),
    ev.BidiInterruptionEvent("user_speech", "resp_1", "item_1", 640),
    ev.BidiSpeechEvent("started", "item_2", 120),
    ev.BidiResponseCompleteEvent("resp_1", "interrupted"),
    ev.BidiUsageEvent(10, 20, 30, "resp_1", {"input_token_details": {"audio_tokens": 5}}),
    ev.BidiLatencyEvent("speech_end_to_first_audio", 321.5, "resp_1"),
    ev.BidiTurnMetricsEvent(3, "resp_1", 310.0, None, 120.5, 40, 12, 1, True, 800),
    ev.BidiErrorEvent("bad thing", "invalid_value", "session.voice", "resp_1"),
    ev.ToolUseStreamEvent("call_1", "calculator", '{"x": 1}', "1}", True, "resp_1", "item_3"),
    ev.BidiToolCancelEvent(("call_1", "call_2"), "resp_1"),
]


def test_every_event_type_has_a_sample() -> None:
    assert {type(e) for e in SAMPLES} == set(ev.EVENT_CLASSES.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_round_trip_through_json(event: Any) -> None:
    data = event.to_dict()
    text = json.dumps(data)  # JSON-safe: bytes became base64
    back = ev.event_from_dict(json.loads(text))
    assert back == event
    assert type(back) is type(event)
    assert data["type"] == event.type


def test_audio_bytes_are_base64_in_dicts_and_bytes_in_process() -> None:
    data = ev.BidiAudioStreamEvent(b"\x00\x01").to_dict()
    assert data["audio"] == "AAE="
    assert ev.BidiAudioInputEvent("AAE=").audio == b"\x00\x01"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "nope"}, "type: unknown event type 'nope'"),
        ({"type": "bidi_text_input", "text": "x", "colour": "red"}, "colour: not a field"),
        ({"type": "bidi_audio_input", "audio": "@@not base64@@"}, "audio: expected bytes"),
        ({"type": "bidi_response_start"}, "bidi_response_start"),
        ("not a dict", "event: expected a dict"),
    ],
)
def test_malformed_dicts_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(EventError, match=message):
        ev.event_from_dict(data)
