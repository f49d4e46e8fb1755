"""MCPTools against real MCP servers: a subprocess over stdio, an HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import pytest
from mcp_helpers import SERVER

from fullduplex.errors import ConfigurationError
from fullduplex.tools import AgentTool, ToolCall
from fullduplex_mcp import MCPServerError, MCPTool, MCPTools, ToolProvider


async def test_stdio_listing_gives_real_agent_tools_with_the_servers_specs(
    stdio_tools: Callable[..., MCPTools],
) -> None:
    async with asyncio.timeout(30), stdio_tools() as mcp:
        assert isinstance(mcp, ToolProvider)
        by_name = {t.name: t for t in mcp.tools}
        assert {"echo", "weather", "snapshot", "fail", "rendezvous"} <= set(by_name)
        echo = by_name["echo"]
        assert isinstance(echo, AgentTool)
        assert isinstance(echo, MCPTool)
        assert echo.spec.description == "Repeat the text back."
        assert echo.spec.parameters["properties"]["text"]["type"] == "string"
        assert echo.spec.parameters["required"] == ["text"]
        assert await echo(text="hello") == json.dumps({"result": "hello"})


async def test_http_results_text_json_image_and_error(http_url: str) -> None:
    async with asyncio.timeout(30), MCPTools.http(http_url, headers={"X-Test": "1"}) as mcp:
        tools = {t.name: t for t in mcp.tools}
        weather = await tools["weather"].invoke(ToolCall("c1", "weather", {"city": "Paris"}))
        assert weather.status == "success"
        assert json.loads(weather.content) == {"city": "Paris", "temperature_c": 21, "sky": "clear"}
        image = await tools["snapshot"].invoke(ToolCall("c2", "snapshot", {}))
        [block] = json.loads(image.content)["content"]
        assert block["type"] == "image"
        assert block["mime_type"] == "image/png"
        assert block["data"]
        failed = await tools["fail"].invoke(ToolCall("c3", "fail", {"reason": "no fuel"}))
        assert failed.status == "error"
        assert "no fuel" in json.loads(failed.content)["error"]
        bad = await tools["echo"].invoke(ToolCall("c4", "echo", {"wrong": 1}))
        assert bad.status == "error"
        assert "error" in json.loads(bad.content)


async def test_a_crash_mid_call_is_an_error_result_and_the_next_call_restarts(
    stdio_tools: Callable[..., MCPTools], tmp_path: Path
) -> None:
    marker = str(tmp_path / "crashed")
    async with asyncio.timeout(30), stdio_tools() as mcp:
        crash = next(t for t in mcp.tools if t.name == "crash")
        first = await crash.invoke(ToolCall("c1", "crash", {"marker": marker}))
        assert first.status == "error"
        assert "restarted on the next call" in json.loads(first.content)["error"]
        second = await crash.invoke(ToolCall("c2", "crash", {"marker": marker}))
        assert second.status == "success"
        assert "survived" in second.content
        assert mcp.launches == 2


async def test_restarts_are_bounded(server_log: IO[str], tmp_path: Path) -> None:
    # a copy of the server that disappears once running: every restart fails
    script = tmp_path / "vanishing_server.py"
    shutil.copy(SERVER, script)
    marker = str(tmp_path / "crashed")
    tools = MCPTools.stdio(sys.executable, [str(script)], errlog=server_log, max_restarts=2)
    async with asyncio.timeout(60), tools as mcp:
        script.unlink()
        crash = next(t for t in mcp.tools if t.name == "crash")
        errors = []
        for n in range(4):
            result = await crash.invoke(ToolCall(f"c{n}", "crash", {"marker": marker}))
            assert result.status == "error"
            errors.append(json.loads(result.content)["error"])
        assert "restarted on the next call" in errors[0]
        assert "could not start" in errors[1]
        assert "could not start" in errors[2]
        assert "giving up (max_restarts)" in errors[3]
        assert mcp.launches == 3  # the first start and two restarts, no more


async def test_a_slow_server_start_is_waited_for_and_bounded(
    stdio_tools: Callable[..., MCPTools],
) -> None:
    async with asyncio.timeout(30), stdio_tools("--start-delay", "1.5") as mcp:
        assert "echo" in [t.name for t in mcp.tools]
    impatient = stdio_tools("--start-delay", "5", start_timeout_s=0.5)
    async with asyncio.timeout(10):
        with pytest.raises(MCPServerError, match=r"did not start within 0\.5 s"):
            await impatient.start()
        await impatient.stop()


async def test_a_changed_tool_list_is_fetched_and_announced(
    stdio_tools: Callable[..., MCPTools],
) -> None:
    heard: list[list[str]] = []
    changed = asyncio.Event()

    def on_change(tools: Sequence[AgentTool]) -> None:
        heard.append([t.name for t in tools])
        changed.set()

    async with asyncio.timeout(30), stdio_tools() as mcp:
        mcp.on_change(on_change)
        unlock = next(t for t in mcp.tools if t.name == "unlock")
        assert (await unlock.invoke(ToolCall("c1", "unlock", {}))).status == "success"
        await changed.wait()
        names = [t.name for t in mcp.tools]
        assert "bonus" in names
        assert "fail" not in names
        assert heard == [names]
        bonus = next(t for t in mcp.tools if t.name == "bonus")
        assert bonus.spec.parameters["properties"]["x"]["type"] == "integer"
        assert json.loads(await bonus(x=21)) == {"result": 42}


async def test_prefix_and_bad_configuration() -> None:
    with pytest.raises(ConfigurationError, match="command"):
        MCPTools.stdio("  ")
    with pytest.raises(ConfigurationError, match="args"):
        MCPTools.stdio("python", "server.py")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="url"):
        MCPTools.http("ftp://example.invalid")
    with pytest.raises(ConfigurationError, match="max_restarts"):
        MCPTools.stdio("python", max_restarts=-1)
    with pytest.raises(ConfigurationError, match="timeout_s"):
        MCPTools.stdio("python", timeout_s=0)


async def test_a_prefix_keeps_two_servers_tools_apart(
    stdio_tools: Callable[..., MCPTools],
) -> None:
    async with asyncio.timeout(30), stdio_tools(prefix="demo") as mcp:
        tool = next(t for t in mcp.tools if t.remote_name == "echo")
        assert tool.name == "demo_echo"
        assert json.loads(await tool(text="hi")) == {"result": "hi"}
