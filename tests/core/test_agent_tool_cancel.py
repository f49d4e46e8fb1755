"""The model withdraws tool calls (``BidiToolCancelEvent``): exactly those are cancelled.

A withdrawn call is a fact reported by the provider (Gemini's
``toolCallCancellation``). The agent cancels exactly the named calls that
still run, records each as cancelled in the history, and sends the model no
result for it; other calls run on and are answered as usual.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_kit import only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiToolCancelEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.testing import FakeModel, RecordingOutput, emit, expect
from fullduplex.tools import tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

started: list[str] = []
cancelled: list[str] = []


@tool
async def slow(tag: str) -> str:
    """Runs until cancelled (or for a long while).

    Args:
        tag: a name for this call.
    """
    started.append(tag)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        cancelled.append(tag)
        raise
    return f"slow {tag}"


@tool
async def quick(tag: str) -> str:
    """Answers after a short while.

    Args:
        tag: a name for this call.
    """
    await asyncio.sleep(0.2)
    return f"quick {tag}"


def call(call_id: str, name: str, tag: str) -> ToolUseStreamEvent:
    return ToolUseStreamEvent(
        call_id, name, json.dumps({"tag": tag}), is_final=True, response_id="r1"
    )


@pytest.fixture(autouse=True)
def _clear() -> None:
    started.clear()
    cancelled.clear()


async def test_exactly_the_withdrawn_calls_are_cancelled_and_not_answered() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                call("c1", "slow", "a"),
                call("c2", "slow", "b"),
                call("c3", "quick", "c"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
        ]
    )
    output = RecordingOutput()
    agent = BidiAgent(model, tools=[slow, quick])
    async with asyncio.timeout(5):
        await agent.start()
        reader = asyncio.create_task(_forward(agent, output))
        await agent.send("go")
        while len(started) < 2:
            await asyncio.sleep(0.01)
        model.add(emit(BidiToolCancelEvent(("c1",), "r1")))
        [answered] = await model.wait_sent(ToolResultEvent)
        while "a" not in cancelled:
            await asyncio.sleep(0.01)
        await agent.stop()
        await reader
    # only c1 was cancelled; c2 was cancelled by stop(), after c3 had answered
    assert cancelled[0] == "a"
    assert answered.call_id == "c3"
    assert [e.call_id for e in model.sent_of(ToolResultEvent)] == ["c3"]
    results = {
        block["toolResult"]["toolUseId"]: block["toolResult"]["status"]
        for message in agent.messages
        for block in message["content"]
        if "toolResult" in block
    }
    assert results["c1"] == "cancelled"
    assert results["c3"] == "success"
    # the fact reaches the outputs, and the cancelled result too (no model send)
    assert output.of(BidiToolCancelEvent) == [BidiToolCancelEvent(("c1",), "r1")]
    assert ("c1", "cancelled") in [(r.call_id, r.status) for r in output.of(ToolResultEvent)]
    await settle_loop()
    assert other_tasks() == set()


async def test_a_withdrawal_before_the_call_is_complete_skips_it() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                BidiToolCancelEvent(("c1",), "r1"),
                call("c1", "slow", "a"),
                call("c2", "quick", "b"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
        ]
    )
    agent = BidiAgent(model, tools=[slow, quick])
    async with asyncio.timeout(5), agent:
        await agent.send("go")
        [answered] = await model.wait_sent(ToolResultEvent)
    assert answered.call_id == "c2"
    assert started == []
    assert [e.call_id for e in model.sent_of(ToolResultEvent)] == ["c2"]


async def test_withdrawing_an_answered_call_changes_nothing() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), call("c1", "quick", "a")),
            expect(ToolResultEvent),
            emit(BidiToolCancelEvent(("c1",)), BidiResponseCompleteEvent("r1")),
        ]
    )
    agent = BidiAgent(model, tools=[quick])
    async with asyncio.timeout(5), agent:
        await agent.send("go")
        await model.wait_sent(ToolResultEvent)
        events = agent.receive()
        async for event in events:
            if isinstance(event, BidiResponseCompleteEvent):
                break
    statuses = [
        block["toolResult"]["status"]
        for message in agent.messages
        for block in message["content"]
        if "toolResult" in block
    ]
    assert statuses == ["success"]


async def _forward(agent: BidiAgent, output: RecordingOutput) -> None:
    async for event in agent.receive():
        await output(event)
