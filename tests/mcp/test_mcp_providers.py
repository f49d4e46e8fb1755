"""MCP servers as tool providers the agent owns.

``BidiAgent(tools=[MCPTools.stdio(...), calculator])``: the agent starts the server
(a real subprocess) before the model connects, stops it with itself, and carries a
tool-list change to the model: at once through the OpenAI provider's ``session.update``
(checked on what the emulator received), or at the next connection for a model without
``tool_update`` (a FakeModel). The races: a stop during the server's start, a server
that fails to start, a name clash, a model that fails to connect; after each, the
server's process is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from mcp_helpers import SERVER, ask, say, spoken

from fullduplex import BidiAgent
from fullduplex.errors import ModelAuthenticationError, ModelConnectionError, ToolError
from fullduplex.events import (
    BidiConnectionRestartEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.messages import Message
from fullduplex.retry import RetryPolicy
from fullduplex.testing import FakeModel, emit, expect, fail
from fullduplex.tools import ToolSpec, tool
from fullduplex_mcp import MCPTools, ToolProvider
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator
from fullduplex_tools import calculator


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_pid(path: Path) -> int | None:
    text = path.read_text() if path.exists() else ""
    return int(text) if text else None


async def _pid_from(path: Path, timeout_s: float = 20) -> int:
    """The pid the server wrote (it writes it first thing)."""
    async with asyncio.timeout(timeout_s):
        while (pid := _read_pid(path)) is None:
            await asyncio.sleep(0.02)
    return pid


def _server(log: IO[str], *extra: str, **options: Any) -> MCPTools:
    return MCPTools.stdio(sys.executable, [str(SERVER), *extra], errlog=log, **options)


def _tool_updates(emu: Emulator) -> list[list[str]]:
    """The tool names of every mid-session tools update the emulator received."""
    return [
        [t["name"] for t in event["session"]["tools"]]
        for event in emu.received
        if event["type"] == "session.update" and event.get("event_id") == "fd_tools_update"
    ]


async def test_the_seed_style_agent_starts_the_server_and_stops_it(
    make_model: Callable[[], BidiOpenAIRealtimeModel], emu: Emulator, server_log: IO[str]
) -> None:
    mcp = _server(server_log)
    assert isinstance(mcp, ToolProvider)
    agent = BidiAgent(make_model(), tools=[mcp, calculator])
    assert [t.name for t in agent.tools] == ["calculator"]  # the server's come at start
    async with asyncio.timeout(40):
        async with agent:
            names = [t.name for t in agent.tools]
            assert names[0] == "calculator"
            assert {"echo", "weather", "pid"} <= set(names)
            remote = await ask(agent, say("weather", {"city": "Paris"}), lambda t: "result" in t)
            local = await ask(agent, say("calculator", {"expression": "12*7"}), lambda t: "84" in t)
            found = await ask(agent, say("pid"), lambda t: "result" in t)
        [weather] = [e for e in remote if isinstance(e, ToolResultEvent)]
        assert json.loads(weather.content)["city"] == "Paris"
        assert "84" in spoken(local)[-1]
        [pid_result] = [e for e in found if isinstance(e, ToolResultEvent)]
        server_pid = int(json.loads(pid_result.content)["result"])
        assert not _alive(server_pid)  # stopped with the agent
    # the first session.update carried both kinds of tools
    first = next(e for e in emu.received if e["type"] == "session.update")
    declared = [t["name"] for t in first["session"]["tools"]]
    assert "calculator" in declared
    assert "weather" in declared


async def test_a_tool_list_change_reaches_the_model_through_session_update(
    make_model: Callable[[], BidiOpenAIRealtimeModel], emu: Emulator, server_log: IO[str]
) -> None:
    async with (
        asyncio.timeout(40),
        BidiAgent(make_model(), tools=[_server(server_log), calculator]) as agent,
    ):
        assert agent.model.capabilities.tool_update
        before = await ask(agent, say("bonus", {"x": 2}), lambda t: "no tool" in t)
        await ask(agent, say("unlock"), lambda t: "result" in t)
        while not _tool_updates(emu):
            await asyncio.sleep(0.02)
        assert "bonus" in [t.name for t in agent.tools]
        after = await ask(agent, say("bonus", {"x": 2}), lambda t: "result" in t)
    assert spoken(before)[-1] == "I have no tool named bonus."
    [update] = _tool_updates(emu)
    assert "bonus" in update
    assert "fail" not in update  # the server dropped it
    assert "calculator" in update  # the local tools stay
    [doubled] = [e for e in after if isinstance(e, ToolResultEvent)]
    assert doubled.status == "success"
    assert json.loads(doubled.content) == {"result": 4}


async def test_without_tool_update_the_change_reaches_the_next_connection(
    server_log: IO[str],
) -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("c1", "unlock", "{}", response_id="r1", is_final=True),
                BidiResponseCompleteEvent("r1"),
            ),
            expect(ToolResultEvent),
        ]
    )
    assert not model.capabilities.tool_update
    retry = RetryPolicy(initial_backoff_s=0.01)
    async with asyncio.timeout(40):
        async with BidiAgent(model, tools=[_server(server_log)], retry=retry) as agent:
            await agent.send("unlock it")
            await model.wait_sent(ToolResultEvent)
            while "bonus" not in [t.name for t in agent.tools]:
                await asyncio.sleep(0.02)
            assert len(model.starts) == 1  # nothing reached this connection
            model.add(fail(ModelConnectionError("dropped")))
            async for event in agent.receive():
                if isinstance(event, BidiConnectionRestartEvent):
                    break
    first, second = model.starts
    assert "bonus" not in [spec.name for spec in first.tools]
    assert "fail" in [spec.name for spec in first.tools]
    assert "bonus" in [spec.name for spec in second.tools]
    assert "fail" not in [spec.name for spec in second.tools]


async def test_stop_during_the_servers_start_ends_it(tmp_path: Path, server_log: IO[str]) -> None:
    pid_file = tmp_path / "pid"
    model = FakeModel()
    slow = _server(server_log, "--pid-file", str(pid_file), "--start-delay", "60")
    agent = BidiAgent(model, tools=[slow], output_drain_timeout_s=5)
    async with asyncio.timeout(40):
        starting = asyncio.create_task(agent.start())
        pid = await _pid_from(pid_file)
        began = time.monotonic()
        await agent.stop()
        took = time.monotonic() - began
        await starting  # the stop wins: start() returns quietly
    assert not agent.started
    assert model.starts == []  # the model never connected
    assert not _alive(pid)
    assert took < 10  # not the server's 60 s start


async def test_a_server_that_cannot_start_is_an_error_naming_it_and_the_others_stop(
    tmp_path: Path, server_log: IO[str]
) -> None:
    pid_file = tmp_path / "pid"
    good = _server(server_log, "--pid-file", str(pid_file))
    broken = MCPTools.stdio(sys.executable, ["-c", "raise SystemExit(2)"], label="broken-server")
    model = FakeModel()
    agent = BidiAgent(model, tools=[good, broken, calculator], output_drain_timeout_s=5)
    async with asyncio.timeout(40):
        with pytest.raises(ToolError, match="provider 'broken-server' did not start"):
            await agent.start()
    assert model.starts == []
    assert not agent.started
    assert not _alive(await _pid_from(pid_file))


async def test_a_slow_server_past_tool_start_timeout_is_an_error_and_is_ended(
    tmp_path: Path, server_log: IO[str]
) -> None:
    pid_file = tmp_path / "pid"
    slow = _server(server_log, "--pid-file", str(pid_file), "--start-delay", "60", label="slow")
    agent = BidiAgent(FakeModel(), tools=[slow], tool_start_timeout_s=1, output_drain_timeout_s=5)
    async with asyncio.timeout(40):
        with pytest.raises(ToolError, match=r"provider 'slow' did not start within 1 s"):
            await agent.start()
    assert not _alive(await _pid_from(pid_file))


async def test_a_name_clash_with_a_local_tool_names_both(
    tmp_path: Path, server_log: IO[str]
) -> None:
    @tool
    def echo(text: str) -> str:
        """A local echo."""
        return text

    pid_file = tmp_path / "pid"
    mcp = _server(server_log, "--pid-file", str(pid_file), label="demo")
    agent = BidiAgent(FakeModel(), tools=[echo, mcp], output_drain_timeout_s=5)
    async with asyncio.timeout(40):
        with pytest.raises(ToolError) as caught:
            await agent.start()
    message = str(caught.value)
    assert "'echo'" in message
    assert "the local tool" in message
    assert "provider 'demo'" in message
    assert not _alive(await _pid_from(pid_file))


class _RefusingModel(FakeModel):
    async def start(
        self,
        system_prompt: str | None = None,
        tools: Any = None,
        messages: list[Message] | None = None,
    ) -> None:
        await super().start(system_prompt, tools, messages)
        raise ModelAuthenticationError("the API key was refused")


async def test_a_model_that_fails_to_connect_stops_the_started_server(
    tmp_path: Path, server_log: IO[str]
) -> None:
    pid_file = tmp_path / "pid"
    model = _RefusingModel()
    agent = BidiAgent(
        model, tools=[_server(server_log, "--pid-file", str(pid_file))], output_drain_timeout_s=5
    )
    async with asyncio.timeout(40):
        with pytest.raises(ModelAuthenticationError):
            await agent.start()
    [started] = model.starts
    assert "echo" in [spec.name for spec in started.tools]  # it ran: the server had started
    assert isinstance(started.tools[0], ToolSpec)
    assert not _alive(await _pid_from(pid_file))
