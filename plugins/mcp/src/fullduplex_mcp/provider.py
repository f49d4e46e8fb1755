"""The tool-provider contract, re-exported from core (:mod:`fullduplex.tool_providers`).

``MCPTools`` implements it; ``BidiAgent(tools=[MCPTools.stdio(...), ...])``
starts the server before the model connects, stops it with the agent, and
follows the server's ``tools/list_changed``.
"""

from __future__ import annotations

from fullduplex.tool_providers import ToolProvider, ToolsChanged

__all__ = ["ToolProvider", "ToolsChanged"]
