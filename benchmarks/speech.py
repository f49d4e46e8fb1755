"""The emulator's voice and ears: real-time factors, accuracy, and answer latency.

Prints one JSON object (asserts nothing):

- ``recognition``: real-time factor of pocketsphinx against the responder's grammar
  (CPU-bound seconds of decoding per second of audio) over the 30 fixed questions of
  ``tests/speech/questions.py``, and of the general-model fallback on the same audio;
- ``synthesis``: real-time factor of eSpeak NG (first chunk and whole answer);
- ``wer``: word error rate over those 30 questions (the emulator's own voice);
- ``answer_latency_ms``: from the end of the user's speech (last speech byte streamed at
  real time to an ``Emulator(speech=True)`` over a loopback WebSocket) to the first
  answer audio byte received. It includes server VAD's ``silence_duration_ms`` (the
  turn only ends after that much silence), reported separately as ``vad_silence_ms``.

Needs ``pip install -e 'plugins/emulator[speech]'``. ``--quick`` measures fewer runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "speech"))

from questions import QUESTIONS  # noqa: E402
from wer import word_error_rate  # noqa: E402

from fullduplex_emulator.speech import load_speech  # noqa: E402
from fullduplex_emulator.synth import silence_pcm16  # noqa: E402
from fullduplex_openai.emulator import Emulator  # noqa: E402

RATE = 24_000
VAD_SILENCE_MS = 500  # the GA default of server_vad's silence_duration_ms


def _recognition(stack: Any) -> dict[str, Any]:
    audio_s = grammar_s = general_s = 0.0
    pairs = []
    for question in QUESTIONS:
        pcm = stack.speak(question, 16_000)
        audio_s += len(pcm) / 2 / 16_000
        start = time.perf_counter()
        heard = stack.hear(pcm, 16_000)
        grammar_s += time.perf_counter() - start
        pairs.append((question, heard.text if heard is not None else ""))
        start = time.perf_counter()
        stack.recognizer._decode("general", pcm)
        general_s += time.perf_counter() - start
    return {
        "audio_s": round(audio_s, 2),
        "rtf_grammar": round(grammar_s / audio_s, 3),
        "rtf_general_model": round(general_s / audio_s, 3),
        "wer": round(word_error_rate(pairs), 4),
        "exact_sentences": sum(q == h for q, h in pairs),
        "questions": len(QUESTIONS),
    }


def _synthesis(stack: Any, runs: int) -> dict[str, Any]:
    answer = "The answer is eighty four. Is there anything else I can compute for you?"
    whole: list[float] = []
    first: list[float] = []
    audio_s = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        chunks = stack.speak_stream(answer, RATE)
        first_chunk = next(chunks)
        first.append(time.perf_counter() - start)
        rest = b"".join(chunks)
        whole.append(time.perf_counter() - start)
        audio_s = (len(first_chunk) + len(rest)) / 2 / RATE
    return {
        "audio_s": round(audio_s, 2),
        "rtf": round(statistics.median(whole) / audio_s, 4),
        "first_chunk_ms": round(statistics.median(first) * 1000, 2),
    }


async def _latency_once(emulator: Emulator, speech_pcm: bytes) -> float:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    chunk = RATE * 2 * 20 // 1000  # 20 ms
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(emulator.websocket_url + "?model=gpt-realtime", headers=headers) as ws,
    ):
        update = {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "silence_duration_ms": VAD_SILENCE_MS,
                        }
                    }
                },
            },
        }
        await ws.send_str(orjson.dumps(update).decode())
        first_audio = asyncio.get_running_loop().create_future()

        async def read() -> None:
            async for message in ws:
                event = orjson.loads(message.data)
                if event["type"] == "response.output_audio.delta" and not first_audio.done():
                    first_audio.set_result(time.perf_counter())

        reader = asyncio.create_task(read())
        stream = speech_pcm + silence_pcm16(2000)
        start = time.perf_counter()
        speech_end = 0.0
        for i in range(0, len(stream), chunk):
            piece = base64.b64encode(stream[i : i + chunk]).decode()
            await ws.send_str(
                orjson.dumps({"type": "input_audio_buffer.append", "audio": piece}).decode()
            )
            if i + chunk >= len(speech_pcm) and not speech_end:
                speech_end = time.perf_counter()
            if first_audio.done():
                break
            # real time: the next chunk leaves when the microphone would have it
            await asyncio.sleep(max(0.0, start + (i + chunk) / (RATE * 2) - time.perf_counter()))
        async with asyncio.timeout(10):
            answered: float = await first_audio
        reader.cancel()
        return (answered - speech_end) * 1000


async def _latency(stack: Any, runs: int) -> dict[str, Any]:
    speech = stack.speak("what is nine times nine", RATE)
    values = []
    async with Emulator(speech=True) as emulator:
        for _ in range(runs):
            values.append(await _latency_once(emulator, speech))
    return {
        "answer_latency_ms_median": round(statistics.median(values), 1),
        "answer_latency_ms_max": round(max(values), 1),
        "vad_silence_ms": VAD_SILENCE_MS,
        "processing_ms_median": round(statistics.median(values) - VAD_SILENCE_MS, 1),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    stack = load_speech(True)
    assert stack is not None
    stack.recognizer.warm_up()
    result = {
        "benchmark": "speech",
        "recognition": _recognition(stack),
        "synthesis": _synthesis(stack, 3 if args.quick else 20),
        "latency": asyncio.run(_latency(stack, 2 if args.quick else 8)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
