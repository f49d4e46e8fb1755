"""Tools from Model Context Protocol servers for fullduplex agents.

``MCPTools.stdio(command, args)`` or ``MCPTools.http(url)`` reaches one
server; its tools are ordinary :class:`~fullduplex.tools.AgentTool` objects
the agent runs like local ones::

    async with MCPTools.stdio("python", ["server.py"]) as mcp:
        agent = BidiAgent(model, tools=[*mcp.tools, calculator])
"""

from __future__ import annotations

from .client import MCPTools
from .provider import ToolProvider, ToolsChanged
from .tool import MCPServerError, MCPTool

__all__ = ["MCPServerError", "MCPTool", "MCPTools", "ToolProvider", "ToolsChanged"]
