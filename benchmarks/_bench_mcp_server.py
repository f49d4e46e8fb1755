"""The MCP server of ``tool_overhead.py``'s ``mcp`` variant (stdio, mcp's own server API).

``bench_tool(n)`` returns ``n`` and the nanoseconds its own body took, so the
client can subtract the tool's own time exactly as it does for the local tool.
"""

from __future__ import annotations

import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("bench")


@server.tool()
def bench_tool(n: int) -> dict[str, int]:
    """Return n (the benchmark's tool; it stamps its own run time)."""
    start = time.monotonic_ns()
    result = n
    return {"n": result, "own_ns": time.monotonic_ns() - start}


if __name__ == "__main__":
    server.run("stdio")
