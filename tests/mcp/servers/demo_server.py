"""An MCP server written with the mcp package's own server API, for the tests.

Run as a real subprocess over stdio (``python demo_server.py``) or over
streamable HTTP on loopback (``python demo_server.py --http PORT``).
Its tools cover what a voice agent meets: text, JSON (structured output),
images, errors, a call that waits for another (concurrency), a call that
waits until cancelled, a crash mid-call, and a tool list that changes.
``--start-delay S`` makes the server slow to start; ``--pid-file PATH`` says
which process it is (written first, before any delay).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("demo")
#: callers of ``rendezvous`` waiting for a partner
_arrived: list[asyncio.Event] = []
#: the 1x1 PNG ``snapshot`` returns
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@server.tool()
def echo(text: str) -> str:
    """Repeat the text back."""
    return text


@server.tool()
def weather(city: str) -> dict[str, Any]:
    """The weather in a city, as structured data."""
    return {"city": city, "temperature_c": 21, "sky": "clear"}


@server.tool()
def snapshot() -> Image:
    """A tiny picture."""
    return Image(data=PIXEL, format="png")


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(reason)


@server.tool()
async def rendezvous(name: str) -> str:
    """Wait until a second call of this tool arrives, then both answer.

    Only two calls that run at the same time can both finish.
    """
    mine = asyncio.Event()
    if _arrived:
        partner = _arrived.pop()
        partner.set()
        return f"{name} met a partner"
    _arrived.append(mine)
    await mine.wait()
    return f"{name} met a partner"


@server.tool()
async def wait_forever(marker: str) -> str:
    """Wait until cancelled; write ``marker`` (a path) when the cancellation arrives."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        Path(marker).write_text("cancelled")  # noqa: ASYNC240 (a tiny file, once)
        raise
    return "never"


@server.tool()
def crash(marker: str) -> str:
    """Kill the server process in the middle of the call (once: ``marker`` remembers it)."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os._exit(3)
    return f"survived in {os.getpid()}"


@server.tool()
def pid() -> int:
    """The server's process id (to see a restart)."""
    return os.getpid()


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header (empty over stdio or when absent)."""
    return (ctx.headers or {}).get(name.lower(), "")


def bonus(x: int) -> int:
    """Double x (appears once unlock is called)."""
    return 2 * x


@server.tool()
async def unlock(ctx: Context) -> str:
    """Add the ``bonus`` tool, drop ``fail``, and tell the client the list changed."""
    server.add_tool(bonus)
    server.remove_tool("fail")
    await ctx.session.send_tool_list_changed()
    return "bonus unlocked"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None, help="serve streamable HTTP on this port")
    parser.add_argument("--start-delay", type=float, default=0.0)
    parser.add_argument("--pid-file", default=None, help="write the process id here first")
    options = parser.parse_args()
    if options.pid_file:
        Path(options.pid_file).write_text(str(os.getpid()))
    if options.start_delay:
        time.sleep(options.start_delay)
    if options.http is None:
        server.run("stdio")
    else:
        import uvicorn

        app = server.streamable_http_app()
        config = uvicorn.Config(app, host="127.0.0.1", port=options.http, log_level="warning")
        print(f"listening on {options.http}", file=sys.stderr, flush=True)
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
