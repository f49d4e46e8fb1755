"""A drop between two parallel tool results (issue 10, item 5, the agent's side).

The agent must give each result to the model exactly once and add nothing that
could ask for an answer: the result that arrived before the drop is replayed as
history (with both calls), the other is delivered once on the new connection.
Whether to answer is the provider's decision (it waits for every result).
"""

from __future__ import annotations

import asyncio

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.errors import ModelConnectionError
from fullduplex.events import (
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.testing import FakeModel, emit, expect, fail
from fullduplex.tools import tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


async def test_each_result_once_across_a_drop_between_results() -> None:
    second_may_finish = asyncio.Event()

    @tool
    async def quick() -> str:
        """Finishes at once."""
        return "q"

    @tool
    async def slow() -> str:
        """Finishes after the drop."""
        await second_may_finish.wait()
        return "s"

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("c1", "quick", "{}", True, "r1"),
                ToolUseStreamEvent("c2", "slow", "{}", True, "r1"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
            expect(ToolResultEvent, where=lambda e: e.call_id == "c1"),
            fail(ModelConnectionError("dropped between the results")),
            expect(ToolResultEvent, where=lambda e: e.call_id == "c2"),
        ]
    )
    agent = BidiAgent(model, tools=[quick, slow], restart_backoff_s=0)
    async with agent:
        await agent.send("do both")
        async with asyncio.timeout(3):
            while len(model.starts) < 2:
                await asyncio.sleep(0.01)
            second_may_finish.set()
            await model.wait_sent(ToolResultEvent, 2)
            while not model.finished:
                await asyncio.sleep(0.01)
    results = [e.call_id for e in model.sent if isinstance(e, ToolResultEvent)]
    assert results == ["c1", "c2"]  # each exactly once
    assert [type(e) for e in model.sent] == [BidiTextInputEvent, ToolResultEvent, ToolResultEvent]
    replayed = model.starts[1].messages
    uses = [b["toolUse"]["toolUseId"] for m in replayed for b in m["content"] if "toolUse" in b]
    done = [
        b["toolResult"]["toolUseId"] for m in replayed for b in m["content"] if "toolResult" in b
    ]
    assert uses == ["c1", "c2"]
    assert done == ["c1"]  # c2 is still owed: the provider waits for it before answering
    history_results = [
        b["toolResult"]["toolUseId"]
        for m in agent.messages
        for b in m["content"]
        if "toolResult" in b
    ]
    assert history_results == ["c1", "c2"]
