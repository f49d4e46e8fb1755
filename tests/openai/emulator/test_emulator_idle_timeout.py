"""server_vad ``idle_timeout_ms``: the server prompts a silent user (reference §2.3, §5 (f)).

Time is injected: the session reads a fake clock, and the emulator is woken with
``Emulator.wake()`` after the fake clock moves, so nothing here sleeps for real.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from conftest import KEY, ask, assert_valid_frames, recv_until
from fullduplex_emulator import DefaultResponder, TurnContext
from fullduplex_openai.emulator import Emulator, Frame, RealtimeSession
from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16
from openai import AsyncOpenAI

START = 1_000_000.0
USER_HI = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


def types(frames: list[Frame]) -> list[str]:
    return [f.type for f in frames]


def vad(**fields: Any) -> dict[str, Any]:
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "server_vad", **fields}}},
        },
    }


def drain(session: RealtimeSession, *events: dict[str, Any]) -> list[Frame]:
    frames: list[Frame] = []
    for event in events:
        frames.extend(session.handle(event))
        while session.has_pending_output():
            frames.extend(session.pump())
    assert_valid_frames(frames)
    return frames


def played_ms(frames: list[Frame]) -> int:
    """How long the audio of these frames plays (PCM16 24 kHz: 48 bytes per ms)."""
    return sum(
        len(base64.b64decode(f.event["delta"])) // 48
        for f in frames
        if f.type == "response.output_audio.delta"
    )


def answered(clock: FakeClock, idle_ms: int = 5000) -> tuple[RealtimeSession, list[Frame]]:
    """A server_vad session with an idle timeout, after one spoken answer at ``START``."""
    session = RealtimeSession(clock=clock)
    drain(session, vad(idle_timeout_ms=idle_ms))
    frames = drain(session, USER_HI, {"type": "response.create"})
    assert frames[-2].type == "response.done"
    return session, frames


def test_fires_after_playback_plus_timeout_and_prompts_the_user() -> None:
    clock = FakeClock()
    session, answer = answered(clock, 5000)
    playback_s = played_ms(answer) / 1000
    assert playback_s > 0.5
    assert session.idle_deadline == pytest.approx(START + playback_s + 5.0)

    clock.now = START + playback_s + 4.999
    assert session.tick() == []
    clock.now = START + playback_s + 5.0
    fired = session.tick()
    assert types(fired) == [
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    assert session.tick() == []  # once per silence
    trigger = fired[0].event
    assert fired[1].event["item_id"] == trigger["item_id"]
    user_item = fired[2].event["item"]
    assert user_item["id"] == trigger["item_id"]
    assert user_item["role"] == "user"
    assert user_item["content"][0]["type"] == "input_audio"
    prompt: list[Frame] = []
    while session.has_pending_output():
        prompt.extend(session.pump())
    frames = fired + prompt
    assert_valid_frames(frames)
    transcript = next(f for f in prompt if f.type == "response.output_audio_transcript.done")
    assert transcript.event["transcript"] == "Are you still there?"
    assert prompt[-2].event["response"]["status"] == "completed"


def test_audio_offsets_mark_the_silence_after_playback() -> None:
    clock = FakeClock()
    session = RealtimeSession(clock=clock)
    drain(session, vad(idle_timeout_ms=6000))
    # the client streams silence all along, as a microphone would
    drain(session, {"type": "input_audio_buffer.append", "audio": b64(silence_pcm16(1000))})
    answer = drain(session, USER_HI, {"type": "response.create"})
    playback = played_ms(answer)
    drain(
        session,
        {"type": "input_audio_buffer.append", "audio": b64(silence_pcm16(playback + 6000))},
    )
    clock.now = START + playback / 1000 + 6.0
    fired = session.tick()
    trigger = fired[0].event
    assert trigger["type"] == "input_audio_buffer.timeout_triggered"
    assert trigger["audio_start_ms"] == 1000 + playback
    assert trigger["audio_end_ms"] == 1000 + playback + 6000
    # the buffer was committed: the next timeout counts from a fresh buffer
    assert session.conversation.audio_of(trigger["item_id"]) == silence_pcm16(
        playback + 6000 + 1000
    )


@pytest.mark.parametrize(
    "update",
    [
        vad(),  # server_vad without idle_timeout_ms
        vad(idle_timeout_ms=None),
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        },
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
            },
        },
    ],
)
def test_never_fires_without_a_server_vad_idle_timeout(update: dict[str, Any]) -> None:
    clock = FakeClock()
    session = RealtimeSession(clock=clock)
    drain(session, update, USER_HI, {"type": "response.create"})
    assert session.idle_deadline is None
    clock.now = START + 3600
    assert session.tick() == []


def test_not_armed_before_the_first_response() -> None:
    clock = FakeClock()
    session = RealtimeSession(clock=clock)
    drain(session, vad(idle_timeout_ms=5000))
    clock.now = START + 3600
    assert session.idle_deadline is None
    assert session.tick() == []


def test_turning_the_timeout_off_disarms_it() -> None:
    clock = FakeClock()
    session, _ = answered(clock)
    drain(session, vad(idle_timeout_ms=None))
    clock.now = START + 3600
    assert session.idle_deadline is None
    assert session.tick() == []


def test_speech_starting_resets_the_timer() -> None:
    clock = FakeClock()
    session, _ = answered(clock, 5000)
    assert session.idle_deadline is not None
    started = drain(session, {"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(300))})
    assert types(started) == ["input_audio_buffer.speech_started"]
    assert session.idle_deadline is None
    clock.now = START + 3600
    assert session.tick() == []  # the user is talking


def test_never_fires_while_a_response_is_active_and_a_new_one_resets_it() -> None:
    clock = FakeClock()
    session, _ = answered(clock, 5000)
    first_deadline = session.idle_deadline
    assert first_deadline is not None
    clock.now = START + 1.0
    session.handle(USER_HI)
    assert types(session.handle({"type": "response.create"})) == ["response.created"]
    assert session.idle_deadline is None
    clock.now = first_deadline
    assert session.tick() == []  # the first answer's deadline no longer counts
    clock.now = START + 3600  # long past both deadlines, but the answer is still streaming
    assert session.tick() == []
    second: list[Frame] = []
    while session.has_pending_output():
        second.extend(session.pump())
    # re-armed from the second response's end (its response.done at the clock's time)
    assert session.idle_deadline == pytest.approx(START + 3600 + played_ms(second) / 1000 + 5.0)
    assert session.tick() == []


def test_the_prompt_rearms_the_timer_so_silence_is_prompted_again() -> None:
    clock = FakeClock()
    session, answer = answered(clock, 5000)
    clock.now = START + played_ms(answer) / 1000 + 5.0
    fired = session.tick()
    prompt: list[Frame] = []
    while session.has_pending_output():
        prompt.extend(session.pump())
    assert_valid_frames(fired + prompt)
    assert session.idle_deadline == pytest.approx(clock.now + played_ms(prompt) / 1000 + 5.0)


def test_a_custom_responder_is_told_the_turn_is_an_idle_timeout() -> None:
    seen: list[bool] = []

    class Recording(DefaultResponder):
        def respond(self, context: TurnContext) -> Any:
            seen.append(context.idle_timeout)
            return super().respond(context)

    clock = FakeClock()
    session = RealtimeSession(clock=clock, responder=Recording(["scripted words"]))
    drain(session, vad(idle_timeout_ms=5000))
    answer = drain(session, USER_HI, {"type": "response.create"})
    clock.now = START + played_ms(answer) / 1000 + 5.0
    session.tick()
    assert seen == [False, True]
    # the silent commit did not consume the transcript scripted for a real turn
    later = drain(
        session,
        {"type": "input_audio_buffer.append", "audio": b64(tone_pcm16(600) + silence_pcm16(300))},
    )
    spoken = next(f for f in later if f.type == "response.output_audio_transcript.done")
    assert spoken.event["transcript"] == "You said: scripted words"


async def test_official_client_receives_timeout_triggered(
    make_emulator: Callable[..., Any],
) -> None:
    clock = FakeClock()
    emu: Emulator = await make_emulator(clock=clock)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}
                },
            }
        )
        await recv_until(conn, "session.updated")
        answer = await ask(conn, "hello")
        audio_ms = sum(
            len(base64.b64decode(e.delta)) // 48
            for e in answer
            if e.type == "response.output_audio.delta"
        )
        clock.now = START + audio_ms / 1000 + 5.0
        emu.wake()
        events = await recv_until(conn, "response.done")

    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "rate_limits.updated",
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert kinds[5] == "response.created"
    trigger = events[1]
    assert trigger.item_id == events[2].item_id
    # no audio was streamed, so the silent span is empty
    assert trigger.audio_start_ms == 0
    assert trigger.audio_end_ms == 0
    spoken = next(e for e in events if e.type == "response.output_audio_transcript.done")
    assert spoken.transcript == "Are you still there?"
    assert "input_audio_buffer.timeout_triggered" in [e["type"] for e in emu.sent_events]
