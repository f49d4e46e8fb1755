"""The OpenAI emulator with the speech stack: it hears what was said and says what it writes.

The sans-I/O session is driven directly (the socket path is covered by the WAV
round trip): spoken audio is appended, server VAD (Silero) ends the turn, the
input transcription carries the recognised words, the answer's transcript
deltas add up to the words its audio says.
"""

from __future__ import annotations

import base64
from typing import Any

from fullduplex.audio import resample
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.grammar import ANSWERS
from fullduplex_emulator.recognizer import Recognizer
from fullduplex_emulator.speech import SpeechStack
from fullduplex_emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_openai.emulator import RealtimeSession

RATE = 24_000


def _drive(session: RealtimeSession, *events: dict[str, Any]) -> list[Frame]:
    frames: list[Frame] = []
    for event in events:
        frames.extend(session.handle(event))
        while session.has_pending_output():
            frames.extend(session.pump())
    return frames


def _append(pcm16: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm16).decode()}


def _session(speech: SpeechStack) -> RealtimeSession:
    session = RealtimeSession(speech=speech)
    _drive(
        session,
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            },
        },
    )
    return session


def _spoken(speech: SpeechStack, text: str) -> bytes:
    return speech.speak(text, RATE)


def test_a_spoken_question_is_transcribed_and_answered_in_words_its_audio_says(
    speech: SpeechStack,
) -> None:
    session = _session(speech)
    frames = _drive(
        session,
        _append(
            silence_pcm16(300) + _spoken(speech, "what is nine times nine") + silence_pcm16(1200)
        ),
    )
    kinds = [frame.type for frame in frames]
    assert "input_audio_buffer.speech_started" in kinds
    assert "input_audio_buffer.speech_stopped" in kinds
    completed = next(
        f.event for f in frames if f.type == "conversation.item.input_audio_transcription.completed"
    )
    assert completed["transcript"] == "what is nine times nine"
    deltas = "".join(
        f.event["delta"] for f in frames if f.type == "response.output_audio_transcript.delta"
    )
    done = next(f.event for f in frames if f.type == "response.output_audio_transcript.done")
    assert deltas == done["transcript"] == "The answer is eighty one."
    audio = b"".join(
        base64.b64decode(f.event["delta"])
        for f in frames
        if f.type == "response.output_audio.delta"
    )
    heard = Recognizer(ANSWERS, fallback=False).recognize(audio, RATE)
    assert heard is not None
    assert heard.text == "the answer is eighty one"


def test_a_tone_is_not_speech_for_silero(speech: SpeechStack) -> None:
    session = _session(speech)
    frames = _drive(session, _append(tone_pcm16(800) + silence_pcm16(1000)))
    assert frames == []


def test_g711_input_is_heard_too(speech: SpeechStack) -> None:
    import numpy as np

    from fullduplex_emulator.synth import decode, encode

    session = _session(speech)
    _drive(
        session,
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}},
            },
        },
    )
    pcm8k = resample(_spoken(speech, "what is three plus four"), RATE, 8000)
    ulaw = encode(np.frombuffer(pcm8k, "<i2"), "ulaw")
    assert len(decode(ulaw, "ulaw")) == len(pcm8k) // 2
    frames = _drive(
        session,
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(ulaw).decode()},
        {"type": "input_audio_buffer.commit"},
    )
    completed = next(
        f.event for f in frames if f.type == "conversation.item.input_audio_transcription.completed"
    )
    assert completed["transcript"] == "what is three plus four"
