"""MCP tools inside a conversation: BidiAgent + the OpenAI provider against the emulator
(loopback), with the demo MCP server as a real subprocess or HTTP server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp_helpers import ask, say, spoken

from fullduplex import BidiAgent
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiInterruptionEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.hookspecs import hookimpl
from fullduplex.testing import FakeModel, ScriptedInput, emit, expect, pause
from fullduplex.tools import ToolCall
from fullduplex_mcp import MCPTools
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator
from fullduplex_tools import calculator


class Seen:
    """A plugin that records the tool hooks the agent calls."""

    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[str] = []

    @hookimpl
    def before_tool_call(self, agent: BidiAgent, call: ToolCall) -> None:
        self.before.append(call.name)

    @hookimpl
    def after_tool_call(self, agent: BidiAgent, call: ToolCall, result: ToolResultEvent) -> None:
        self.after.append(result.status)


def results(events: list[Any]) -> list[ToolResultEvent]:
    return [e for e in events if isinstance(e, ToolResultEvent)]


async def test_a_call_during_a_spoken_answer_over_stdio(
    stdio_tools: Callable[..., MCPTools],
    make_model: Callable[[], BidiOpenAIRealtimeModel],
    emu: Emulator,
) -> None:
    hooks = Seen()
    async with asyncio.timeout(40), stdio_tools() as mcp:
        agent = BidiAgent(make_model(), tools=[*mcp.tools, calculator], plugins=[hooks])
        async with agent:
            events = await ask(agent, say("weather", {"city": "Paris"}), lambda t: "result" in t)
    said = spoken(events)
    assert said[0] == "Let me check."  # the model spoke, then called the tool
    assert any(isinstance(e, BidiAudioStreamEvent) for e in events)
    [result] = results(events)
    assert result.status == "success"
    assert json.loads(result.content)["city"] == "Paris"
    assert "Paris" in said[-1]
    assert hooks.before == ["weather"]
    assert hooks.after == ["success"]
    history = json.dumps(agent.messages)
    assert "weather" in history
    assert "temperature_c" in history
    # the server's own schema went to the model
    declared = [
        tool
        for e in emu.received
        if e["type"] == "session.update"
        for tool in e["session"].get("tools", [])
        if tool["name"] == "weather"
    ]
    assert declared[0]["parameters"]["properties"]["city"]["type"] == "string"


async def test_two_concurrent_calls_over_http(
    http_url: str, make_model: Callable[[], BidiOpenAIRealtimeModel]
) -> None:
    # rendezvous answers only when a second call is running at the same time
    async with (
        asyncio.timeout(40),
        MCPTools.http(http_url, timeout_s=20) as mcp,
        BidiAgent(make_model(), tools=mcp.tools) as agent,
    ):
        text = f"{say('rendezvous', {'name': 'a'})} ; rendezvous {json.dumps({'name': 'b'})}"
        seen: list[Any] = []
        await agent.send(text)
        async for event in agent.receive():
            seen.append(event)
            if len(results(seen)) == 2:
                break
    assert sorted(r.content for r in results(seen)) == [
        json.dumps({"result": "a met a partner"}),
        json.dumps({"result": "b met a partner"}),
    ]


async def test_a_server_crash_mid_call_is_spoken_and_the_server_comes_back(
    stdio_tools: Callable[..., MCPTools],
    make_model: Callable[[], BidiOpenAIRealtimeModel],
    tmp_path: Path,
) -> None:
    marker = str(tmp_path / "crashed")
    async with (
        asyncio.timeout(40),
        stdio_tools() as mcp,
        BidiAgent(make_model(), tools=mcp.tools) as agent,
    ):
        first = await ask(agent, say("crash", {"marker": marker}), lambda t: "failed" in t)
        second = await ask(agent, say("pid"), lambda t: "result" in t)
    [crashed] = results(first)
    assert crashed.status == "error"
    assert "stopped during the call" in crashed.content  # what the model is told
    assert spoken(first)[-1] == "Sorry, the crash failed."  # and speaks about
    [pid] = results(second)
    assert pid.status == "success"
    assert mcp.launches == 2


async def test_a_tool_list_change_mid_conversation(
    stdio_tools: Callable[..., MCPTools],
    make_model: Callable[[], BidiOpenAIRealtimeModel],
) -> None:
    changed = asyncio.Event()
    async with asyncio.timeout(40), stdio_tools() as mcp:
        mcp.on_change(lambda tools: changed.set())
        async with BidiAgent(make_model(), tools=mcp.tools) as agent:
            await ask(agent, say("unlock"), lambda t: "result" in t)
            await changed.wait()
            assert "bonus" in [t.name for t in mcp.tools]
            # a tool the server dropped: the call reaches the server, whose refusal is spoken
            gone = await ask(agent, say("fail", {"reason": "x"}), lambda t: "failed" in t)
            # tools handed over as a list are a snapshot: the model is not told of the
            # change (giving the agent the provider itself does that, test_mcp_providers)
            unknown = await ask(agent, say("bonus", {"x": 2}), lambda t: "no tool" in t)
    [refused] = results(gone)
    assert refused.status == "error"
    assert "fail" in json.loads(refused.content)["error"]
    assert spoken(unknown)[-1] == "I have no tool named bonus."


async def test_a_slow_server_start_then_a_call(
    stdio_tools: Callable[..., MCPTools],
    make_model: Callable[[], BidiOpenAIRealtimeModel],
) -> None:
    async with (
        asyncio.timeout(40),
        stdio_tools("--start-delay", "1.5") as mcp,
        BidiAgent(make_model(), tools=mcp.tools) as agent,
    ):
        events = await ask(agent, say("echo", {"text": "late"}), lambda t: "result" in t)
    assert spoken(events)[-1] == "The echo result is late."


async def test_barge_in_cancels_a_running_mcp_call(
    stdio_tools: Callable[..., MCPTools], tmp_path: Path
) -> None:
    """The user barges in while a cancellable MCP call runs: the agent cancels it, the
    server hears the cancellation, and the model gets one 'cancelled' result."""
    marker = tmp_path / "cancelled"
    arguments = json.dumps({"marker": str(marker)})
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("w1", "wait_forever", arguments, is_final=True),
                BidiAudioStreamEvent(b"\0" * 960, item_id="a1", response_id="r1"),
            ),
            pause(0.5),
            emit(BidiInterruptionEvent(response_id="r1", item_id="a1")),
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
            expect(ToolResultEvent),
            emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ]
    )
    async with asyncio.timeout(40), stdio_tools(cancel_on_interruption=True) as mcp:
        agent = BidiAgent(model, tools=mcp.tools)
        await agent.run(inputs=[ScriptedInput(["wait for it"])])
        async with asyncio.timeout(10):
            while not marker.exists():
                await asyncio.sleep(0.05)
    assert marker.read_text() == "cancelled"
    [result] = model.sent_of(ToolResultEvent)
    assert result.status == "cancelled"
