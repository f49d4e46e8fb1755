"""``MCPTool``: one tool of an MCP server, as an :class:`~fullduplex.tools.AgentTool`.

It is a real ``AgentTool`` so the agent treats it like a local tool (the
same timeouts, cancellation on interruption, hooks and history): only the
spec (the server's name, description and input schema) and :meth:`invoke`
(a ``tools/call`` on the server) differ. Arguments are checked by the
server, which owns the schema; its complaints come back as error results.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from fullduplex.errors import ToolError
from fullduplex.events import ToolResultEvent
from fullduplex.tools import AgentTool, ToolCall, ToolContext, ToolSpec, error_result

from .results import map_result

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class MCPServerError(ToolError):
    """An MCP server could not answer a call (refused, crashed, or could not start)."""


class RemoteCaller(Protocol):
    """What runs a ``tools/call``: returns the result as wire JSON or raises MCPServerError."""

    async def call(self, remote_name: str, arguments: dict[str, Any]) -> dict[str, Any]: ...


def local_name(remote_name: str, prefix: str | None = None) -> str:
    """A name providers accept (1-64 of ``[A-Za-z0-9_-]``) for a server's tool name."""
    name = _UNSAFE.sub("_", f"{prefix}_{remote_name}" if prefix else remote_name)
    return name[:64] or "tool"


def _object_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The input schema as providers want it: an object, with properties, no title."""
    result = dict(schema or {})
    result.pop("title", None)
    result.setdefault("type", "object")
    result.setdefault("properties", {})
    return result


class MCPTool(AgentTool):
    """A tool served by an MCP server; ``remote_name`` is its name on the server."""

    def __init__(
        self,
        caller: RemoteCaller,
        remote_name: str,
        *,
        name: str | None = None,
        description: str = "",
        input_schema: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        cancel_on_interruption: bool = False,
    ) -> None:
        tool_name = name or local_name(remote_name)

        async def remote() -> None:
            """Stands for the server's tool; :meth:`MCPTool.invoke` does the calling."""
            raise ToolError(f"tool {tool_name!r} runs on an MCP server; call it through invoke()")

        remote.__name__ = remote.__qualname__ = tool_name
        super().__init__(
            remote,
            name=tool_name,
            description=description,
            timeout_s=timeout_s,
            cancel_on_interruption=cancel_on_interruption,
        )
        self.caller = caller
        self.remote_name = remote_name
        # the server's own schema stands for the one AgentTool would build from hints
        self._spec = ToolSpec(tool_name, description, _object_schema(input_schema))

    def __repr__(self) -> str:
        return f"<MCPTool {self.name} (server tool {self.remote_name!r})>"

    def __call__(self, *args: Any, **arguments: Any) -> Any:
        """``await tool(text="hi")``: the call's result as the model would read it."""
        if args:
            raise ToolError(f"tool {self.name!r}: pass arguments by name")
        return self._direct(arguments)

    async def _direct(self, arguments: dict[str, Any]) -> str:
        result = await self.invoke(ToolCall("direct", self.name, arguments))
        return result.content

    def validate(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Only the shape (an object): the server validates against its own schema."""
        if not isinstance(arguments, Mapping):
            raise ValueError(f"arguments must be an object, got {type(arguments).__name__}")
        return [], dict(arguments)

    async def invoke(self, call: ToolCall, context: ToolContext | None = None) -> ToolResultEvent:
        """One ``tools/call``; failures, timeouts and server errors become error results."""
        arguments: Any = call.arguments
        if not arguments and call.raw_arguments.strip():
            try:
                arguments = json.loads(call.raw_arguments)
            except ValueError as exc:
                return error_result(call, f"arguments are not valid JSON ({exc})")
        try:
            _, kwargs = self.validate(arguments)
        except ValueError as exc:
            return error_result(call, f"invalid arguments for tool {self.name!r}: {exc}")
        try:
            async with asyncio.timeout(self.timeout_s):
                wire = await self.caller.call(self.remote_name, kwargs)
        except TimeoutError:
            return error_result(call, f"tool {self.name!r} timed out after {self.timeout_s:g} s")
        except MCPServerError as exc:
            return error_result(call, str(exc))
        content, status = map_result(wire)
        return ToolResultEvent(call.call_id, self.name, content, status, call.response_id)


__all__ = ["MCPServerError", "MCPTool", "RemoteCaller", "local_name"]
