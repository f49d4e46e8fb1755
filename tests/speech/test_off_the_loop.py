"""Recognition and synthesis never block the emulator's event loop; sessions run side by side.

Three clients speak at once to one emulator over real WebSockets; each gets the
answer to its own question, and meanwhile a ticker on the emulator's loop is
never held up as long as one recognition takes when done inline (measured in
the same run, so a busy machine slows both sides alike).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import aiohttp
import orjson

from fullduplex_emulator.speech import SpeechStack
from fullduplex_emulator.synth import silence_pcm16
from fullduplex_openai.emulator import Emulator

RATE = 24_000
QUESTIONS = {
    "what is nine times nine": "The answer is eighty one.",
    "what is three plus four": "The answer is seven.",
    "what is twenty one times four": "The answer is eighty four.",
}


async def _ask(emulator: Emulator, audio: bytes) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(emulator.websocket_url + "?model=gpt-realtime", headers=headers) as ws,
    ):
        await ws.send_str(
            orjson.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {"input": {"transcription": {"model": "whisper-1"}}},
                    },
                }
            ).decode()
        )
        for start in range(0, len(audio), 4800):  # 100 ms appends, as a client streams
            chunk = base64.b64encode(audio[start : start + 4800]).decode()
            await ws.send_str(
                orjson.dumps({"type": "input_audio_buffer.append", "audio": chunk}).decode()
            )
        heard = said = ""
        async for message in ws:
            event: dict[str, Any] = orjson.loads(message.data)
            if event["type"] == "conversation.item.input_audio_transcription.completed":
                heard = event["transcript"]
            elif event["type"] == "response.output_audio_transcript.done":
                said = event["transcript"]
            if heard and said:
                return heard, said
    raise AssertionError("the socket closed before the answer")


async def test_three_sessions_speak_at_once_and_the_loop_stays_free(speech: SpeechStack) -> None:
    audios = {
        q: silence_pcm16(200) + speech.speak(q, RATE) + silence_pcm16(1200) for q in QUESTIONS
    }
    async with Emulator(speech=True) as emulator:
        assert emulator.offload
        longest = 0.0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal longest
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        try:
            async with asyncio.timeout(60):
                results = await asyncio.gather(*(_ask(emulator, a) for a in audios.values()))
        finally:
            stop.set()
            await ticking
    assert dict(zip(QUESTIONS, results, strict=True)) == {
        q: (q, answer) for q, answer in QUESTIONS.items()
    }
    # The floor, measured in the same run on the same (possibly busy) machine: one
    # recognition, done inline, would hold a loop at least this long. The loop that
    # served three sessions at once was never held half that long.
    one_recognition = min(_time_to_hear(speech, audio) for audio in audios.values())
    assert longest < one_recognition / 2, (longest, one_recognition)


def _time_to_hear(speech: SpeechStack, audio: bytes) -> float:
    started = time.perf_counter()
    speech.recognizer.recognize(audio, RATE)  # inline, in this process
    return time.perf_counter() - started
