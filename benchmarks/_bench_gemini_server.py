"""A minimal Gemini Live websocket server for the benchmarks, on raw asyncio.

The Gemini counterpart of ``_bench_server.py`` (and built on its websocket
framing): it must never be what limits a run, so it speaks only what the
provider's handshake and the throughput scenario need and writes pre-built
frames straight to the socket. Like the service, it sends every frame binary
(UTF-8 JSON in opcode 2).

The client's first frame is ``setup`` (any content); the server answers
``{"setupComplete": {}}``. A user turn (``clientContent`` turn, or
``realtimeInput.text``) whose text is a JSON command starts a scenario:

- ``burst``: ``frames`` ``serverContent.modelTurn.parts[].inlineData`` frames
  (20 ms of PCM16 at 24 kHz each, standard base64), written as fast as the
  socket takes them, then ``generationComplete`` and ``turnComplete``.

Control is the same as ``_bench_server.py``: ``{"port": N}`` on the first line,
EOF on stdin stops it.

    python benchmarks/_bench_gemini_server.py [--cpu 1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import sys
import threading
from typing import Any

import orjson

from _bench_server import _GUID, CHUNK_BYTES, STATS, BenchConnection, frame_header

_SETUP_COMPLETE = orjson.dumps({"setupComplete": {}})
_GENERATION_COMPLETE = orjson.dumps({"serverContent": {"generationComplete": True}})
_TURN_COMPLETE = orjson.dumps({"serverContent": {"turnComplete": True}})


def binary_frame(payload: bytes) -> bytes:
    """An unmasked, final binary frame (the service sends its JSON this way)."""
    return frame_header(len(payload), 0x2) + payload


def audio_payload(audio_b64: bytes) -> bytes:
    """One ``modelTurn`` frame carrying one chunk of 24 kHz PCM16."""
    return (
        b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":'
        b'{"mimeType":"audio/pcm;rate=24000","data":"' + audio_b64 + b'"}}]}}}'
    )


def _turn_text(message: dict[str, Any]) -> str | None:
    """The text of a user turn in either spelling the provider may send, else None."""
    content = message.get("clientContent") or message.get("client_content")
    if isinstance(content, dict):
        for turn in content.get("turns") or ():
            for part in turn.get("parts") or ():
                if isinstance(part.get("text"), str):
                    return str(part["text"])
    realtime = message.get("realtimeInput") or message.get("realtime_input")
    if isinstance(realtime, dict) and isinstance(realtime.get("text"), str):
        return str(realtime["text"])
    return None


class GeminiBenchConnection(BenchConnection):
    """One client: the Live handshake (setup, setupComplete) and the burst scenario."""

    def handshake(self, request: bytes) -> None:
        key = b""
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        self.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True
        STATS.connections += 1

    def send_event(self, event: dict[str, Any]) -> None:
        self.write(binary_frame(orjson.dumps(event)))

    def on_message(self, payload: bytes) -> None:
        if payload.startswith(b'{"realtimeInput":{"audio"'):
            STATS.appends += 1
            return
        message = orjson.loads(payload)
        if "setup" in message:
            self.write(binary_frame(_SETUP_COMPLETE))
            return
        text = _turn_text(message)
        if text is None or not text.startswith("{"):
            return
        command = orjson.loads(text)
        if command.get("op") == "burst":
            self.spawn(self.gemini_burst(int(command["frames"])))
        else:
            self.write(binary_frame(_GENERATION_COMPLETE) + binary_frame(_TURN_COMPLETE))

    async def gemini_burst(self, frames: int) -> None:
        one = binary_frame(audio_payload(base64.b64encode(bytes(CHUNK_BYTES))))
        batch = one * 256
        left = frames
        while left > 0:
            await self.can_write.wait()
            if self.transport is None or self.transport.is_closing():
                return
            count = min(256, left)
            self.write(batch if count == 256 else one * count)
            left -= count
        await self.can_write.wait()
        self.write(binary_frame(_GENERATION_COMPLETE) + binary_frame(_TURN_COMPLETE))


async def serve(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
        with contextlib.suppress(PermissionError):
            os.nice(-10)  # the machine is shared: keep other jobs off the server's core
    loop = asyncio.get_running_loop()
    server = await loop.create_server(GeminiBenchConnection, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(orjson.dumps({"port": port}).decode(), flush=True)
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stats":
                loop.call_soon_threadsafe(report)
        loop.call_soon_threadsafe(finish)

    def report() -> None:
        print(orjson.dumps(STATS.snapshot()).decode(), flush=True)
        STATS.reset()

    threading.Thread(target=read_stdin, daemon=True).start()
    async with server:
        await done


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    options = parser.parse_args()
    asyncio.run(serve(options.cpu))
