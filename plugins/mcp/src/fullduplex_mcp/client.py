"""``MCPTools``: every tool of one MCP server, for a fullduplex agent.

Made with :meth:`MCPTools.stdio` (the server is a subprocess speaking over its
stdin/stdout) or :meth:`MCPTools.http` (a streamable-HTTP endpoint). It is a
:class:`~fullduplex.tool_providers.ToolProvider`: ``start()`` reaches the server
and returns its tools as :class:`~fullduplex_mcp.tool.MCPTool` objects,
``stop()`` ends it. Give it to ``BidiAgent(tools=[...])``, which does both
and passes tool-list changes on to the model; outside an agent, use it as an
async context manager and read ``mcp.tools``.

Failures stay inside the conversation: a server that crashes mid-call gives
that call an error result, and the next call starts the server again, at
most ``max_restarts`` times in a row without a successful call in between.
When the server says its tool list changed, the list is fetched again,
:attr:`tools` is replaced and the ``on_change`` callbacks hear it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Self, TextIO

from mcp.shared.exceptions import MCPError

from fullduplex.errors import ConfigurationError
from mcp import StdioServerParameters, stdio_client
from mcp import types as mcp_types

from .provider import ToolsChanged
from .session import Connection, OpenTransport
from .tool import MCPServerError, MCPTool, local_name

logger = logging.getLogger("fullduplex_mcp")

_CONNECTION_CLOSED = -32000  # the JSON-RPC code the mcp package uses for a lost connection
_LIST_CHANGED = "notifications/tools/list_changed"


def _positive(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        accepted = "a positive number of seconds" + (" or None" if allow_none else "")
        raise ConfigurationError(f"{name}: got {value!r}; accepted: {accepted}")


class MCPTools:
    """The tools of one MCP server (see the module docstring).

    Args:
        open_transport: opens the connection (use :meth:`stdio` or :meth:`http`).
        label: how messages name this server.
        prefix: put before every tool name (``prefix_name``), to keep two
            servers' tools apart.
        timeout_s: time limit of one call (None: the agent's ``tool_timeout_s``).
        cancel_on_interruption: cancel running calls when the user barges in
            (the server is told through MCP's cancellation).
        start_timeout_s: how long starting (or restarting) the server may take.
        max_restarts: restarts in a row, without a successful call between
            them, before calls fail without trying again.
    """

    def __init__(
        self,
        open_transport: OpenTransport,
        *,
        label: str,
        prefix: str | None = None,
        timeout_s: float | None = None,
        cancel_on_interruption: bool = False,
        start_timeout_s: float = 30.0,
        max_restarts: int = 3,
    ) -> None:
        _positive("timeout_s", timeout_s, allow_none=True)
        _positive("start_timeout_s", start_timeout_s)
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise ConfigurationError(
                f"max_restarts: got {max_restarts!r}; accepted: a whole number >= 0"
            )
        if prefix is not None and (not isinstance(prefix, str) or not prefix):
            raise ConfigurationError(f"prefix: got {prefix!r}; accepted: non-empty text or None")
        self._open_transport = open_transport
        self.label = label
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.cancel_on_interruption = cancel_on_interruption
        self.start_timeout_s = float(start_timeout_s)
        self.max_restarts = max_restarts
        self._tools: list[MCPTool] = []
        self._connection: Connection | None = None
        self._lock = asyncio.Lock()
        self._restarts = 0
        self._started = False
        self._callbacks: list[ToolsChanged] = []
        self._background: set[asyncio.Task[None]] = set()
        #: how many times the server was started (1 after start(); +1 per restart)
        self.launches = 0

    # ------------------------------------------------------------ constructors
    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        errlog: TextIO | None = None,
        **options: Any,
    ) -> Self:
        """A server run as a subprocess (``command args...``), spoken to over stdio.

        ``env`` is added to the few variables the mcp package passes on (PATH,
        HOME...); the server's stderr goes to ``errlog`` (default: ours).
        """
        if not isinstance(command, str) or not command.strip():
            raise ConfigurationError(f"command: got {command!r}; accepted: a program to run")
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise ConfigurationError(f"args: got {args!r}; accepted: a list of strings")
        if env is not None and not (
            isinstance(env, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        ):
            raise ConfigurationError("env: accepted: a mapping of text to text, or None")
        parameters = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
        )

        def open_transport() -> AbstractAsyncContextManager[Any]:
            return stdio_client(parameters, errlog=errlog if errlog is not None else _stderr())

        options.setdefault("label", " ".join([command, *args]))
        return cls(open_transport, **options)

    @classmethod
    def http(cls, url: str, headers: Mapping[str, str] | None = None, **options: Any) -> Self:
        """A streamable-HTTP server at ``url`` (``headers`` go with every request).

        Header values (tokens) are never logged; the label is the URL.
        """
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"url: got {url!r}; accepted: an http:// or https:// URL")
        sent = dict(headers or {})

        @asynccontextmanager
        async def open_transport() -> Any:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            async with (
                create_mcp_http_client(headers=sent) as http_client,
                streamable_http_client(url, http_client=http_client) as streams,
            ):
                yield streams

        options.setdefault("label", url)
        return cls(open_transport, **options)

    # --------------------------------------------------------------- lifecycle
    @property
    def tools(self) -> list[MCPTool]:
        """The server's tools as last listed (empty before :meth:`start`)."""
        return list(self._tools)

    def on_change(self, callback: ToolsChanged) -> None:
        """Hear the new tool list each time the server's tools change."""
        self._callbacks.append(callback)

    async def start(self) -> list[MCPTool]:
        """Start (or reach) the server and list its tools; raises MCPServerError on failure."""
        async with self._lock:
            if not self._started:
                await self._launch()
                self._started = True
        return self.tools

    async def stop(self) -> None:
        """Stop the server (the subprocess ends) and any refresh under way."""
        self._started = False
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=5.0)
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _launch(self) -> None:
        """Open a fresh connection and list the tools (the lock is held)."""
        old, self._connection = self._connection, None
        if old is not None:
            await old.close()
        connection = Connection(self._open_transport, self._on_message, self.label)
        self.launches += 1
        try:
            await connection.open(self.start_timeout_s)
            listing = await asyncio.wait_for(self._list(connection), self.start_timeout_s)
        except TimeoutError:
            await connection.close()
            raise MCPServerError(
                f"MCP server {self.label!r} did not start within {self.start_timeout_s:g} s "
                "(start_timeout_s)"
            ) from None
        except Exception as exc:
            await connection.close()
            raise MCPServerError(
                f"MCP server {self.label!r} could not start: {_describe(exc)}"
            ) from exc
        self._connection = connection
        await self._replace_tools(listing)

    @staticmethod
    async def _list(connection: Connection) -> list[dict[str, Any]]:
        session = connection.session
        assert session is not None
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(
                t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in page.tools
            )
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _replace_tools(self, listing: list[dict[str, Any]]) -> None:
        """Make :attr:`tools` match ``listing``; tell the callbacks when it changed."""
        current = {tool.remote_name: tool for tool in self._tools}
        fresh: list[MCPTool] = []
        names: set[str] = set()
        for entry in listing:
            remote = str(entry.get("name", ""))
            name = local_name(remote, self.prefix)
            if not remote or name in names:
                logger.warning(
                    "MCP server %s: tool %r skipped (empty or duplicate name)", self.label, remote
                )
                continue
            names.add(name)
            description = str(entry.get("description") or entry.get("title") or "")
            tool = MCPTool(
                self,
                remote,
                name=name,
                description=description,
                input_schema=entry.get("inputSchema"),
                timeout_s=self.timeout_s,
                cancel_on_interruption=self.cancel_on_interruption,
            )
            kept = current.get(remote)
            fresh.append(kept if kept is not None and kept.spec == tool.spec else tool)
        changed = [t.spec for t in fresh] != [t.spec for t in self._tools]
        self._tools = fresh
        if changed and self._started:
            for callback in list(self._callbacks):
                try:
                    outcome = callback(self.tools)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception:
                    logger.exception("MCP server %s: an on_change callback failed", self.label)

    async def _on_message(self, message: Any) -> None:
        """A notification or a transport error from the server (runs in its reader)."""
        if isinstance(message, Exception):
            logger.debug("MCP server %s: transport error %r", self.label, message)
            return
        notification = getattr(message, "root", message)
        if getattr(notification, "method", None) == _LIST_CHANGED:
            # never list inline: this handler runs in the session's own reader
            task = asyncio.create_task(self._refresh(), name=f"mcp-refresh-{self.label}")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refresh(self) -> None:
        connection = self._connection
        if connection is None or not connection.alive:
            return
        try:
            listing = await asyncio.wait_for(self._list(connection), self.start_timeout_s)
        except Exception as exc:
            logger.warning(
                "MCP server %s: listing the changed tools failed: %s", self.label, _describe(exc)
            )
            return
        await self._replace_tools(listing)

    # ------------------------------------------------------------------- calls
    async def _session(self) -> Connection:
        """The live connection, restarting the server when it died (bounded)."""
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.alive:
                return connection
            if self._restarts >= self.max_restarts:
                raise MCPServerError(
                    f"MCP server {self.label!r} is down and was restarted {self._restarts} "
                    "time(s) in a row without success; giving up (max_restarts)"
                )
            self._restarts += 1
            logger.warning("MCP server %s: restarting it (attempt %d)", self.label, self._restarts)
            await self._launch()
            self._started = True
            assert self._connection is not None
            return self._connection

    async def call(self, remote_name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool on the server; returns the result as wire JSON.

        Raises :class:`MCPServerError` when the server refuses the request or
        the connection fails (the next call then restarts the server).
        """
        connection = await self._session()
        session = connection.session
        assert session is not None
        try:
            result = await session.call_tool(remote_name, arguments)
        except MCPError as exc:
            if exc.code == _CONNECTION_CLOSED:
                connection.alive = False
                raise MCPServerError(
                    f"MCP server {self.label!r} stopped during the call to {remote_name!r} "
                    f"({exc.message}); it will be restarted on the next call"
                ) from exc
            raise MCPServerError(
                f"MCP server {self.label!r} refused the call to {remote_name!r}: {exc.message}"
            ) from exc
        except Exception as exc:
            connection.alive = False
            raise MCPServerError(
                f"MCP server {self.label!r} failed during the call to {remote_name!r} "
                f"({_describe(exc)}); it will be restarted on the next call"
            ) from exc
        self._restarts = 0
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _stderr() -> TextIO:
    """Our stderr when it is a real file (the server writes to it), else the process's own."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    raise MCPServerError("no stderr file for the MCP server; pass errlog=")


def _describe(exc: BaseException) -> str:
    """One line for an exception, unwrapping anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["MCPTools"]
