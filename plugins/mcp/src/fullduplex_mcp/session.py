"""One live connection to an MCP server: open it, keep it, close it.

The mcp package's transports and ``ClientSession`` are anyio context
managers that must be entered and left by the same task, so each connection
owns one task that enters them, initializes the session, then waits to be
told to close. Calls from other tasks use the session meanwhile (requests are
multiplexed over the one connection, so calls run concurrently).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.client.session import MessageHandlerFnT

from mcp import ClientSession

logger = logging.getLogger("fullduplex_mcp")

#: opens the transport; yields a sequence whose first two items are (read, write) streams
OpenTransport = Callable[[], AbstractAsyncContextManager[Any]]
#: receives what the server sends unasked (notifications, transport errors)
OnMessage = MessageHandlerFnT


class Connection:
    """One server connection (one subprocess for stdio, one HTTP session)."""

    def __init__(self, open_transport: OpenTransport, on_message: OnMessage, label: str) -> None:
        self._open_transport = open_transport
        self._on_message = on_message
        self.label = label
        self.session: ClientSession | None = None
        #: false once the connection failed or closed; the owner opens a new one
        self.alive = False
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self, timeout_s: float) -> ClientSession:
        """Start the server (or reach it) and initialize; bounded by ``timeout_s``."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[ClientSession] = loop.create_future()
        self._task = asyncio.create_task(self._run(ready), name=f"mcp-{self.label}")
        try:
            async with asyncio.timeout(timeout_s):
                session = await asyncio.shield(ready)
        except BaseException:
            await self.close()
            raise
        self.session = session
        self.alive = True
        return session

    async def _run(self, ready: asyncio.Future[ClientSession]) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._open_transport())
                session = await stack.enter_async_context(
                    ClientSession(streams[0], streams[1], message_handler=self._on_message)
                )
                await session.initialize()
                if not ready.done():
                    ready.set_result(session)
                await self._closing.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as exc:  # an ExceptionGroup from anyio, an OSError, ...
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.debug("MCP server %s: connection ended: %r", self.label, exc)
        finally:
            self.alive = False

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close the session and the transport (the subprocess ends); bounded, never raises."""
        self.alive = False
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        # Before the session is up, the task is starting the server or waiting
        # for its answer to initialize, not for _closing: cancel it now (the
        # transport still ends the subprocess, shielded and bounded).
        done: set[asyncio.Task[None]] = set()
        if self.session is not None:
            done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=timeout_s)
        if task.done() and not task.cancelled() and task.exception() is not None:
            logger.debug("MCP server %s: close failed: %r", self.label, task.exception())


__all__ = ["Connection", "OnMessage", "OpenTransport"]
