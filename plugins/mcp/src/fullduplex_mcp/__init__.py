"""Tools from Model Context Protocol servers for fullduplex agents.

``MCPTools.stdio(command, args)`` or ``MCPTools.http(url)`` reaches one
server. It is a tool provider (:class:`~fullduplex.tool_providers.ToolProvider`,
re-exported here): give it to the agent, which starts the server before it
connects, stops it with itself, and passes tool-list changes on to the model::

    agent = BidiAgent(model, tools=[MCPTools.stdio("python", ["server.py"]), calculator])

Its tools are ordinary :class:`~fullduplex.tools.AgentTool` objects the agent
runs like local ones; ``async with MCPTools...(...) as mcp`` and ``mcp.tools``
give them outside an agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.lazyref import lazy_exports

if TYPE_CHECKING:
    from .client import MCPTools
    from .provider import ToolProvider, ToolsChanged
    from .tool import MCPServerError, MCPTool

__all__ = ["MCPServerError", "MCPTool", "MCPTools", "ToolProvider", "ToolsChanged"]

#: where each public name lives; imported on first use, so loading the plugin
#: (for ``fullduplex plugins`` or ``--version``) does not import the ``mcp`` package
_LAZY = {
    "MCPTools": ".client",
    "ToolProvider": ".provider",
    "ToolsChanged": ".provider",
    "MCPServerError": ".tool",
    "MCPTool": ".tool",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
