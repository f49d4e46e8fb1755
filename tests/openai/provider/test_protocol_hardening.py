"""Issue 10, the sans-I/O side: stalls, queued lines, tool batches, bad frames, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from test_protocol import Clock, args_done, audio, created, done, fn_item, make, sent_types

from fullduplex.errors import ModelAuthenticationError
from fullduplex.events import BidiErrorEvent, BidiResponseCompleteEvent, BidiSpeechEvent
from fullduplex_openai.protocol import RealtimeProtocol


def outbox_texts(proto: RealtimeProtocol) -> list[str]:
    """The outbox as short strings: item texts / call outputs, and 'create'."""
    out = []
    for message in proto.outbox:
        if message["type"] == "response.create":
            out.append("create")
        elif message["type"] == "conversation.item.create":
            item = message["item"]
            if item["type"] == "function_call_output":
                out.append(f"result:{item['call_id']}")
            else:
                out.append(item["content"][0].get("text", "?"))
        else:
            out.append(message["type"])
    proto.outbox = []
    return out


# ------------------------------------------------- 1: an unanswered create


def test_error_without_event_id_while_waiting_is_the_refusal() -> None:
    proto = make()
    proto.text_input("hi")
    assert outbox_texts(proto) == ["hi", "create"]
    error = {
        "type": "error",
        "event_id": "event_9",
        "error": {"type": "invalid_request_error", "code": "bad", "message": "no."},
    }
    events = proto.handle(error)
    assert [type(e).__name__ for e in events] == ["BidiErrorEvent"]
    assert not proto.answer_pending
    proto.text_input("again")
    assert outbox_texts(proto) == ["again", "create"]  # the next turn is not blocked


def test_a_create_with_no_reply_is_forgotten_after_the_deadline() -> None:
    clock = Clock()
    proto = RealtimeProtocol(
        model_id="gpt-realtime", base_session={}, clock=clock, create_timeout_s=5.0
    )
    proto.text_input("hi")
    outbox_texts(proto)
    assert proto.create_deadline == pytest.approx(clock.t + 5.0)
    clock.t += 4.0
    assert proto.expire_create() == []  # not due yet
    assert proto.answer_pending
    clock.t += 1.5
    events = proto.expire_create()
    assert [e.code for e in events if isinstance(e, BidiErrorEvent)] == ["response_timeout"]
    assert not proto.answer_pending
    assert proto.create_deadline is None
    proto.text_input("again")
    assert outbox_texts(proto) == ["again", "create"]


def test_expiry_releases_a_queued_line() -> None:
    clock = Clock()
    proto = RealtimeProtocol(
        model_id="gpt-realtime", base_session={}, clock=clock, create_timeout_s=5.0
    )
    proto.text_input("one")
    proto.text_input("two")
    assert outbox_texts(proto) == ["one", "create"]
    clock.t += 6
    proto.expire_create()
    assert outbox_texts(proto) == ["two", "create"]


def test_a_late_response_created_after_expiry_still_streams() -> None:
    clock = Clock()
    proto = RealtimeProtocol(
        model_id="gpt-realtime", base_session={}, clock=clock, create_timeout_s=1.0
    )
    proto.text_input("hi")
    clock.t += 2
    proto.expire_create()
    proto.handle(created())
    assert proto.response_active
    assert proto.handle(done())[-1] == BidiResponseCompleteEvent("resp_1", "complete")
    assert not proto.response_active
    assert not proto.answer_pending


# ------------------------------------------------- 2: lines during an answer


def test_lines_during_an_answer_each_get_their_own_response_in_order() -> None:
    proto = make()
    proto.text_input("one")
    assert outbox_texts(proto) == ["one", "create"]
    proto.handle(created("r1"))
    proto.handle(audio(rid="r1"))
    proto.text_input("two")
    proto.text_input("three")
    assert outbox_texts(proto) == []  # held: the model does not see them yet
    assert proto.answer_pending
    proto.handle(done("r1"))
    assert outbox_texts(proto) == ["two", "create"]
    proto.handle(created("r2"))
    proto.handle(done("r2"))
    assert outbox_texts(proto) == ["three", "create"]
    proto.handle(created("r3"))
    proto.handle(done("r3"))
    assert outbox_texts(proto) == []
    assert not proto.answer_pending


def test_a_queued_line_waits_for_the_tool_answer_of_the_turn_before() -> None:
    proto = make()
    proto.text_input("compute")
    outbox_texts(proto)
    proto.handle(created("r1"))
    proto.handle(fn_item("c1", "calc", "r1"))
    proto.handle(args_done("c1", "calc", "r1"))
    proto.text_input("and the time?")
    proto.handle(done("r1"))
    assert outbox_texts(proto) == []  # the calculation's answer comes first
    proto.tool_result("c1", "63")
    assert outbox_texts(proto) == ["result:c1", "create"]
    proto.handle(created("r2"))
    proto.handle(done("r2"))
    assert outbox_texts(proto) == ["and the time?", "create"]


def test_assistant_text_behind_a_queued_line_keeps_its_place() -> None:
    proto = make()
    proto.text_input("one")
    proto.handle(created("r1"))
    proto.text_input("two")
    proto.text_input("noted.", role="assistant")
    outbox_texts(proto)
    proto.handle(done("r1"))
    assert outbox_texts(proto) == ["two", "create"]
    proto.handle(created("r2"))
    proto.handle(done("r2"))
    assert outbox_texts(proto) == ["noted."]


def test_reset_drops_held_lines_because_the_history_replays_them() -> None:
    """The agent records a line once the model accepted it, so a new connection
    gets it from the history replay; holding it too would send it twice."""
    proto = make()
    proto.text_input("one")
    proto.handle(created("r1"))
    proto.text_input("two")
    assert proto.answer_pending  # the model reads this as "cut off" when the drop comes
    proto.reset()
    assert outbox_texts(proto) == []
    assert not proto.answer_pending
    proto.request_response()  # the replayed history ends in "two"
    assert outbox_texts(proto) == ["create"]
    proto.handle(created("r2"))
    proto.handle(done("r2"))
    assert outbox_texts(proto) == []


# ------------------------------------------------- 5: tool batch across reconnects


def test_a_replayed_partial_batch_waits_for_its_last_result() -> None:
    proto = make()
    proto.expect_results(["c2"])  # c1 answered before the drop, c2 still running
    proto.request_response()  # history ends in c1's result: an answer is owed
    assert sent_types(proto) == []
    assert proto.answer_pending
    proto.tool_result("c2", "2")
    assert sent_types(proto) == ["conversation.item.create", "response.create"]
    proto.handle(created())
    proto.handle(done())
    assert sent_types(proto) == []
    assert not proto.answer_pending


# ------------------------------------------------- 15: wrongly shaped frames


@pytest.mark.parametrize(
    ("frame", "names"),
    [
        ([1, 2], ["not an object"]),
        ({"type": "response.output_audio.delta", "delta": "AAA"}, ["output_audio.delta", "delta"]),
        (
            {"type": "response.output_audio.delta", "delta": "AAAA", "item_id": [1]},
            ["output_audio.delta", "item_id"],
        ),
        ("str", ["not an object"]),
        (None, ["not an object"]),
        ({"type": ["x"]}, ["type"]),
        ({"type": "response.output_audio.delta", "item_id": "i"}, ["output_audio.delta", "delta"]),
        ({"type": "response.output_audio.delta", "delta": 5}, ["output_audio.delta", "delta"]),
        ({"type": "response.output_audio.delta", "delta": "@@@"}, ["output_audio.delta", "delta"]),
        ({"type": "response.created", "response": "r"}, ["response.created", "response"]),
        ({"type": "response.done", "response": "r"}, ["response.done", "response"]),
        (
            {"type": "response.done", "response": {"id": "r", "usage": {"input_tokens": "x"}}},
            ["response.done", "usage"],
        ),
        ({"type": "error", "error": 7}, ["error", "error"]),
        (
            {"type": "input_audio_buffer.speech_started", "audio_start_ms": "soon"},
            ["speech_started", "audio_start_ms"],
        ),
        (
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": [1]},
            ["speech_stopped", "audio_end_ms"],
        ),
        (
            {"type": "response.output_audio_transcript.delta", "delta": 3},
            ["transcript.delta", "delta"],
        ),
        ({"type": "response.output_item.added", "item": "x"}, ["output_item.added", "item"]),
        (
            {"type": "response.function_call_arguments.done", "arguments": "{}"},
            ["function_call_arguments.done", "call_id"],
        ),
        ({"type": "session.created", "session": 3}, ["session.created", "session"]),
        (
            {"type": "conversation.item.input_audio_transcription.failed", "error": "x"},
            ["transcription.failed", "error"],
        ),
    ],
)
def test_a_wrongly_shaped_frame_is_an_error_event_naming_type_and_field(
    frame: Any, names: list[str]
) -> None:
    proto = make()
    events = proto.handle(frame)
    errors = [e for e in events if isinstance(e, BidiErrorEvent)]
    assert len(errors) == 1, events
    assert errors[0].code == "malformed_event"
    for name in names:
        assert name in errors[0].message
    # only a response.done still ends the response it names, besides the error
    is_done = isinstance(frame, dict) and frame.get("type") == "response.done"
    assert len(events) == (2 if is_done else 1)


def test_the_conversation_goes_on_after_a_bad_frame() -> None:
    proto = make()
    proto.text_input("hi")
    outbox_texts(proto)
    proto.handle(created("r1"))
    proto.handle({"type": "response.done", "response": {"id": "r1", "usage": "lots"}})
    # the malformed done still ended the response: the next line is not stuck
    proto.text_input("next")
    assert outbox_texts(proto) == ["next", "create"]


def test_an_error_string_is_still_an_error() -> None:
    proto = make()
    events = proto.handle({"type": "error", "error": "the server is sad"})
    assert isinstance(events[0], BidiErrorEvent)
    assert "the server is sad" in events[0].message


def test_numeric_strings_in_speech_events_are_read_when_possible() -> None:
    proto = make()
    events = proto.handle({"type": "input_audio_buffer.speech_started", "audio_start_ms": 120.0})
    assert events == [BidiSpeechEvent("started", None, 120)]


# ------------------------------------------------- 21: secrets in server text


def test_server_text_is_redacted() -> None:
    proto = make()
    proto.secrets = ("my-custom-key-1234",)
    events = proto.handle(
        {
            "type": "error",
            "error": {"code": "x", "message": "bad header Bearer my-custom-key-1234 sk-abcdef12"},
        }
    )
    assert isinstance(events[0], BidiErrorEvent)
    assert "my-custom-key-1234" not in events[0].message
    assert "sk-abcdef12" not in events[0].message
    with pytest.raises(ModelAuthenticationError) as info:
        proto.handle(
            {
                "type": "error",
                "error": {"code": "invalid_api_key", "message": "key my-custom-key-1234 is bad"},
            }
        )
    assert "my-custom-key-1234" not in str(info.value)
    failed = proto.handle(
        done(
            "r9",
            status="failed",
            status_details={"error": {"message": "ek_1234567890 refused", "code": "e"}},
        )
    )
    assert all("ek_1234567890" not in getattr(e, "message", "") for e in failed)
