"""``--record FILE``: both directions of every connection, as JSON lines.

Someone debugging their own client against the emulator wants the exact
conversation on the wire: what their client sent (even what the emulator could
not parse) and every frame the emulator sent back, in order. Each line is one
message::

    {"t": 1733050000.123, "connection": 0, "direction": "client", "event": {...}}
    {"t": 1733050000.125, "connection": 0, "direction": "server", "event": {...}}

A message that is not a JSON object is kept as text under ``"raw"``, a binary one
as its size under ``"binary_bytes"``. Writing to the file is blocking, so it
happens on a writer thread fed through a queue: recording never blocks the event
loop, and ``close`` (awaited by the emulator's ``stop``) drains the queue first.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from typing import IO, Any, Final, Literal

import orjson

Direction = Literal["client", "server"]

_STOP: Final = b""


def _line(connection: int, direction: Direction, body: bytes) -> bytes:
    head = orjson.dumps(
        {"t": round(time.time(), 6), "connection": connection, "direction": direction}
    )
    return head[:-1] + b"," + body + b"}\n"


class WireRecorder:
    """Appends every message of every connection to a JSON-lines file, off the event loop."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # opened here, so a path that cannot be written fails at once, where the user set it
        self._file: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 (closed by the writer thread)
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._write_loop, name="emulator-wire-recorder", daemon=True
        )
        self._thread.start()
        self._closed = False

    def client(self, connection: int, message: str | bytes | dict[str, Any]) -> None:
        """Record what a client sent (decoded JSON object, text that is not one, or binary)."""
        if isinstance(message, dict):
            body = b'"event":' + orjson.dumps(message)
        elif isinstance(message, bytes):
            body = b'"binary_bytes":' + str(len(message)).encode()
        else:
            body = b'"raw":' + orjson.dumps(message)
        self._put(_line(connection, "client", body))

    def server(self, connection: int, data: bytes) -> None:
        """Record an encoded server frame (kept as text when a fault made it malformed)."""
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError:
            body = b'"raw":' + orjson.dumps(data.decode("utf-8", "replace"))
        else:
            body = b'"event":' + data
        self._put(_line(connection, "server", body))

    def _put(self, line: bytes) -> None:
        if not self._closed:
            self._queue.put(line)

    def _write_loop(self) -> None:
        with self._file:
            while True:
                line = self._queue.get()
                if line == _STOP:
                    return
                self._file.write(line)
                if self._queue.empty():
                    self._file.flush()

    async def close(self) -> None:
        """Write what is queued, close the file and end the writer thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
