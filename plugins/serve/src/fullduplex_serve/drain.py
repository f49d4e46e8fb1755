"""Graceful drain on SIGTERM: what a process manager or Kubernetes sends before a restart.

uvicorn's own SIGTERM handling closes every WebSocket at once (code 1012),
which would drop every call. :class:`DrainingServer` turns the first SIGTERM
into a drain instead (:meth:`~fullduplex_serve.app._Server.drain`: ``/healthz``
503, new sockets refused with 503, running calls finish within the grace
period, the rest are handed over), and only then lets uvicorn shut down.
A later SIGTERM while draining is ignored (Kubernetes may send one after its
``preStop`` hook); SIGINT (Ctrl-C) still stops at once.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from .calls import logger

if TYPE_CHECKING:
    import socket


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains the app on SIGTERM before stopping."""

    def __init__(self, app_server: Any, grace_s: float, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._app_server = app_server
        self._grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        loop = self._loop
        if sig != signal.SIGTERM or loop is None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        if self._drain is None:
            loop.call_soon_threadsafe(self._begin)
        else:
            logger.info("SIGTERM while draining: ignored (SIGINT stops at once)")

    def _begin(self) -> None:
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(
                self._run_drain(), name="fullduplex-drain"
            )

    async def _run_drain(self) -> None:
        try:
            await self._app_server.drain(self._grace_s)
        except Exception:
            logger.exception("draining failed; stopping anyway")
        finally:
            self.should_exit = True


__all__ = ["DrainingServer"]
