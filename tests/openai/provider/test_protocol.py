"""Table-driven tests of the sans-I/O layer with real-shaped GA server events."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fullduplex.errors import (
    ConfigurationError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelProtocolError,
)
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiLatencyEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    ToolUseStreamEvent,
)
from fullduplex.tools import ToolSpec
from fullduplex_openai.protocol import IGNORED_EVENTS, RealtimeProtocol

SESSION: dict[str, Any] = {
    "type": "realtime",
    "output_modalities": ["audio"],
    "audio": {
        "input": {"format": {"type": "audio/pcm", "rate": 24000}},
        "output": {"format": {"type": "audio/pcm", "rate": 24000}},
    },
}


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(clock: Clock | None = None, session: dict[str, Any] | None = None) -> RealtimeProtocol:
    return RealtimeProtocol(
        model_id="gpt-realtime", base_session=session or SESSION, clock=clock or Clock()
    )


def b64(n: int) -> str:
    return base64.b64encode(b"\x01\x00" * (n // 2)).decode()


def created(rid: str = "resp_1") -> dict[str, Any]:
    return {
        "type": "response.created",
        "event_id": "event_1",
        "response": {
            "object": "realtime.response",
            "id": rid,
            "status": "in_progress",
            "output": [],
        },
    }


def done(rid: str = "resp_1", status: str = "completed", **extra: Any) -> dict[str, Any]:
    response = {"id": rid, "status": status, "status_details": None, "output": [], **extra}
    return {"type": "response.done", "event_id": "event_2", "response": response}


def audio(item: str = "item_A", rid: str = "resp_1", nbytes: int = 4800) -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta",
        "event_id": "event_3",
        "response_id": rid,
        "item_id": item,
        "output_index": 0,
        "content_index": 0,
        "delta": b64(nbytes),
    }


def fn_item(call_id: str, name: str, rid: str = "resp_1") -> dict[str, Any]:
    return {
        "type": "response.output_item.added",
        "response_id": rid,
        "output_index": 0,
        "item": {
            "id": f"item_{call_id}",
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        },
    }


def args_done(call_id: str, name: str, rid: str = "resp_1") -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.done",
        "response_id": rid,
        "item_id": f"item_{call_id}",
        "output_index": 0,
        "call_id": call_id,
        "name": name,
        "arguments": '{"x": 1}',
    }


def sent_types(proto: RealtimeProtocol) -> list[str]:
    out = [m["type"] for m in proto.outbox]
    proto.outbox = []
    return out


# ---------------------------------------------------------------- single events

USAGE = {
    "total_tokens": 320,
    "input_tokens": 132,
    "output_tokens": 188,
    "input_token_details": {"text_tokens": 59, "audio_tokens": 73},
}

CASES: list[tuple[str, list[dict[str, Any]], list[Any]]] = [
    ("response start", [created()], [BidiResponseStartEvent("resp_1")]),
    (
        "response done completed with usage",
        [created(), done(usage=USAGE)],
        [
            BidiResponseStartEvent("resp_1"),
            BidiUsageEvent(
                132, 188, 320, "resp_1", {"input_token_details": USAGE["input_token_details"]}
            ),
            BidiResponseCompleteEvent("resp_1", "complete"),
        ],
    ),
    (
        "cancelled by turn detection -> interrupted",
        [done(status="cancelled", status_details={"type": "cancelled", "reason": "turn_detected"})],
        [BidiResponseCompleteEvent("resp_1", "interrupted")],
    ),
    (
        "client cancelled",
        [
            done(
                status="cancelled",
                status_details={"type": "cancelled", "reason": "client_cancelled"},
            )
        ],
        [BidiResponseCompleteEvent("resp_1", "cancelled")],
    ),
    (
        "incomplete max tokens",
        [
            done(
                status="incomplete",
                status_details={"type": "incomplete", "reason": "max_output_tokens"},
            )
        ],
        [BidiResponseCompleteEvent("resp_1", "max_tokens")],
    ),
    (
        "incomplete content filter",
        [
            done(
                status="incomplete",
                status_details={"type": "incomplete", "reason": "content_filter"},
            )
        ],
        [BidiResponseCompleteEvent("resp_1", "content_filter")],
    ),
    (
        "failed response -> error event and error stop",
        [
            done(
                status="failed",
                status_details={
                    "type": "failed",
                    "error": {"type": "server_error", "code": "server_error", "message": "boom"},
                },
            )
        ],
        [
            BidiErrorEvent("boom", "server_error", None, "resp_1"),
            BidiResponseCompleteEvent("resp_1", "error"),
        ],
    ),
    (
        "assistant transcript deltas and final",
        [
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": "resp_1",
                "item_id": "item_A",
                "delta": "Hel",
                "obfuscation": "xyz",
            },
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": "resp_1",
                "item_id": "item_A",
                "delta": "lo",
            },
            {
                "type": "response.output_audio_transcript.done",
                "response_id": "resp_1",
                "item_id": "item_A",
                "transcript": "Hello",
            },
        ],
        [
            BidiTranscriptStreamEvent("Hel", "assistant", False, "Hel", "resp_1", "item_A"),
            BidiTranscriptStreamEvent("lo", "assistant", False, "Hello", "resp_1", "item_A"),
            BidiTranscriptStreamEvent("Hello", "assistant", True, "Hello", "resp_1", "item_A"),
        ],
    ),
    (
        "text-mode output",
        [
            {
                "type": "response.output_text.delta",
                "response_id": "r",
                "item_id": "i",
                "delta": "Hi",
            },
            {
                "type": "response.output_text.done",
                "response_id": "r",
                "item_id": "i",
                "text": "Hi!",
            },
        ],
        [
            BidiTranscriptStreamEvent("Hi", "assistant", False, "Hi", "r", "i"),
            BidiTranscriptStreamEvent("Hi!", "assistant", True, "Hi!", "r", "i"),
        ],
    ),
    (
        "user transcript arrives after the answer, matched by item id",
        [
            created(),
            done(),
            {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": "item_U",
                "content_index": 0,
                "delta": "what time",
                "obfuscation": "ab",
            },
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": "item_U",
                "content_index": 0,
                "transcript": "what time is it",
                "usage": {"type": "duration", "seconds": 2},
            },
        ],
        [
            BidiResponseStartEvent("resp_1"),
            BidiResponseCompleteEvent("resp_1", "complete"),
            BidiTranscriptStreamEvent("what time", "user", False, "what time", None, "item_U"),
            BidiTranscriptStreamEvent(
                "what time is it", "user", True, "what time is it", None, "item_U"
            ),
        ],
    ),
    (
        "server error the conversation survives",
        [
            {
                "type": "error",
                "event_id": "event_9",
                "error": {
                    "type": "invalid_request_error",
                    "code": "invalid_value",
                    "message": "Invalid value: 'x'.",
                    "param": "type",
                    "event_id": None,
                },
            }
        ],
        [BidiErrorEvent("Invalid value: 'x'.", "invalid_value", "type", None)],
    ),
    (
        "server_error type is transient",
        [{"type": "error", "error": {"type": "server_error", "code": None, "message": "oops"}}],
        [BidiErrorEvent("oops", None, None, None)],
    ),
    (
        "cancel race is quiet",
        [{"type": "error", "error": {"code": "response_cancel_not_active", "message": "no"}}],
        [],
    ),
    (
        "speech stopped",
        [{"type": "input_audio_buffer.speech_stopped", "item_id": "item_U", "audio_end_ms": 1200}],
        [BidiSpeechEvent("stopped", "item_U", 1200)],
    ),
    (
        "unknown event type and unknown fields are ignored",
        [{"type": "response.brand_new_thing", "event_id": "e", "surprise": 1}],
        [],
    ),
]


@pytest.mark.parametrize(("name", "server", "expected"), CASES, ids=[c[0] for c in CASES])
def test_server_events_map_to_output_events(
    name: str, server: list[dict[str, Any]], expected: list[Any]
) -> None:
    proto = make()
    got = [ev for event in server for ev in proto.handle(event)]
    assert got == expected


def test_every_ignored_event_is_accepted_without_output() -> None:
    proto = make()
    for name in sorted(IGNORED_EVENTS):
        assert proto.handle({"type": name, "event_id": "e", "item": {"type": "message"}}) == []


def test_items_without_status_and_beta_content_names_parse() -> None:
    proto = make()
    events = [
        {
            "type": "conversation.item.added",
            "item": {"id": "i", "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": "i",
            "part": {"type": "audio", "transcript": ""},
        },
        {
            "type": "conversation.item.done",
            "item": {
                "id": "i",
                "type": "message",
                "content": [{"type": "output_audio", "transcript": "x"}],
            },
        },
        fn_item("call_1", "f")
        | {"item": {"type": "function_call", "call_id": "call_1", "name": "f"}},
    ]
    for event in events:
        assert proto.handle(event) == []


# ----------------------------------------------------------------------- audio


def test_audio_delta_is_decoded_bytes_with_ids() -> None:
    proto = make()
    (event,) = proto.handle(audio(nbytes=480))
    assert isinstance(event, BidiAudioStreamEvent)
    assert event.audio == b"\x01\x00" * 240
    assert (event.response_id, event.item_id, event.sample_rate) == ("resp_1", "item_A", 24000)


def test_latency_from_speech_end_to_first_audio() -> None:
    clock = Clock()
    proto = make(clock)
    proto.handle({"type": "input_audio_buffer.speech_stopped", "item_id": "u", "audio_end_ms": 5})
    clock.t += 0.35
    proto.handle(created())
    first = proto.handle(audio())
    assert isinstance(first[0], BidiLatencyEvent)
    assert first[0].metric == "speech_end_to_first_audio"
    assert first[0].value_ms == pytest.approx(350.0)
    assert not any(isinstance(e, BidiLatencyEvent) for e in proto.handle(audio()))


def test_output_converter_applies_per_item() -> None:
    seen: list[int] = []

    class Halver:
        """Keeps half of each chunk and gives the rest back on flush."""

        def __init__(self) -> None:
            self.held = b""

        def __call__(self, data: bytes) -> bytes:
            self.held += data[len(data) // 2 :]
            return data[: len(data) // 2]

        def flush(self) -> bytes:
            return self.held

    def factory() -> Any:
        seen.append(1)
        return Halver()

    proto = RealtimeProtocol(
        model_id="m", base_session=SESSION, output_rate=12000, output_converter=factory
    )
    (event,) = proto.handle(audio(nbytes=480))
    assert len(event.audio) == 240
    assert event.sample_rate == 12000
    proto.handle(audio(nbytes=480))
    proto.handle(audio(item="item_B", nbytes=480))
    assert len(seen) == 2
    (tail,) = proto.handle(
        {"type": "response.output_audio.done", "response_id": "resp_1", "item_id": "item_B"}
    )
    assert isinstance(tail, BidiAudioStreamEvent)
    assert (tail.item_id, len(tail.audio)) == ("item_B", 240)


# ------------------------------------------- user speech: facts, not decisions


def test_speech_during_a_response_is_reported_as_a_fact_only() -> None:
    # Whether it interrupts is the agent's decision (its playback ledger): the
    # protocol neither emits an interruption nor drops the audio that follows.
    proto = make()
    proto.handle(created())
    proto.handle(audio(nbytes=48 * 700))
    out = proto.handle(
        {"type": "input_audio_buffer.speech_started", "item_id": "item_U2", "audio_start_ms": 3000}
    )
    assert out == [BidiSpeechEvent("started", "item_U2", 3000)]
    assert proto.outbox == []
    (late,) = proto.handle(audio(nbytes=480))
    assert isinstance(late, BidiAudioStreamEvent)
    assert late.item_id == "item_A"


def test_server_interrupts_follows_the_turn_detection_setting() -> None:
    assert make().server_interrupts  # the server's default VAD cuts the response itself
    off = {
        **SESSION,
        "audio": {
            "input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}},
            "output": {},
        },
    }
    assert not make(session=off).server_interrupts
    assert make(session=off).server_turn_detection
    none = {**SESSION, "audio": {"input": {"turn_detection": None}, "output": {}}}
    assert not make(session=none).server_turn_detection


def test_a_cancel_asked_for_the_users_speech_ends_as_interrupted() -> None:
    proto = make()
    proto.handle(created())
    proto.handle(audio())
    assert proto.cancel("resp_1", "user_speech")
    assert proto.outbox == [
        {"type": "response.cancel", "event_id": "fd_response_cancel", "response_id": "resp_1"}
    ]
    cancelled = done(
        status="cancelled", status_details={"type": "cancelled", "reason": "client_cancelled"}
    )
    completes = [e for e in proto.handle(cancelled) if isinstance(e, BidiResponseCompleteEvent)]
    assert [e.stop_reason for e in completes] == ["interrupted"]


def test_a_cancel_for_another_reason_ends_as_cancelled() -> None:
    proto = make()
    proto.handle(created())
    assert proto.cancel(None, "client")
    assert proto.outbox == [{"type": "response.cancel", "event_id": "fd_response_cancel"}]
    cancelled = done(status="cancelled", status_details={"reason": "client_cancelled"})
    completes = [e for e in proto.handle(cancelled) if isinstance(e, BidiResponseCompleteEvent)]
    assert [e.stop_reason for e in completes] == ["cancelled"]


def test_nothing_to_cancel_sends_nothing() -> None:
    proto = make()
    assert not proto.cancel("resp_1", "user_speech")
    assert proto.outbox == []


def test_truncate_is_sent_as_asked_and_tagged() -> None:
    # the agent's ledger clamped the figure once; the protocol does not again
    proto = make()
    proto.truncate("item_A", 400)
    assert proto.outbox == [
        {
            "type": "conversation.item.truncate",
            "event_id": "fd_item_truncate",
            "item_id": "item_A",
            "content_index": 0,
            "audio_end_ms": 400,
        }
    ]


def test_the_refusal_of_our_truncate_is_recognised_by_its_event_id() -> None:
    proto = make()
    proto.truncate("item_A", 5000)
    refusal = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Audio content of 1000ms is already shorter than 5000ms",
            "param": "audio_end_ms",
            "event_id": "fd_item_truncate",
        },
    }
    assert proto.handle(refusal) == []
    # the same words from another request are an error like any other
    other = {"type": "error", "error": {**refusal["error"], "event_id": "evt_9"}}
    (error,) = proto.handle(other)
    assert isinstance(error, BidiErrorEvent)


def test_the_refusal_of_our_truncate_does_not_cancel_an_awaited_answer() -> None:
    proto = make()
    proto.text_input("hi")
    proto.truncate("item_A", 10)
    refusal = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "no", "event_id": "fd_item_truncate"},
    }
    proto.handle(refusal)
    assert proto.answer_pending  # still waiting for response.created


# ------------------------------------------------------------- response lifecycle


def test_text_input_sends_item_then_response() -> None:
    proto = make()
    proto.text_input("hi")
    assert proto.outbox == [
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            },
        },
        {"type": "response.create", "event_id": "fd_response_create"},
    ]


def test_a_refused_response_create_is_no_longer_awaited() -> None:
    """An error naming our response.create (not the race) ends the wait for that answer."""
    proto = make()
    proto.text_input("hi")
    assert proto.answer_pending
    refusal = {
        "type": "error",
        "event_id": "event_1",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Invalid value: 'x'.",
            "param": "response.tools",
            "event_id": "fd_response_create",
        },
    }
    events = proto.handle(refusal)
    assert not proto.answer_pending
    assert [type(e).__name__ for e in events] == ["BidiErrorEvent"]
    assert events[0].param == "response.tools"  # type: ignore[union-attr]


def test_text_during_a_response_waits_for_response_done() -> None:
    """The line is held (one turn per line) and goes out with its own create."""
    proto = make()
    proto.handle(created())
    proto.text_input("hi")
    assert sent_types(proto) == []
    proto.handle(done())
    assert sent_types(proto) == ["conversation.item.create", "response.create"]


def test_two_parallel_tool_calls_get_one_response_create() -> None:
    proto = make()
    proto.handle(created())
    for call in ("call_a", "call_b"):
        proto.handle(fn_item(call, "calc"))
    finals = [e for c in ("call_a", "call_b") for e in proto.handle(args_done(c, "calc"))]
    assert [
        (e.call_id, e.is_final, e.arguments) for e in finals if isinstance(e, ToolUseStreamEvent)
    ] == [
        ("call_a", True, '{"x": 1}'),
        ("call_b", True, '{"x": 1}'),
    ]
    proto.tool_result("call_a", "1")
    assert sent_types(proto) == ["conversation.item.create"]
    assert proto.handle(done())[-1] == BidiResponseCompleteEvent("resp_1", "tool_use")
    assert sent_types(proto) == []  # call_b still running
    proto.tool_result("call_b", "2")
    assert sent_types(proto) == ["conversation.item.create", "response.create"]
    assert proto.outbox == []


def test_results_before_response_done_wait_for_it() -> None:
    proto = make()
    proto.handle(created())
    proto.handle(fn_item("c1", "f"))
    proto.handle(args_done("c1", "f"))
    proto.tool_result("c1", "ok")
    assert sent_types(proto) == ["conversation.item.create"]
    proto.handle(done())
    assert sent_types(proto) == ["response.create"]


def test_tool_argument_deltas_stream() -> None:
    proto = make()
    proto.handle(fn_item("c1", "calc"))
    first = proto.handle(
        {
            "type": "response.function_call_arguments.delta",
            "response_id": "resp_1",
            "item_id": "item_c1",
            "call_id": "c1",
            "delta": '{"x"',
        }
    )
    second = proto.handle(
        {
            "type": "response.function_call_arguments.delta",
            "response_id": "resp_1",
            "item_id": "item_c1",
            "call_id": "c1",
            "delta": ": 1}",
        }
    )
    assert first == [ToolUseStreamEvent("c1", "calc", '{"x"', '{"x"', False, "resp_1", "item_c1")]
    assert second == [
        ToolUseStreamEvent("c1", "calc", '{"x": 1}', ": 1}", False, "resp_1", "item_c1")
    ]


def test_active_response_race_is_retried_after_done_and_not_shown() -> None:
    proto = make()
    proto.text_input("hi")
    assert sent_types(proto) == ["conversation.item.create", "response.create"]
    # VAD started a response first; ours is refused
    proto.handle(created("resp_vad"))
    out = proto.handle(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "Conversation already has an active response in progress: resp_vad.",
            },
        }
    )
    assert out == []
    assert sent_types(proto) == []
    proto.handle(done("resp_vad"))
    assert sent_types(proto) == ["response.create"]


def test_at_pause_tracks_turns_responses_and_tools() -> None:
    proto = make()
    assert proto.at_pause()
    proto.handle({"type": "input_audio_buffer.speech_started", "item_id": "u"})
    assert not proto.at_pause()
    proto.handle({"type": "input_audio_buffer.speech_stopped", "item_id": "u"})
    assert not proto.at_pause()  # the answer has not started yet
    proto.handle(created())
    assert not proto.at_pause()
    proto.handle(fn_item("c", "f"))
    proto.handle(args_done("c", "f"))
    proto.handle(done())
    assert not proto.at_pause()  # a tool is running
    proto.tool_result("c", "x")
    assert not proto.at_pause()  # response.create in flight
    proto.handle(created("resp_2"))
    proto.handle(done("resp_2"))
    assert proto.at_pause()


# --------------------------------------------------------------------- fatal


@pytest.mark.parametrize(
    ("error", "exc", "words"),
    [
        (
            {
                "code": "beta_api_shape_disabled",
                "message": "The Realtime Beta API is no longer supported.",
            },
            ModelAuthenticationError,
            "beta",
        ),
        (
            {
                "type": "invalid_request_error",
                "code": "invalid_api_key",
                "message": "Incorrect API key provided",
            },
            ModelAuthenticationError,
            "OPENAI_API_KEY",
        ),
        (
            {"code": "model_not_found", "message": "The model does not exist"},
            ModelProtocolError,
            "model_id",
        ),
        (
            {
                "code": "session_expired",
                "message": "Your session hit the maximum duration of 60 minutes.",
            },
            ModelConnectionError,
            "maximum duration",
        ),
    ],
)
def test_fatal_errors_raise_actionable_exceptions(
    error: dict[str, Any], exc: type[Exception], words: str
) -> None:
    proto = make()
    with pytest.raises(exc, match=words):
        proto.handle({"type": "error", "error": error})


def test_session_expired_is_restartable_with_reason() -> None:
    with pytest.raises(ModelConnectionError) as info:
        make().handle({"type": "error", "error": {"code": "session_expired", "message": "m"}})
    assert info.value.restartable
    assert info.value.reason == "session_expired"


def test_refused_session_update_is_a_configuration_error() -> None:
    proto = make()
    update = proto.session_update("be nice", None)
    with pytest.raises(ConfigurationError, match=r"session\.foo"):
        proto.handle(
            {
                "type": "error",
                "error": {
                    "code": "unknown_parameter",
                    "message": "Unknown parameter: 'session.foo'.",
                    "param": "session.foo",
                    "event_id": update["event_id"],
                },
            }
        )


# ------------------------------------------------------------------ client side


def test_session_update_has_type_tools_and_instructions() -> None:
    proto = make()
    spec = ToolSpec("calc", "Do sums", {"type": "object", "properties": {}})
    update = proto.session_update("Be brief.", [spec])
    session = update["session"]
    assert session["type"] == "realtime"
    assert session["instructions"] == "Be brief."
    assert session["tools"] == [
        {
            "type": "function",
            "name": "calc",
            "description": "Do sums",
            "parameters": spec.parameters,
        }
    ]
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_image_input_is_a_data_uri() -> None:
    proto = make()
    proto.image_input("AAAA", "image/jpeg")
    content = proto.outbox[0]["item"]["content"][0]
    assert content == {"type": "input_image", "image_url": "data:image/jpeg;base64,AAAA"}
    assert len(proto.outbox) == 1


def test_reset_forgets_the_connection_state() -> None:
    proto = make()
    proto.handle(created())
    proto.handle(audio())
    proto.reset()
    assert proto.at_pause()


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type": "response.output_audio.delta", "delta": "AQA=", "item_id": "i", '
        b'"response_id": "r"}',
        b'{"type": "response.output_audio.delta", "delta": "not base64!", "item_id": "i"}',
        b'{"type": "response.output_audio.delta"}',
        b'{"type": "no.such.event"}',
        b'{"type": ["not", "a", "string"]}',
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"type": "error", "error": {"message": "boom", "code": "x"}}',
        b'{"type": "input_audio_buffer.speech_started", "item_id": 5}',
    ],
)
def test_a_raw_frame_gives_what_its_parsed_event_gives(frame: bytes) -> None:
    # start() and receive() both use handle_frame: it must agree with handle()
    import json

    assert make().handle_frame(frame) == make().handle(json.loads(frame))


def test_a_frame_that_is_not_json_is_reported() -> None:
    (error,) = make().handle_frame(b"{nope")
    assert isinstance(error, BidiErrorEvent)
    assert error.code == "malformed_event"
