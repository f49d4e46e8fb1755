"""A Twilio Media Streams client written from ``reference/twilio-media-streams.md``.

It behaves as Twilio does on a bidirectional stream: ``connected`` then ``start``, the
caller's audio as 20 ms μ-law ``media`` frames every 20 ms for the whole call (silence
included), and a player that plays what the server sends in real time: a ``mark`` is
echoed once the audio queued before it has played; ``clear`` empties the queue and echoes
the marks still waiting at once (they were dropped, not played).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import orjson
import websockets

FRAME = 160  # 20 ms of μ-law at 8 kHz
SILENCE = b"\xff" * FRAME


class TwilioCaller:
    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.stream_sid = "MZ00000000000000000000000000000001"
        self.ws: Any = None
        self._seq = 0
        self._chunk = 0
        self._speech = bytearray()
        self.speech_ended_at: float | None = None
        # the player
        self.playout_end = 0.0  # when everything queued so far will have played
        self.queued: list[tuple[float, str]] = []  # (due time, mark name)
        self.echoed: list[tuple[str, float]] = []  # (mark name, answer ms played at the mark)
        self.media: list[tuple[float, bytes]] = []  # (arrival time, μ-law payload)
        self.answer_ms = 0.0  # audio received since the last clear / start
        self._mark_pos: dict[str, float] = {}
        self.clears: list[float] = []
        self.echoed_before_clear: list[tuple[str, float]] = []
        self.closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> TwilioCaller:
        self.ws = await websockets.connect(self.url, additional_headers=self.headers)
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self._seq = 1
        await self._send(
            {
                "event": "start",
                "sequenceNumber": "1",
                "start": {
                    "accountSid": "AC0001",
                    "streamSid": self.stream_sid,
                    "callSid": "CA0001",
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {},
                },
                "streamSid": self.stream_sid,
            }
        )
        self._t0 = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._microphone()),
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._player()),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ws.close()

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    def say(self, ulaw: bytes) -> None:
        """Speak this μ-law audio over the next frames (it replaces the silence)."""
        self._speech += ulaw

    async def stop(self) -> None:
        await self._send(
            {
                "event": "stop",
                "sequenceNumber": self._next_seq(),
                "stop": {"accountSid": "AC0001", "callSid": "CA0001"},
                "streamSid": self.stream_sid,
            }
        )

    async def _microphone(self) -> None:
        start = time.monotonic()
        n = 0
        while True:
            n += 1
            speaking = bool(self._speech)
            payload = bytes(self._speech[:FRAME]) if speaking else SILENCE
            del self._speech[:FRAME]
            if speaking and not self._speech:
                self.speech_ended_at = time.monotonic()
            payload = payload.ljust(FRAME, b"\xff")
            self._chunk += 1
            await self._send(
                {
                    "event": "media",
                    "sequenceNumber": self._next_seq(),
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str(n * 20),
                        "payload": base64.b64encode(payload).decode(),
                    },
                    "streamSid": self.stream_sid,
                }
            )
            await asyncio.sleep(max(0.0, start + n * 0.02 - time.monotonic()))

    async def _listen(self) -> None:
        try:
            async for raw in self.ws:
                message = orjson.loads(raw)
                assert message["streamSid"] == self.stream_sid, message
                now = time.monotonic()
                if message["event"] == "media":
                    audio = base64.b64decode(message["media"]["payload"])
                    self.media.append((now, audio))
                    self.playout_end = max(now, self.playout_end) + len(audio) / 8000
                    self.answer_ms += len(audio) / 8
                elif message["event"] == "mark":
                    name = message["mark"]["name"]
                    self._mark_pos[name] = self.answer_ms
                    self.queued.append((max(now, self.playout_end), name))
                elif message["event"] == "clear":
                    self.clears.append(now)
                    self.echoed_before_clear = list(self.echoed)
                    self.playout_end = now
                    dropped, self.queued = self.queued, []
                    for _due, name in dropped:  # echoed at once: dropped, not played
                        await self._echo(name)
                    self.answer_ms = 0.0
                else:
                    raise AssertionError(f"the server sent a message Twilio refuses: {message}")
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def _echo(self, name: str) -> None:
        await self._send(
            {
                "event": "mark",
                "sequenceNumber": self._next_seq(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    async def _player(self) -> None:
        while True:
            now = time.monotonic()
            while self.queued and self.queued[0][0] <= now:
                _due, name = self.queued.pop(0)
                self.echoed.append((name, self._mark_pos.pop(name, 0.0)))
                await self._echo(name)
            await asyncio.sleep(0.005)

    def played_ms(self) -> float:
        """Answer audio acknowledged as played so far."""
        return self.echoed[-1][1] if self.echoed else 0.0
