"""Tool providers owned by the agent, with in-process providers (the MCP tests use real
servers): sorting ``tools=``, a change while the connection opens, a clashing change, a
change after stop, a provider that never answers its start."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from fullduplex import BidiAgent
from fullduplex.errors import ToolError
from fullduplex.messages import Message
from fullduplex.testing import FakeModel
from fullduplex.tools import AgentTool, ToolProvider, ToolsChanged, ToolSpec, as_tools, split_tools


def _tool(name: str) -> AgentTool:
    def body() -> str:
        return name

    return AgentTool(body, name=name, description=f"the {name} tool")


class Provider:
    """A provider whose tools a test sets, and whose start may be held."""

    def __init__(self, *names: str, label: str = "fake") -> None:
        self.label = label
        self.tools = [_tool(n) for n in names]
        self.callbacks: list[ToolsChanged] = []
        self.hold: asyncio.Event | None = None
        self.starts = 0
        self.stops = 0

    async def start(self) -> Sequence[AgentTool]:
        self.starts += 1
        if self.hold is not None:
            await self.hold.wait()
        return list(self.tools)

    async def stop(self) -> None:
        self.stops += 1

    def on_change(self, callback: ToolsChanged) -> None:
        self.callbacks.append(callback)

    async def change(self, *names: str) -> None:
        self.tools = [_tool(n) for n in names]
        for callback in self.callbacks:
            outcome = callback(list(self.tools))
            if outcome is not None:
                await outcome


class UpdatingModel(FakeModel):
    """A FakeModel that can replace its session's tools, and may hold its start."""

    def __init__(self) -> None:
        super().__init__(tool_update=True)
        self.updates: list[list[str]] = []
        self.hold_start: asyncio.Event | None = None
        self.starting = asyncio.Event()

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        await super().start(system_prompt, tools, messages)
        self.starting.set()
        if self.hold_start is not None:
            await self.hold_start.wait()

    async def update_tools(self, tools: Sequence[ToolSpec]) -> None:
        self.updates.append([spec.name for spec in tools])


def test_split_tools_keeps_providers_apart_and_as_tools_refuses_them() -> None:
    provider = Provider("a")
    assert isinstance(provider, ToolProvider)
    local = _tool("local")
    tools, providers = split_tools([local, provider])
    assert tools == [local]
    assert providers == [provider]
    with pytest.raises(ToolError, match="'fake' is a tool provider"):
        as_tools([provider])
    with pytest.raises(ToolError, match="given twice"):
        split_tools([provider, provider])


async def test_a_change_while_the_connection_opens_is_sent_once_it_is_up() -> None:
    provider = Provider("a")
    model = UpdatingModel()
    model.hold_start = asyncio.Event()
    agent = BidiAgent(model, tools=[provider, _tool("local")])
    async with asyncio.timeout(10):
        starting = asyncio.create_task(agent.start())
        await model.starting.wait()
        await provider.change("a", "b")  # the connection is not up yet
        assert model.updates == []
        model.hold_start.set()
        await starting
        assert [spec.name for spec in model.starts[0].tools] == ["local", "a"]
        assert model.updates == [["local", "a", "b"]]
        await provider.change("b")  # up: sent at once
        assert model.updates[-1] == ["local", "b"]
        await agent.stop()
    assert provider.stops == 1


async def test_a_change_that_clashes_is_refused_and_the_old_set_stays() -> None:
    first, second = Provider("a", label="one"), Provider("b", label="two")
    model = UpdatingModel()
    async with asyncio.timeout(10), BidiAgent(model, tools=[first, second]) as agent:
        await second.change("a")  # 'a' is first's
        assert [t.name for t in agent.tools] == ["a", "b"]
        assert model.updates == []


async def test_a_change_after_stop_is_not_sent() -> None:
    provider = Provider("a")
    model = UpdatingModel()
    agent = BidiAgent(model, tools=[provider])
    async with asyncio.timeout(10):
        await agent.start()
        await agent.stop()
        await provider.change("a", "late")
    assert model.updates == []


async def test_stop_cuts_a_provider_start_that_never_answers() -> None:
    provider = Provider("a")
    provider.hold = asyncio.Event()  # never set
    model = FakeModel()
    agent = BidiAgent(model, tools=[provider], output_drain_timeout_s=0.5)
    async with asyncio.timeout(10):
        starting = asyncio.create_task(agent.start())
        while provider.starts == 0:
            await asyncio.sleep(0.01)
        await agent.stop()
        await starting
    assert model.starts == []
    assert provider.stops == 1
    assert not agent.started
