"""The tool-provider contract: a source of tools that lives as long as a conversation.

Core's ``BidiAgent(tools=[...])`` takes tools that exist before the
conversation. A provider's tools exist only once something is running (an MCP
server's process or session), and may change while the conversation goes on.
This protocol is the smallest contract the agent needs to own such a source:
start it before the model connects (its tools join the session's tools), stop
it with the agent, and hear when its tool list changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from fullduplex.tools import AgentTool

#: called with a provider's new tool list after the server said it changed
ToolsChanged = Callable[[Sequence[AgentTool]], Awaitable[None] | None]


@runtime_checkable
class ToolProvider(Protocol):
    """A source of :class:`~fullduplex.tools.AgentTool` objects with a lifetime."""

    async def start(self) -> Sequence[AgentTool]:
        """Bring the source up and return its tools (idempotent once started)."""
        ...

    async def stop(self) -> None:
        """Release everything :meth:`start` acquired; safe to call twice or unstarted."""
        ...

    def on_change(self, callback: ToolsChanged) -> None:
        """Call ``callback`` with the new tool list whenever the source's tools change."""
        ...


__all__ = ["ToolProvider", "ToolsChanged"]
