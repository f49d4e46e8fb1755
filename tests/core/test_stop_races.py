"""stop() at every await point of start(), run(), a reconnect and a tool (issue 10, 10-12).

A :class:`GateModel` blocks in ``start`` / ``send`` / ``receive`` / ``stop`` on
events the test controls; each test stops the agent while it waits there and
checks that nothing hangs (``asyncio.timeout``), no task is left, and the
agent ends stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from agent_kit import only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.errors import FullDuplexError, ModelConnectionError
from fullduplex.events import (
    BidiInputEvent,
    BidiOutputEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.hookspecs import hookimpl
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, emit, expect, fail
from fullduplex.tools import tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

BOUND_S = 3.0


class GateModel(FakeModel):
    """A FakeModel that can block in start/send (and count where it is)."""

    def __init__(self, *args: Any, block_start: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.block_start = block_start  # which start() call (0-based) blocks
        self.in_start = asyncio.Event()
        self.block_send = False
        self.in_send = asyncio.Event()
        self.start_cancelled = False

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[Any] | None = None,
        messages: Sequence[Any] | None = None,
    ) -> None:
        if self.block_start is not None and len(self.starts) == self.block_start:
            self.in_start.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.start_cancelled = True
                raise
        await super().start(system_prompt, tools, messages)

    async def send(self, event: BidiInputEvent) -> None:
        if self.block_send:
            self.in_send.set()
            await asyncio.Event().wait()
        await super().send(event)

    def receive(self) -> AsyncIterator[BidiOutputEvent]:
        return super().receive()


async def _no_tasks_left(before: set[asyncio.Task[Any]]) -> None:
    await settle_loop()
    assert other_tasks() - before == set()


async def test_stop_while_start_is_in_flight_wins() -> None:
    before = other_tasks()
    model = GateModel(block_start=0)
    agent = BidiAgent(model)
    async with asyncio.timeout(BOUND_S):
        starting = asyncio.create_task(agent.start())
        await model.in_start.wait()
        await agent.stop()
        await starting  # returns: stop() won
    assert not agent.started
    assert model.start_cancelled
    assert model.stop_calls >= 1  # whatever start() opened is closed
    with pytest.raises(FullDuplexError):
        await agent.send("too late")
    await _no_tasks_left(before)


async def test_stop_during_a_reconnect_ends_it() -> None:
    before = other_tasks()
    model = GateModel([fail(ModelConnectionError("drop"))], block_start=1)
    agent = BidiAgent(model, restart_backoff_s=0)
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        await model.in_start.wait()
        await agent.stop()
    assert not agent.started
    assert model.start_cancelled
    await _no_tasks_left(before)


async def test_stop_during_the_reconnect_backoff_ends_it() -> None:
    before = other_tasks()
    model = FakeModel([fail(ModelConnectionError("drop"))])
    agent = BidiAgent(model, restart_backoff_s=60)
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        while not agent._input.restarting:
            await asyncio.sleep(0)
        await agent.stop()
    assert len(model.starts) == 1
    await _no_tasks_left(before)


async def test_stop_while_a_send_is_blocked() -> None:
    before = other_tasks()
    model = GateModel()
    agent = BidiAgent(model)
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        model.block_send = True
        sending = asyncio.create_task(agent.send("stuck"))
        await model.in_send.wait()
        await agent.stop()
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert agent.messages == []  # it never reached the model
    await _no_tasks_left(before)


@pytest.mark.parametrize(
    "hook", ["on_message_added", "on_agent_start", "on_agent_stop", "on_connection_restart"]
)
async def test_stop_from_inside_a_lifecycle_hook(hook: str) -> None:
    before = other_tasks()
    called = asyncio.Event()

    class Stopper:
        pass

    async def impl(agent: BidiAgent, **_: Any) -> None:
        called.set()
        await agent.stop()

    stopper = Stopper()
    setattr(stopper, hook, hookimpl(impl, specname=hook))  # type: ignore[call-overload]
    model = FakeModel(
        [
            fail(ModelConnectionError("drop")),
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1")),
        ]
    )
    agent = BidiAgent(model, plugins=[stopper], restart_backoff_s=0)
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        if hook != "on_agent_stop":
            # the hook's stop() may already have ended the conversation
            with contextlib.suppress(FullDuplexError):
                await agent.send("hello")
        await agent.stop()
        if hook != "on_connection_restart" or called.is_set():
            assert called.is_set()
    assert not agent.started
    await _no_tasks_left(before)


async def test_stop_from_inside_a_tool_and_an_output() -> None:
    before = other_tasks()

    @tool
    async def ender(ctx: Any) -> str:
        """Stops the agent from inside a tool."""
        await ctx.agent.stop()
        return "never reached"

    class StoppingOutput(RecordingOutput):
        async def __call__(self, event: BidiOutputEvent) -> None:
            await super().__call__(event)
            if isinstance(event, ToolResultEvent) and self.started_with is not None:
                await self.started_with.stop()

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(ToolUseStreamEvent("c1", "ender", "{}", True, "r1")),
        ]
    )
    agent = BidiAgent(model, tools=[ender])
    async with asyncio.timeout(BOUND_S):
        await agent.run(inputs=[ScriptedInput(["go", asyncio.Event()])], outputs=[StoppingOutput()])
    assert not agent.started
    await _no_tasks_left(before)


async def test_a_tool_that_swallows_cancellation_does_not_hold_stop() -> None:
    release = asyncio.Event()

    @tool
    async def stubborn() -> str:
        """Ignores being cancelled."""
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue
        return "late"

    model = FakeModel(
        [expect(BidiTextInputEvent), emit(ToolUseStreamEvent("c1", "stubborn", "{}", True, "r1"))]
    )
    agent = BidiAgent(model, tools=[stubborn], output_drain_timeout_s=0.2)
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        await agent.send("go")
        while not agent._tool_tasks:
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await agent.stop()
        assert loop.time() - began < 1.5  # bounded by output_drain_timeout_s, not the tool
        release.set()
        await settle_loop()
    # its late result is not recorded after the stop
    assert not any("late" in str(m) for m in agent.messages)


class HangingInput(ScriptedInput):
    async def stop(self) -> None:
        self.stopped += 1
        await asyncio.Event().wait()  # never returns


async def test_an_input_whose_stop_hangs_does_not_hang_run() -> None:
    before = other_tasks()
    model = FakeModel([expect(BidiTextInputEvent), emit(BidiResponseStartEvent("r1"))])
    agent = BidiAgent(model, output_drain_timeout_s=0.2, settle_timeout_s=0.2)
    source = HangingInput(["hi"])
    async with asyncio.timeout(BOUND_S):
        await agent.run(inputs=[source])
    assert source.stopped == 1
    assert not agent.started
    await _no_tasks_left(before)


async def test_cancelling_run_still_stops_the_agent() -> None:
    before = other_tasks()
    model = FakeModel()
    agent = BidiAgent(model, output_drain_timeout_s=0.2)
    source = HangingInput([asyncio.Event()])
    async with asyncio.timeout(BOUND_S):
        running = asyncio.create_task(agent.run(inputs=[source]))
        while not agent.started:
            await asyncio.sleep(0.01)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert running.cancelled()
    assert not agent.started
    assert model.stop_calls >= 1
    await _no_tasks_left(before)


async def test_stop_from_on_message_added_in_the_reader_and_in_a_tool_result() -> None:
    """The reader records the transcript, a tool task records its result: both call
    the hook in their own task, and stop() from there must neither deadlock nor recurse."""
    from fullduplex.events import BidiTranscriptStreamEvent

    before = other_tasks()
    stopped_from: list[str] = []

    class Stopper:
        @hookimpl
        async def on_message_added(self, agent: BidiAgent, message: dict[str, Any]) -> None:
            if message["role"] == "assistant":
                task = asyncio.current_task()
                stopped_from.append(task.get_name() if task else "?")
                await agent.stop()

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiTranscriptStreamEvent("hi", "assistant", True, "hi", "r1", "a1")),
        ]
    )
    agent = BidiAgent(model, plugins=[Stopper()])
    async with asyncio.timeout(BOUND_S):
        await agent.start()
        await agent.send("hello")
        while agent.started:
            await asyncio.sleep(0.01)
        await agent.stop()
    assert stopped_from == ["fullduplex-agent-reader"]
    await _no_tasks_left(before)
