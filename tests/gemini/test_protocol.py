"""The Gemini Live sans-I/O layer, table-driven: server frames in, events out; client frames out.

No socket: each row feeds :class:`LiveProtocol` dicts and compares the events
(or the queued client frames) with what the protocol must produce.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiToolCancelEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    ToolUseStreamEvent,
)
from fullduplex_gemini.config import ToolOptions
from fullduplex_gemini.protocol import LiveProtocol

PCM = b"\x01\x00" * 480  # 20 ms of 24 kHz mono PCM16
AUDIO_PART = {
    "inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(PCM).decode()}
}


def proto(**kwargs: Any) -> LiveProtocol:
    p = LiveProtocol(base_setup={"model": "models/m"}, **kwargs)
    p.reset()  # connection c2, as after start()
    return p


def feed(p: LiveProtocol, *frames: Any) -> list[BidiOutputEvent]:
    events: list[BidiOutputEvent] = []
    for frame in frames:
        events += p.handle(frame)
    return events


def content(**fields: Any) -> dict[str, Any]:
    return {"serverContent": fields}


R = "c2-r1"
ROWS: list[tuple[str, list[Any], list[BidiOutputEvent]]] = [
    (
        "audio part starts a response",
        [content(modelTurn={"parts": [AUDIO_PART]})],
        [BidiResponseStartEvent(R), BidiAudioStreamEvent(PCM, 24000, 1, "pcm16", R, R)],
    ),
    (
        "output transcription, then turnComplete closes it",
        [
            content(outputTranscription={"text": "Hi "}),
            content(outputTranscription={"text": "there"}),
            content(turnComplete=True),
        ],
        [
            BidiResponseStartEvent(R),
            BidiTranscriptStreamEvent("Hi ", "assistant", False, "Hi ", R, R),
            BidiTranscriptStreamEvent("there", "assistant", False, "Hi there", R, R),
            BidiTranscriptStreamEvent("", "assistant", True, "Hi there", R, R),
            BidiResponseCompleteEvent(R, "complete"),
        ],
    ),
    (
        "interrupted: a fact for the agent, the heard transcript final, the response ended",
        [
            content(modelTurn={"parts": [AUDIO_PART]}, outputTranscription={"text": "Hello"}),
            content(interrupted=True),
        ],
        [
            BidiResponseStartEvent(R),
            BidiAudioStreamEvent(PCM, 24000, 1, "pcm16", R, R),
            BidiTranscriptStreamEvent("Hello", "assistant", False, "Hello", R, R),
            BidiInterruptionEvent("user_speech", R, R, 20),
            BidiTranscriptStreamEvent("", "assistant", True, "Hello", R, R),
            BidiResponseCompleteEvent(R, "interrupted"),
        ],
    ),
    (
        "input transcription becomes the user's final at the model's first part",
        [
            content(inputTranscription={"text": "what "}),
            content(inputTranscription={"text": "time"}),
            content(outputTranscription={"text": "Noon"}),
        ],
        [
            BidiTranscriptStreamEvent("what ", "user", False, "what ", item_id="c2-u1"),
            BidiTranscriptStreamEvent("time", "user", False, "what time", item_id="c2-u1"),
            BidiTranscriptStreamEvent("", "user", True, "what time", item_id="c2-u1"),
            BidiResponseStartEvent(R),
            BidiTranscriptStreamEvent("Noon", "assistant", False, "Noon", R, R),
        ],
    ),
    (
        "a toolCall: one final ToolUseStreamEvent per call, the response ends at tool_use",
        [
            {
                "toolCall": {
                    "functionCalls": [
                        {"id": "f1", "name": "lookup", "args": {"city": "Oslo"}},
                        {"id": "f2", "name": "weather"},
                    ]
                }
            }
        ],
        [
            BidiResponseStartEvent(R),
            ToolUseStreamEvent("f1", "lookup", '{"city":"Oslo"}', '{"city":"Oslo"}', True, R, R),
            ToolUseStreamEvent("f2", "weather", "{}", "{}", True, R, R),
            BidiResponseCompleteEvent(R, "tool_use"),
        ],
    ),
    (
        "toolCallCancellation: one fact naming the withdrawn calls, unknown types ignored",
        [
            {"toolCall": {"functionCalls": [{"id": "f1", "name": "lookup"}]}},
            {"toolCallCancellation": {"ids": ["f1", 7]}},
            {"toolCallCancellation": {"ids": ["f1"]}},
        ],
        [
            BidiResponseStartEvent(R),
            ToolUseStreamEvent("f1", "lookup", "{}", "{}", True, R, R),
            BidiResponseCompleteEvent(R, "tool_use"),
            BidiToolCancelEvent(("f1",), R),
        ],
    ),
    (
        "usage from usageMetadata",
        [{"usageMetadata": {"promptTokenCount": 3, "responseTokenCount": 4, "totalTokenCount": 7}}],
        [
            BidiUsageEvent(
                3,
                4,
                7,
                None,
                {"promptTokenCount": 3, "responseTokenCount": 4, "totalTokenCount": 7},
            )
        ],
    ),
    (
        "voice activity becomes speech facts",
        [
            {"voiceActivity": {"voiceActivityType": "ACTIVITY_START"}},
            {"voiceActivity": {"voiceActivityType": "ACTIVITY_END"}},
        ],
        [BidiSpeechEvent("started", "c2-u1"), BidiSpeechEvent("stopped", "c2-u1")],
    ),
    (
        "setupComplete, resumption and goAway are state, not events",
        [
            {"setupComplete": {}},
            {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}},
            {"goAway": {"timeLeft": "12s"}},
        ],
        [],
    ),
    (
        "a non-object frame is a malformed error",
        [[1, 2]],
        [BidiErrorEvent("the server sent list, not a JSON object", "malformed")],
    ),
]


@pytest.mark.parametrize(("frames", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_server_frames_to_events(frames: list[Any], expected: list[BidiOutputEvent]) -> None:
    assert feed(proto(), *frames) == expected


def test_state_from_setup_resumption_and_go_away() -> None:
    p = proto()
    feed(
        p,
        {"setupComplete": {"sessionId": "s1"}},
        {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}},
        {"sessionResumptionUpdate": {"newHandle": "h2", "resumable": False}},
        {"goAway": {"timeLeft": "12.5s"}},
    )
    assert (p.setup_complete, p.session_id, p.resumption_handle, p.go_away_s) == (
        True,
        "s1",
        "h1",
        12.5,
    )


CLIENT_ROWS: list[tuple[str, Any, list[dict[str, Any]]]] = [
    (
        "typed user text asks for an answer",
        lambda p: p.text_input("hi", "user"),
        [
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                    "turnComplete": True,
                }
            }
        ],
    ),
    (
        "assistant text is context only",
        lambda p: p.text_input("ok", "assistant"),
        [
            {
                "clientContent": {
                    "turns": [{"role": "model", "parts": [{"text": "ok"}]}],
                    "turnComplete": False,
                }
            }
        ],
    ),
    (
        "an image is realtime video input",
        lambda p: p.image_input("AAAA", "image/png"),
        [{"realtimeInput": {"video": {"data": "AAAA", "mimeType": "image/png"}}}],
    ),
]


@pytest.mark.parametrize(
    ("action", "frames"), [r[1:] for r in CLIENT_ROWS], ids=[r[0] for r in CLIENT_ROWS]
)
def test_client_frames(action: Any, frames: list[dict[str, Any]]) -> None:
    p = proto()
    action(p)
    assert p.outbox == frames


def test_one_tool_response_per_tool_call_with_the_real_names() -> None:
    p = proto()
    feed(p, {"toolCall": {"functionCalls": [{"id": "f1", "name": "a"}, {"id": "f2", "name": "b"}]}})
    assert p.tool_result("f2", "ignored", '"two"', "success")
    assert p.outbox == []  # held until the batch is complete
    assert p.tool_result("f1", "a", '{"x": 1}', "error")
    assert p.outbox == [
        {
            "toolResponse": {
                "functionResponses": [
                    {"id": "f1", "name": "a", "response": {"error": {"x": 1}}},
                    {"id": "f2", "name": "b", "response": {"output": "two"}},
                ]
            }
        }
    ]


def test_a_withdrawn_call_is_never_answered_and_completes_its_batch() -> None:
    p = proto()
    feed(p, {"toolCall": {"functionCalls": [{"id": "f1", "name": "a"}, {"id": "f2", "name": "b"}]}})
    assert p.tool_result("f1", "a", '"one"', "success")
    feed(p, {"toolCallCancellation": {"ids": ["f2"]}})
    assert p.outbox == [
        {
            "toolResponse": {
                "functionResponses": [{"id": "f1", "name": "a", "response": {"output": "one"}}]
            }
        }
    ]
    assert not p.tool_result("f2", "b", '"late"', "success")
    assert not p.tools_pending


def test_non_blocking_results_go_alone_with_their_scheduling() -> None:
    p = proto(tool_options={"a": ToolOptions(behavior="NON_BLOCKING", scheduling="WHEN_IDLE")})
    events = feed(p, {"toolCall": {"functionCalls": [{"id": "f1", "name": "a"}]}})
    assert not any(isinstance(e, BidiResponseCompleteEvent) for e in events)  # it talks on
    assert p.tool_result("f1", "a", '"ok"', "success")
    assert p.outbox == [
        {
            "toolResponse": {
                "functionResponses": [
                    {
                        "id": "f1",
                        "name": "a",
                        "response": {"output": "ok"},
                        "scheduling": "WHEN_IDLE",
                    }
                ]
            }
        }
    ]


def test_setup_frame_carries_prompt_tools_and_handle() -> None:
    from fullduplex.tools import ToolSpec

    p = proto()
    spec = ToolSpec("a", "does a", {"type": "object", "properties": {}})
    frame = p.setup_message("be brief", [spec], handle="h9")
    setup = frame["setup"]
    assert setup["model"] == "models/m"
    assert setup["systemInstruction"] == {"parts": [{"text": "be brief"}], "role": "user"}
    assert setup["tools"][0]["functionDeclarations"][0]["name"] == "a"
    assert setup["sessionResumption"] == {"handle": "h9"}
