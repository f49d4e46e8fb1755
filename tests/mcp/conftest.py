"""Fixtures: the demo MCP server over stdio and over streamable HTTP on loopback,
and the OpenAI emulator with a responder that calls whatever tool it is told to."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from mcp_helpers import KEY, SERVER, CallingResponder

from fullduplex_mcp import MCPTools
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator


@pytest.fixture
def server_log(tmp_path: Path) -> Iterator[IO[str]]:
    """Where the servers' stderr goes (a real file: the subprocess writes to it)."""
    with (tmp_path / "server-stderr.log").open("w") as log:
        yield log


@pytest.fixture
def stdio_tools(server_log: IO[str]) -> Callable[..., MCPTools]:
    def make(*extra: str, **options: Any) -> MCPTools:
        return MCPTools.stdio(sys.executable, [str(SERVER), *extra], errlog=server_log, **options)

    return make


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def http_url(tmp_path: Path) -> AsyncIterator[str]:
    """The demo server as a real streamable-HTTP server on loopback (its own process)."""
    port = _free_port()
    with (tmp_path / "http-stderr.log").open("w") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 (started once, returns at once)
            [sys.executable, str(SERVER), "--http", str(port)], stderr=log, stdout=log
        )
        try:
            async with asyncio.timeout(20):
                while True:
                    assert process.poll() is None, "the HTTP MCP server exited"
                    try:
                        _, writer = await asyncio.open_connection("127.0.0.1", port)
                    except OSError:
                        await asyncio.sleep(0.05)
                        continue
                    writer.close()
                    await writer.wait_closed()
                    break
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=KEY, port=0, responder=CallingResponder()) as server:
        yield server


@pytest.fixture
def make_model(emu: Emulator) -> Callable[[], BidiOpenAIRealtimeModel]:
    def make() -> BidiOpenAIRealtimeModel:
        return BidiOpenAIRealtimeModel(
            model_id="gpt-realtime", client_config={"api_key": KEY, "base_url": emu.base_url}
        )

    return make
