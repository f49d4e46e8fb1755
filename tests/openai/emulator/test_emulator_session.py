"""The sans-I/O session, driven without sockets: JSON in, frames out."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from conftest import assert_valid_frames
from fullduplex_openai.emulator import Frame, RealtimeSession
from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16

USER_HI = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
}


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


def run(session: RealtimeSession, *events: dict[str, Any] | str) -> list[Frame]:
    """Handle events in order, pumping responses to the end after each."""
    frames: list[Frame] = []
    for event in events:
        frames.extend(session.handle(event))
        while session.has_pending_output():
            frames.extend(session.pump())
    assert_valid_frames(frames)
    return frames


def types(frames: list[Frame]) -> list[str]:
    return [f.type for f in frames]


def only_error(frames: list[Frame]) -> dict[str, Any]:
    assert types(frames) == ["error"]
    error: dict[str, Any] = frames[0].event["error"]
    return error


# (events sent first, the event under test, expected error code, expected param)
REFUSALS: list[tuple[str, list[dict[str, Any]], dict[str, Any] | str, str | None, str | None]] = [
    ("not json", [], "{nope", "invalid_json", None),
    ("no type", [], {"event_id": "x"}, "invalid_event", None),
    ("unknown type", [], {"type": "transcription_session.update"}, "invalid_value", "type"),
    (
        "unknown top-level key",
        [],
        {"type": "response.cancel", "foo": 1},
        "unknown_parameter",
        "foo",
    ),
    (
        "session.type missing",
        [],
        {"type": "session.update", "session": {}},
        "missing_required_parameter",
        "session.type",
    ),
    (
        "transcription on realtime",
        [],
        {"type": "session.update", "session": {"type": "transcription"}},
        "invalid_parameter",
        "session.type",
    ),
    (
        "beta response field",
        [],
        {"type": "response.create", "response": {"modalities": ["text"]}},
        "unknown_parameter",
        "response.modalities",
    ),
    (
        "unknown voice",
        [],
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"voice": "nova"}}},
        },
        "invalid_value",
        "session.audio.output.voice",
    ),
    (
        "speed out of range",
        [],
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"speed": 3}}},
        },
        "integer_out_of_range",
        "session.audio.output.speed",
    ),
    (
        "max tokens out of range",
        [],
        {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 5000}},
        "integer_out_of_range",
        "session.max_output_tokens",
    ),
    (
        "idle timeout out of range",
        [],
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 100}}
                },
            },
        },
        "integer_out_of_range",
        "session.audio.input.turn_detection.idle_timeout_ms",
    ),
    (
        "model change",
        [],
        {"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime-mini"}},
        "invalid_value",
        "session.model",
    ),
    (
        "unknown previous id",
        [],
        {**USER_HI, "previous_item_id": "item_x"},
        "item_not_found",
        "previous_item_id",
    ),
    (
        "retrieve unknown",
        [],
        {"type": "conversation.item.retrieve", "item_id": "nope"},
        "item_not_found",
        "item_id",
    ),
    (
        "delete unknown",
        [],
        {"type": "conversation.item.delete", "item_id": "nope"},
        "item_not_found",
        "item_id",
    ),
    (
        "output for unknown call",
        [],
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "c", "output": "1"},
        },
        "invalid_value",
        "item.call_id",
    ),
    (
        "system audio",
        [],
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "system", "content": [{"type": "input_audio"}]},
        },
        "invalid_value",
        "item.content[0].type",
    ),
    (
        "duplicate id",
        [{**USER_HI, "item": {**USER_HI["item"], "id": "a"}}],
        {**USER_HI, "item": {**USER_HI["item"], "id": "a"}},
        "item_already_exists",
        "item.id",
    ),
    (
        "cancel with nothing running",
        [],
        {"type": "response.cancel"},
        "response_cancel_not_active",
        None,
    ),
    (
        "commit empty",
        [],
        {"type": "input_audio_buffer.commit"},
        "input_audio_buffer_commit_empty",
        None,
    ),
    (
        "append not base64",
        [],
        {"type": "input_audio_buffer.append", "audio": "!!"},
        "invalid_value",
        "audio",
    ),
    ("webrtc-only event", [], {"type": "output_audio_buffer.clear"}, "invalid_value", "type"),
    (
        "event_id too long",
        [],
        {"type": "input_audio_buffer.clear", "event_id": "e" * 513},
        "string_above_max_length",
        "event_id",
    ),
]


@pytest.mark.parametrize(
    ("setup", "event", "code", "param"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_refusals(
    setup: list[dict[str, Any]], event: dict[str, Any] | str, code: str, param: str | None
) -> None:
    session = RealtimeSession()
    run(session, *setup)
    before = session.config
    error = only_error(run(session, event))
    assert (error["code"], error["param"]) == (code, param)
    assert session.config == before


def test_error_echoes_the_client_event_id() -> None:
    error = only_error(run(RealtimeSession(), {"type": "response.cancel", "event_id": "evt_42"}))
    assert error["event_id"] == "evt_42"


@pytest.mark.parametrize(
    ("update", "path", "expected"),
    [
        ({"instructions": ""}, ("instructions",), ""),
        ({"tools": []}, ("tools",), []),
        (
            {"audio": {"input": {"turn_detection": None}}},
            ("audio", "input", "turn_detection"),
            None,
        ),
        (
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.8}}}},
            ("audio", "input", "turn_detection", "silence_duration_ms"),
            200,
        ),
        (
            {"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}},
            ("audio", "input", "turn_detection", "eagerness"),
            "auto",
        ),
        ({"audio": {"output": {"voice": "marin"}}}, ("audio", "output", "voice"), "marin"),
        ({"audio": {"output": {"voice": "marin"}}}, ("audio", "output", "speed"), 1.0),
        (
            {"audio": {"input": {"format": {"type": "audio/pcmu"}}}},
            ("audio", "input", "format"),
            {"type": "audio/pcmu"},
        ),
        ({"max_output_tokens": 50}, ("max_output_tokens",), 50),
    ],
)
def test_partial_updates_merge(
    update: dict[str, Any], path: tuple[str, ...], expected: Any
) -> None:
    session = RealtimeSession()
    frames = run(session, {"type": "session.update", "session": {"type": "realtime", **update}})
    echoed = frames[0].event["session"]
    value: Any = echoed
    for key in path:
        value = value[key]
    assert value == expected
    assert echoed["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert echoed["id"] == session.config["id"]


def test_voice_is_locked_after_the_first_audio() -> None:
    session = RealtimeSession()
    voice = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
    }
    assert types(run(session, voice)) == ["session.updated"]
    run(session, USER_HI, {"type": "response.create"})
    error = only_error(
        run(
            session,
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}},
            },
        )
    )
    assert error["code"] == "cannot_update_voice"
    assert types(run(session, voice)) == ["session.updated"]  # the same voice is fine


def test_previous_item_id_and_root_insertion() -> None:
    session = RealtimeSession()
    item = USER_HI["item"]
    run(session, {**USER_HI, "item": {**item, "id": "a"}}, {**USER_HI, "item": {**item, "id": "b"}})
    after_a = run(session, {**USER_HI, "item": {**item, "id": "c"}, "previous_item_id": "a"})
    assert after_a[0].event["previous_item_id"] == "a"
    at_root = run(session, {**USER_HI, "item": {**item, "id": "r"}, "previous_item_id": "root"})
    assert at_root[0].event["previous_item_id"] is None
    assert [i["id"] for i in session.conversation.items] == ["r", "a", "c", "b"]
    deleted = run(session, {"type": "conversation.item.delete", "item_id": "c"})
    assert deleted[0].event == {
        **deleted[0].event,
        "type": "conversation.item.deleted",
        "item_id": "c",
    }
    assert [i["id"] for i in session.conversation.items] == ["r", "a", "b"]


def test_retrieve_includes_audio_and_added_does_not() -> None:
    session = RealtimeSession()
    audio = tone_pcm16(200)
    created = run(
        session,
        {
            "type": "conversation.item.create",
            "item": {
                "id": "u",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": b64(audio)}],
            },
        },
    )
    assert "audio" not in created[0].event["item"]["content"][0]
    retrieved = run(session, {"type": "conversation.item.retrieve", "item_id": "u"})[0].event
    assert base64.b64decode(retrieved["item"]["content"][0]["audio"]) == audio


def test_manual_turns_commit_and_clear() -> None:
    session = RealtimeSession()
    run(
        session,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        },
    )
    assert run(session, {"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(500))}) == []
    assert types(run(session, {"type": "input_audio_buffer.clear"})) == [
        "input_audio_buffer.cleared"
    ]
    assert (
        only_error(run(session, {"type": "input_audio_buffer.commit"}))["code"]
        == "input_audio_buffer_commit_empty"
    )
    run(session, {"type": "input_audio_buffer.append", "audio": b64(silence_pcm16(150))})
    committed = run(session, {"type": "input_audio_buffer.commit"})
    assert types(committed) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    answer = run(session, {"type": "response.create"})
    assert (
        answer[-2].event["response"]["output"][0]["content"][0]["transcript"]
        == "I heard 0.1 seconds of audio."
    )


@pytest.mark.parametrize(
    ("turn_detection", "speech_ms", "expect_turn"),
    [
        ({"type": "server_vad"}, 400, True),
        ({"type": "server_vad", "threshold": 1.0}, 400, True),  # the tone is loud (0.21 rms)
        ({"type": "semantic_vad", "eagerness": "high"}, 400, True),
        ({"type": "server_vad", "silence_duration_ms": 2000}, 400, False),  # not silent long enough
        ({"type": "server_vad", "create_response": False}, 400, True),
    ],
)
def test_server_vad_turns(
    turn_detection: dict[str, Any], speech_ms: int, expect_turn: bool
) -> None:
    session = RealtimeSession()
    run(
        session,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": turn_detection}}},
        },
    )
    frames = run(
        session,
        {
            "type": "input_audio_buffer.append",
            "audio": b64(tone_pcm16(speech_ms) + silence_pcm16(1000)),
        },
    )
    kinds = types(frames)
    assert kinds[0] == "input_audio_buffer.speech_started"
    assert ("input_audio_buffer.committed" in kinds) is expect_turn
    creates = turn_detection.get("create_response", True)
    assert ("response.created" in kinds) is (expect_turn and creates)


def test_quiet_audio_is_not_speech() -> None:
    session = RealtimeSession()
    assert (
        run(
            session,
            {"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(500, level=0.005))},
        )
        == []
    )


def test_barge_in_without_interrupt_response_keeps_the_answer() -> None:
    session = RealtimeSession()
    td = {"type": "server_vad", "interrupt_response": False}
    run(
        session,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": td}}},
        },
    )
    session.handle(USER_HI)
    session.handle({"type": "response.create"})
    session.pump(4)
    frames = session.handle({"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(300))})
    assert types(frames) == ["input_audio_buffer.speech_started"]
    assert session.active_response_id is not None


def test_barge_in_cancels_mid_answer_and_closes_the_item() -> None:
    session = RealtimeSession()
    frames = run(session, USER_HI)
    frames = session.handle({"type": "response.create"})
    frames += session.pump(6)
    frames += session.handle({"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(300))})
    assert_valid_frames(frames)
    kinds = types(frames)
    start = kinds.index("input_audio_buffer.speech_started")
    assert kinds[start + 1 :] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
        "rate_limits.updated",
    ]
    done = frames[-2].event["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    sent_audio = sum(
        len(base64.b64decode(f.event["delta"]))
        for f in frames
        if f.type == "response.output_audio.delta"
    )
    item_id = done["output"][0]["id"]
    assert len(session.conversation.audio_of(item_id)) == sent_audio
    assert not session.has_pending_output()


def test_max_output_tokens_makes_the_response_incomplete() -> None:
    session = RealtimeSession()
    frames = run(
        session, USER_HI, {"type": "response.create", "response": {"max_output_tokens": 3}}
    )
    done = frames[-2].event["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert done["output"][0]["status"] == "incomplete"


def test_failed_responses() -> None:
    session = RealtimeSession()
    session.fail_responses = True
    frames = run(session, {"type": "response.create"})
    assert types(frames) == ["response.created", "response.done", "rate_limits.updated"]
    details = frames[1].event["response"]["status_details"]
    assert details["type"] == "failed"
    assert details["error"]["type"] == "server_error"


def test_out_of_band_response_runs_beside_the_default_one() -> None:
    session = RealtimeSession()
    session.handle(USER_HI)
    session.handle({"type": "response.create"})
    oob = session.handle(
        {
            "type": "response.create",
            "response": {"conversation": "none", "metadata": {"purpose": "summary"}, "input": []},
        }
    )
    assert types(oob) == ["response.created"]
    assert oob[0].event["response"]["conversation_id"] is None
    frames = []
    while session.has_pending_output():
        frames += session.pump()
    dones = [f.event["response"] for f in frames if f.type == "response.done"]
    assert [d["metadata"] for d in dones] == [None, {"purpose": "summary"}]
    assert len(session.conversation.items) == 2  # the out-of-band answer is not in the conversation


def test_truncate_cuts_the_audio_and_deletes_the_transcript() -> None:
    session = RealtimeSession()
    frames = run(
        session,
        {
            **USER_HI,
            "item": {
                **USER_HI["item"],
                "content": [{"type": "input_text", "text": "one two three four five six"}],
            },
        },
        {"type": "response.create"},
    )
    item = frames[-2].event["response"]["output"][0]
    full = item["content"][0]["transcript"]
    truncated = run(
        session,
        {
            "type": "conversation.item.truncate",
            "item_id": item["id"],
            "content_index": 0,
            "audio_end_ms": 500,
        },
    )
    assert truncated[0].event["audio_end_ms"] == 500
    kept = session.conversation.get(item["id"])["content"][0]["transcript"]
    assert full
    assert kept == ""  # the service deletes the transcript (see test_emulator_truncate.py)
    assert len(session.conversation.audio_of(item["id"])) == 500 * 48


def test_g711_output_format() -> None:
    session = RealtimeSession()
    run(
        session,
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"output": {"format": {"type": "audio/pcmu"}}},
            },
        },
    )
    frames = run(session, USER_HI, {"type": "response.create"})
    audio = b"".join(
        base64.b64decode(f.event["delta"])
        for f in frames
        if f.type == "response.output_audio.delta"
    )
    transcript = frames[-2].event["response"]["output"][0]["content"][0]["transcript"]
    assert len(audio) == 8 * max(400, 66 * len(transcript))
