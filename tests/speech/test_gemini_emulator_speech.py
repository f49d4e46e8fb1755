"""The Gemini emulator with the speech stack: it hears what was said and says what it writes.

The sans-I/O session is driven directly: spoken 16 kHz audio goes in as
``realtimeInput``, server VAD (Silero) ends the turn, ``inputTranscription``
carries the recognised words, and the ``outputTranscription`` fragments add up
to the words the answer's 24 kHz audio says (recognised independently). Then
the same over loopback, through the provider's ``local_server`` (which turns
speech on when the extra is installed) and ``BidiGeminiLiveModel``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from fullduplex.events import BidiAudioInputEvent, BidiAudioStreamEvent, BidiTranscriptStreamEvent
from fullduplex.registry import get_model, model_registration
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.grammar import ANSWERS
from fullduplex_emulator.recognizer import Recognizer
from fullduplex_emulator.speech import SpeechStack
from fullduplex_emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_gemini.emulator.session import LiveSession

MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
IN_RATE = 16_000
OUT_RATE = 24_000


def _drive(session: LiveSession, *messages: dict[str, Any]) -> list[Frame]:
    frames: list[Frame] = []
    for message in messages:
        frames.extend(session.handle(message))
        while session.has_pending_output():
            frames.extend(session.pump())
    return frames


def _session(speech: SpeechStack) -> LiveSession:
    session = LiveSession(api_version="v1beta", clock=time.time, handles={}, speech=speech)
    setup = {
        "model": f"models/{MODEL}",
        "generationConfig": {"responseModalities": ["AUDIO"]},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    [complete] = _drive(session, {"setup": setup})
    assert complete.type == "setupComplete"
    return session


def _audio(pcm16: bytes) -> dict[str, Any]:
    data = base64.b64encode(pcm16).decode()
    return {"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=16000"}}}


def _content(frames: list[Frame], field: str) -> list[Any]:
    return [
        f.event["serverContent"][field]
        for f in frames
        if isinstance(f.event, dict) and field in f.event.get("serverContent", {})
    ]


def test_a_spoken_question_is_transcribed_and_answered_in_words_its_audio_says(
    speech: SpeechStack,
) -> None:
    session = _session(speech)
    question = speech.speak("what is nine times nine", IN_RATE)
    frames = _drive(
        session, _audio(silence_pcm16(300, IN_RATE) + question + silence_pcm16(1200, IN_RATE))
    )
    heard = "".join(t["text"] for t in _content(frames, "inputTranscription"))
    assert heard == "what is nine times nine"
    said = "".join(t["text"] for t in _content(frames, "outputTranscription"))
    assert said == "The answer is eighty one."
    audio = b"".join(
        base64.b64decode(part["inlineData"]["data"])
        for turn in _content(frames, "modelTurn")
        for part in turn["parts"]
    )
    assert audio
    recognised = Recognizer(ANSWERS, fallback=False).recognize(audio, OUT_RATE)
    assert recognised is not None
    assert recognised.text == "the answer is eighty one"
    assert _content(frames, "turnComplete") == [True]
    # the history holds what was heard and what was said
    assert [(t.kind, t.text) for t in session.turns] == [
        ("user", "what is nine times nine"),
        ("assistant", "The answer is eighty one."),
    ]


def test_a_tone_is_not_speech_for_silero(speech: SpeechStack) -> None:
    session = _session(speech)
    frames = _drive(session, _audio(tone_pcm16(800, rate=IN_RATE) + silence_pcm16(1000, IN_RATE)))
    assert frames == []


async def test_local_server_hears_and_speaks_over_loopback(speech: SpeechStack) -> None:
    registration, _ = model_registration("gemini")
    assert registration.local_server is not None
    question = speech.speak("what is two plus two", IN_RATE)
    with registration.local_server() as connect:
        model = get_model(f"gemini/{MODEL}", **connect)
        finals: dict[str, str] = {}
        audio = bytearray()
        async with asyncio.timeout(30):
            await model.start()
            try:
                for pcm in (silence_pcm16(300, IN_RATE), question, silence_pcm16(1200, IN_RATE)):
                    await model.send(BidiAudioInputEvent(pcm, IN_RATE))
                async for event in model.receive():
                    if isinstance(event, BidiTranscriptStreamEvent) and event.is_final:
                        finals[event.role] = event.current_transcript
                    elif isinstance(event, BidiAudioStreamEvent):
                        audio += event.audio
                        rate = event.sample_rate
                    if "assistant" in finals:
                        break
            finally:
                await model.stop()
    assert finals == {"user": "what is two plus two", "assistant": "The answer is four."}
    recognised = Recognizer(ANSWERS, fallback=False).recognize(bytes(audio), rate)
    assert recognised is not None
    assert recognised.text == "the answer is four"
