"""A tiny scripted Realtime server on loopback, for what the emulator cannot do.

It confirms the session like the service (``session.created`` on connect,
``session.updated`` for the ``session.update``) and then hands every client
event to the test's script, which may send anything at all back: frames of
the wrong shape, huge frames, close codes with chosen reasons, or nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

Script = Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]
Gate = Callable[[ServerConnection, Request], Response | None]


async def _ignore(ws: ServerConnection, event: dict[str, Any]) -> None:
    return None


class RawServer:
    """``async with RawServer(script) as server:``; point ``base_url`` at ``server.base_url``."""

    def __init__(self, script: Script = _ignore, *, gate: Gate | None = None) -> None:
        self.script = script
        self.gate = gate
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self._server: Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        await ws.send(json.dumps({"type": "session.created", "session": {"id": "sess_raw"}}))
        # the test's script or the client closed it: nothing to report
        with contextlib.suppress(ConnectionClosed):
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        async for raw in ws:
            event = json.loads(raw)
            self.received.append(event)
            if event.get("type") == "session.update":
                await ws.send(
                    json.dumps({"type": "session.updated", "session": event.get("session")})
                )
                continue
            await self.script(ws, event)

    async def __aenter__(self) -> RawServer:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self.gate, max_size=None
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def frame(**fields: Any) -> str:
    """A server event as a JSON text frame."""
    return json.dumps(fields)


async def answer(ws: ServerConnection, rid: str, text: str = "ok") -> None:
    """A complete short text response."""
    await ws.send(frame(type="response.created", response={"id": rid, "status": "in_progress"}))
    await ws.send(
        frame(type="response.output_text.done", response_id=rid, item_id=f"item_{rid}", text=text)
    )
    await ws.send(
        frame(type="response.done", response={"id": rid, "status": "completed", "output": []})
    )
