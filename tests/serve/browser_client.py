"""A client of ``WS /browser`` written from ``docs/browser-protocol.md``."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import websockets


class PageClient:
    def __init__(self, url: str, rate: int = 16000, **connect: Any) -> None:
        self.url = url
        self.rate = rate
        self.connect_kwargs = connect
        self.ws: Any = None
        self.controls: list[dict[str, Any]] = []
        self.audio: dict[str | None, int] = {}  # item -> bytes received
        self.item: str | None = None
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self, resume: str | None = None) -> dict[str, Any]:
        self.closed.clear()
        self.ws = await websockets.connect(self.url, **self.connect_kwargs)
        await self.ws.send(
            orjson.dumps(
                {
                    "type": "hello",
                    "protocol": 1,
                    "input_sample_rate": self.rate,
                    "output_sample_rate": self.rate,
                    "resume": resume,
                }
            ).decode()
        )
        ready = orjson.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ready["type"] == "ready", ready
        self._reader = asyncio.create_task(self._read())
        return ready

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.audio[self.item] = self.audio.get(self.item, 0) + len(message)
                    continue
                control = orjson.loads(message)
                self.controls.append(control)
                if control["type"] == "audio_item":
                    self.item = control["item_id"]
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send(self, control: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(control).decode())

    async def speak(self, pcm16: bytes, *, realtime: bool = True) -> None:
        """Send audio in 20 ms binary frames."""
        size = self.rate // 50 * 2
        for start in range(0, len(pcm16), size):
            await self.ws.send(pcm16[start : start + size])
            if realtime:
                await asyncio.sleep(0.02)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.controls if c["type"] == kind]

    def received_ms(self, item: str) -> float:
        return self.audio.get(item, 0) / 2 / self.rate * 1000

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
