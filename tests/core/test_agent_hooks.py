"""Lifecycle hooks: order, async implementations, veto and replacement, global then local."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.errors import ConfigurationError
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
from fullduplex.messages import Message
from fullduplex.plugins import plugin_manager
from fullduplex.testing import FakeModel, ScriptedInput, emit, expect
from fullduplex.tools import ToolCall, ToolVeto, tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


@tool
def echo(text: str) -> str:
    """Says it back."""
    return text


class Journal:
    """Writes down every hook call, in order (async where it can be)."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    @hookimpl
    async def on_agent_start(self, agent: BidiAgent) -> None:
        await asyncio.sleep(0)
        self.log.append(f"{self.name}:start")

    @hookimpl
    def on_message_added(self, agent: BidiAgent, message: Message) -> None:
        kind = next(iter(message["content"][0]))
        self.log.append(f"{self.name}:message:{message['role']}:{kind}")

    @hookimpl
    async def before_tool_call(self, agent: BidiAgent, call: ToolCall) -> None:
        await asyncio.sleep(0)
        self.log.append(f"{self.name}:before:{call.name}")

    @hookimpl
    def after_tool_call(self, agent: BidiAgent, call: ToolCall, result: ToolResultEvent) -> None:
        self.log.append(f"{self.name}:after:{call.name}")

    @hookimpl
    def on_interruption(self, agent: BidiAgent, event: BidiInterruptionEvent) -> None:
        self.log.append(f"{self.name}:interruption")

    @hookimpl
    async def on_agent_stop(self, agent: BidiAgent) -> None:
        await asyncio.sleep(0)
        self.log.append(f"{self.name}:stop")


@pytest.fixture
def global_plugin() -> Iterator[list[str]]:
    log: list[str] = []
    journal = Journal("global", log)
    manager = plugin_manager()
    manager.register(journal, name="test-global-journal")
    yield log
    manager.unregister(journal)


def tool_call_script(name: str = "echo", arguments: str = '{"text": "hi"}') -> FakeModel:
    return FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                *[BidiAudioStreamEvent(b"\x00\x00" * 240, item_id="a1") for _ in range(20)],
                ToolUseStreamEvent("c1", name, arguments, is_final=True, response_id="r1"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
            expect(ToolResultEvent),
            emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ]
    )


async def test_hooks_fire_in_documented_order_global_first_async_awaited(
    global_plugin: list[str],
) -> None:
    log = global_plugin
    agent = BidiAgent(
        tool_call_script(), tools=[echo], plugins=[Journal("a", log), Journal("b", log)]
    )
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])])
    assert log == [
        "global:start",
        "a:start",
        "b:start",
        "global:message:user:text",
        "a:message:user:text",
        "b:message:user:text",
        "global:message:assistant:toolUse",
        "a:message:assistant:toolUse",
        "b:message:assistant:toolUse",
        "global:before:echo",
        "a:before:echo",
        "b:before:echo",
        "global:after:echo",
        "a:after:echo",
        "b:after:echo",
        "global:message:user:toolResult",
        "a:message:user:toolResult",
        "b:message:user:toolResult",
        "global:stop",
        "a:stop",
        "b:stop",
    ]  # and nothing per audio chunk (20 were streamed)


async def test_a_vetoed_call_gives_the_model_a_clear_error() -> None:
    ran: list[str] = []

    @tool
    def delete_everything() -> str:
        """Dangerous."""
        ran.append("yes")
        return "deleted"

    class Guard:
        @hookimpl
        async def before_tool_call(self, agent: BidiAgent, call: ToolCall) -> ToolVeto | None:
            await asyncio.sleep(0)
            if call.name == "delete_everything":
                return ToolVeto("not allowed in this demo")
            return None

    model = tool_call_script("delete_everything", "{}")
    agent = BidiAgent(model, tools=[delete_everything], plugins=[Guard()])
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])])
    assert ran == []
    (result,) = model.sent_of(ToolResultEvent)
    assert result.status == "error"
    assert result.call_id == "c1"
    assert "refused: not allowed in this demo" in json.loads(result.content)["error"]


async def test_before_hook_replaces_the_call_and_after_hook_replaces_the_result() -> None:
    class Rewriter:
        @hookimpl
        def before_tool_call(self, agent: BidiAgent, call: ToolCall) -> ToolCall:
            return ToolCall(call.call_id, call.name, {"text": "rewritten"}, "", call.response_id)

        @hookimpl
        def after_tool_call(
            self, agent: BidiAgent, call: ToolCall, result: ToolResultEvent
        ) -> ToolResultEvent:
            assert call.arguments == {"text": "rewritten"}
            return ToolResultEvent(result.call_id, result.name, result.content.upper())

    model = tool_call_script()
    agent = BidiAgent(model, tools=[echo], plugins=[Rewriter()])
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])])
    (result,) = model.sent_of(ToolResultEvent)
    assert json.loads(result.content) == "REWRITTEN"  # a plain string goes as JSON
    assert result.response_id == "r1"  # ids stay those of the model's call


async def test_a_failing_hook_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []

    class Broken:
        @hookimpl
        def on_agent_start(self, agent: BidiAgent) -> None:
            raise RuntimeError("plugin bug")

    async with BidiAgent(FakeModel(), plugins=[Broken(), Journal("ok", log)]):
        pass
    assert log == ["ok:start", "ok:stop"]
    assert "plugin bug" in caplog.text


def test_an_unknown_hook_name_in_agent_plugins_is_a_configuration_error() -> None:
    class Misspelt:
        @hookimpl
        def on_agent_strat(self, agent: BidiAgent) -> None:
            pass

    with pytest.raises(ConfigurationError, match="plugins"):
        BidiAgent(FakeModel(), plugins=[Misspelt()])
