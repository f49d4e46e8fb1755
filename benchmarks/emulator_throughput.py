"""How many audio delta events per second the emulator streams on one core.

The emulator (this process, one event loop) answers with long spoken responses
as fast as it can; a client in another process receives as fast as it can and
counts ``response.output_audio.delta`` frames without decoding them. The same
client then reads the same number of identical pre-encoded frames from a bare
aiohttp WebSocket handler in this process: that floor is what the transport alone
costs, so the ratio says how much the emulator's protocol work adds.

Prints one JSON object. No assertions (the issue asks for >= 20,000 events/s).

    .venv/bin/python benchmarks/emulator_throughput.py [--responses 10] [--chunk-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from aiohttp import WSMsgType, web

from fullduplex_openai.emulator import Emulator, Reply, Responder, TurnContext

KEY = "benchmark-key"
SENTENCE = "This sentence is spoken by the emulator to measure how fast it can stream audio. "
DELTA_PREFIX = b'{"type":"response.output_audio.delta"'


class LongAnswers(Responder):
    """Every answer is the same long text (its audio is synthesized once, then cached)."""

    def __init__(self, sentences: int) -> None:
        self.text = SENTENCE * sentences

    def respond(self, context: TurnContext) -> Reply:
        return Reply(self.text.strip())


async def client_main(url: str, responses: int, raw: bool) -> None:
    """Runs in the child process: receive, count, report."""
    import websockets

    headers = {"Authorization": f"Bearer {KEY}"}
    async with websockets.connect(
        url, additional_headers=headers, max_size=None, compression=None, max_queue=None
    ) as ws:
        deltas = 0
        frames = 0
        started = 0.0
        if raw:
            started = time.perf_counter()
            try:
                while True:
                    message = await ws.recv(decode=False)
                    frames += 1
                    if message.startswith(DELTA_PREFIX):
                        deltas += 1
            except websockets.ConnectionClosed:
                pass
        else:
            await ws.recv()  # session.created
            for index in range(responses):
                await ws.send(json.dumps({"type": "response.create"}))
                if index == 0:
                    started = time.perf_counter()
                while True:
                    message = await ws.recv(decode=False)
                    frames += 1
                    if message.startswith(DELTA_PREFIX):
                        deltas += 1
                    elif b'"type":"response.done"' in message[:40]:
                        break
        elapsed = time.perf_counter() - started
    print(json.dumps({"deltas": deltas, "frames": frames, "seconds": elapsed}))


def spawn_client(url: str, responses: int, raw: bool) -> subprocess.Popen[str]:
    args = [sys.executable, __file__, "--client", url, "--responses", str(responses)]
    if raw:
        args.append("--raw")
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


async def wait_client(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = await asyncio.to_thread(proc.communicate)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def measure_emulator(responses: int, sentences: int, chunk_ms: int) -> dict[str, Any]:
    responder = LongAnswers(sentences)
    responder.respond(TurnContext(items=(), tools=(), instructions=""))
    async with Emulator(
        api_key=KEY, port=0, responder=responder, audio_chunk_ms=chunk_ms, record=False
    ) as emu:
        # synthesize and encode once, before timing
        from fullduplex_openai.emulator import synth

        synth.speech_chunks(responder.text.strip(), "audio/pcm", chunk_ms)
        proc = spawn_client(emu.websocket_url + "?model=gpt-realtime", responses, raw=False)
        result = await wait_client(proc)
    return result


async def measure_floor(frame: bytes, count: int) -> dict[str, Any]:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        for _ in range(count):
            await ws.send_frame(frame, WSMsgType.TEXT)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/raw", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        proc = spawn_client(f"ws://127.0.0.1:{port}/raw", 0, raw=True)
        return await wait_client(proc)
    finally:
        await runner.cleanup()


async def main(responses: int, sentences: int, chunk_ms: int) -> None:
    emulated = await measure_emulator(responses, sentences, chunk_ms)
    sample = (
        b'{"type":"response.output_audio.delta","response_id":"resp_aaaaaaaaaaaaaaaaaaaaa",'
        b'"item_id":"item_aaaaaaaaaaaaaaaaaaaaa","output_index":0,"content_index":0,'
        b'"event_id":"event_aaaaaaaaaaaaaaaaaaaaa","delta":"'
        + b"A" * (chunk_ms * 48 * 4 // 3)
        + b'"}'
    )
    floor = await measure_floor(sample, emulated["deltas"])
    rate = emulated["deltas"] / emulated["seconds"]
    floor_rate = floor["deltas"] / floor["seconds"]
    print(
        json.dumps(
            {
                "benchmark": "emulator_throughput",
                "chunk_ms": chunk_ms,
                "responses": responses,
                "audio_delta_events": emulated["deltas"],
                "frames": emulated["frames"],
                "seconds": round(emulated["seconds"], 3),
                "audio_deltas_per_s": round(rate),
                "audio_seconds_per_s": round(rate * chunk_ms / 1000, 1),
                "floor_raw_frames_per_s": round(floor_rate),
                "ratio_to_floor": round(rate / floor_rate, 3),
                "target_deltas_per_s": 20_000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=10)
    parser.add_argument("--sentences", type=int, default=40, help="sentences per answer")
    parser.add_argument("--chunk-ms", type=int, default=20)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        asyncio.run(client_main(options.client, options.responses, options.raw))
    else:
        asyncio.run(main(options.responses, options.sentences, options.chunk_ms))
