"""The kit's neutral parts on their own: clock, idle timer, buffer, caps, VAD, speech, brain."""

from __future__ import annotations

import pytest

from fullduplex_emulator import (
    IDLE_PROMPT,
    FunctionCall,
    IdleTimer,
    ManualClock,
    ScriptedResponder,
    SessionCap,
    ToolDeclaration,
    Turn,
    TurnContext,
)
from fullduplex_emulator.audio_buffer import InputAudioBuffer
from fullduplex_emulator.synth import (
    bytes_per_ms,
    decode,
    rms_level,
    silence_pcm16,
    speech_audio,
    speech_duration_ms,
    tone_pcm16,
)
from fullduplex_emulator.vad import EnergyVad, VadEvent

CALCULATOR = ToolDeclaration(
    "calculator", parameters={"type": "object", "properties": {"expr": {"type": "string"}}}
)
STOP = ToolDeclaration("stop_conversation")


def context(*turns: Turn, tools: tuple[ToolDeclaration, ...] = (), **extra: object) -> TurnContext:
    return TurnContext(
        items=(), tools=(), instructions="", turns=turns, declarations=tools, **extra
    )  # type: ignore[arg-type]


def test_idle_timer_counts_from_the_end_of_playback() -> None:
    clock = ManualClock(100.0)
    timer = IdleTimer(clock)
    assert timer.deadline(5.0) is None
    timer.arm(playback_ms=1500, input_ms=2000)
    assert timer.deadline(5.0) == pytest.approx(106.5)
    assert timer.audio_ms == 3500
    timer.disarm()
    assert not timer.armed
    with pytest.raises(ValueError, match="advance"):
        clock.advance(-1)


def test_input_buffer_keeps_one_timeline_across_commits() -> None:
    buffer = InputAudioBuffer()
    buffer.append(bytes(48 * 1000), 48)  # 1 s of 24 kHz PCM16
    assert (buffer.start_ms, buffer.written_ms) == (0, 1000)
    turn = buffer.take_span(200, 700, 48)
    assert len(turn) == 500 * 48
    assert buffer.start_ms == 700
    assert buffer.buffered_ms(48) == 300
    buffer.append(bytes(48 * 100), 48)
    assert buffer.written_ms == 1100
    assert len(buffer.take_all()) == 400 * 48
    assert buffer.start_ms == buffer.written_ms == 1100


def test_session_cap_says_minutes_or_seconds_and_refuses_nonsense() -> None:
    assert SessionCap(3600).message == "Your session hit the maximum duration of 60 minutes."
    assert SessionCap(1.5).message == "Your session hit the maximum duration of 1.5 seconds."
    assert SessionCap(10).expires_at(ManualClock(0.0)) == 10
    with pytest.raises(ValueError, match="session cap"):
        SessionCap(0)


def test_vad_finds_a_tone_between_silences_at_any_rate() -> None:
    for rate in (16_000, 24_000):
        vad = EnergyVad(0.5, prefix_padding_ms=100, silence_duration_ms=200)
        audio = silence_pcm16(500, rate) + tone_pcm16(600, rate=rate) + silence_pcm16(500, rate)
        events = vad.feed(decode(audio, "pcm16"), rate)
        assert events == [VadEvent("started", 400), VadEvent("stopped", 1300)]


def test_speech_is_deterministic_sized_by_text_in_every_encoding() -> None:
    text = "Hello there, this is the emulator speaking."
    duration = speech_duration_ms(text)
    pcm = speech_audio(text, "pcm16", 24_000)
    assert len(pcm) == duration * bytes_per_ms("pcm16", 24_000)
    assert 0.05 < rms_level(pcm) < 0.3
    assert speech_audio(text, "pcm16", 24_000) == pcm
    for law in ("ulaw", "alaw"):
        coded = speech_audio(text, law, 8_000)
        assert len(coded) == duration * 8
        assert rms_level(decode(coded, law).tobytes()) > 0.05


def test_scripted_brain_calls_the_calculator_then_speaks_its_result() -> None:
    brain = ScriptedResponder()
    question = Turn("user", "u1", "what is 12 times 7?")
    call = brain.respond(context(question, tools=(CALCULATOR,)))
    assert call.function_calls == (FunctionCall("calculator", '{"expr":"12*7"}'),)
    answer = brain.respond(
        context(
            question,
            Turn("tool_call", "c1", name="calculator", call_id="k1", arguments="{}"),
            Turn("tool_result", "r1", call_id="k1", output='{"result": 84}'),
            tools=(CALCULATOR,),
        )
    )
    assert answer.text == "The answer is 84."
    assert brain.respond(context(question)).text == "The answer is 84."


def test_scripted_brain_says_goodbye_and_stops_the_conversation() -> None:
    brain = ScriptedResponder()
    bye = Turn("user", "u1", "ok, goodbye")
    reply = brain.respond(context(bye, tools=(STOP,)))
    assert reply.text == "Goodbye!"
    assert reply.function_calls == (FunctionCall("stop_conversation", "{}"),)
    assert brain.respond(context(bye)).function_calls == ()


def test_scripted_brain_on_audio_silence_and_its_own_words() -> None:
    brain = ScriptedResponder(["hello there"])
    assert brain.transcribe(b"", 0) == "hello there"
    assert brain.transcribe(b"", 0) is None
    unknown = Turn("user", "u1", None, audio_ms=2500)
    assert brain.respond(context(unknown)).text == "I heard 2.5 seconds of audio."
    assert brain.respond(context(unknown, idle_timeout=True)).text == IDLE_PROMPT
    # the model's own (and system) messages are not what it answers
    said = context(Turn("user", "u1", "tea"), Turn("assistant", "a1", "You said: tea"))
    assert brain.respond(said).text == "You said: tea"
    assert brain.respond(context()).text == "Hello! How can I help you?"
