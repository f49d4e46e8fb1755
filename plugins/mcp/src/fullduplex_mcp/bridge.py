"""MCP tool providers on an event loop of their own, in a thread.

The command line builds its agent before the conversation's event loop exists
(``asyncio.run`` starts it), and an MCP connection belongs to the loop that
opened it. So ``fullduplex chat --mcp`` starts the servers on a private loop
in a daemon thread and gives the agent tools whose calls hop to that loop and
back; cancelling a call (barge-in, timeout) cancels it on the private loop
too. Once core starts providers itself (see the ToolProvider contract), the
command line can hand it the providers and drop this bridge.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from .client import MCPTools
from .tool import MCPTool


class _ForwardingCaller:
    """Runs a provider's call on the provider's loop, from any other loop."""

    def __init__(self, provider: MCPTools, loop: asyncio.AbstractEventLoop) -> None:
        self._provider = provider
        self._loop = loop

    async def call(self, remote_name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(
            self._provider.call(remote_name, arguments), self._loop
        )
        return await asyncio.wrap_future(future)


class ThreadedProviders:
    """``with ThreadedProviders([...]) as tools:`` the providers' tools, usable on any loop."""

    def __init__(self, providers: Sequence[MCPTools], timeout_s: float = 60.0) -> None:
        self.providers = list(providers)
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> list[MCPTool]:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="fullduplex-mcp", daemon=True)
        self._thread.start()
        tools: list[MCPTool] = []
        try:
            for provider in self.providers:
                started = asyncio.run_coroutine_threadsafe(provider.start(), loop)
                caller = _ForwardingCaller(provider, loop)
                tools.extend(
                    MCPTool(
                        caller,
                        tool.remote_name,
                        name=tool.name,
                        description=tool.description,
                        input_schema=tool.spec.parameters,
                        timeout_s=tool.timeout_s,
                        cancel_on_interruption=tool.cancel_on_interruption,
                    )
                    for tool in started.result(self.timeout_s)
                )
        except BaseException:
            self.close()
            raise
        return tools

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every provider (bounded), then the loop and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for provider in self.providers:
            stopping = asyncio.run_coroutine_threadsafe(provider.stop(), loop)
            try:
                stopping.result(10.0)
            except Exception:  # a provider that fails to stop must not keep the others
                stopping.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10.0)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None


__all__ = ["ThreadedProviders"]
