"""Every tool result the agent gives the model is strict JSON (issue 10, item 20).

Checked on what the model receives (``FakeModel.sent``), for values a tool
returns, a ``ToolResultEvent`` a tool builds itself, and a hook's replacement.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.hookspecs import hookimpl
from fullduplex.testing import FakeModel, emit, expect
from fullduplex.tools import ToolCall, tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


def _strict(text: str) -> object:
    def reject(name: str) -> object:
        raise AssertionError(f"{name} on the wire is not JSON")

    return json.loads(text, parse_constant=reject)


@tool
def nan_value() -> float:
    """Returns NaN."""
    return float("nan")


@tool
def raw_bytes() -> bytes:
    """Returns bytes."""
    return b"\xff\xfe"


@tool
def own_event() -> ToolResultEvent:
    """Builds its own result with non-JSON content."""
    return ToolResultEvent("x", "own_event", "NaN and more", "success")


@tool
def replaced() -> str:
    """Its result is replaced by a hook."""
    return "fine"


class Rewriter:
    @hookimpl
    def after_tool_call(self, agent: object, call: ToolCall, result: ToolResultEvent) -> object:
        if call.name == "replaced":
            return ToolResultEvent(call.call_id, call.name, "{not json", "success")
        return None


async def test_the_model_only_ever_receives_json_tool_results() -> None:
    names = ["nan_value", "raw_bytes", "own_event", "replaced"]
    calls = [ToolUseStreamEvent(f"c{i}", n, "{}", True, "r1") for i, n in enumerate(names)]
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), *calls, BidiResponseCompleteEvent("r1")),
        ]
    )
    agent = BidiAgent(
        model, tools=[nan_value, raw_bytes, own_event, replaced], plugins=[Rewriter()]
    )
    async with agent:
        await agent.send("go")
        async with asyncio.timeout(5):
            results = await model.wait_sent(ToolResultEvent, len(names))
    assert sorted(r.call_id for r in results) == ["c0", "c1", "c2", "c3"]
    for result in results:
        _strict(result.content)
    by_id = {r.call_id: _strict(r.content) for r in results}
    assert by_id["c0"] == "nan"
    assert by_id["c3"] == "{not json"
    # history holds the same JSON text, so a replay sends it too
    recorded = [
        block["toolResult"]["content"][0]["text"]
        for message in agent.messages
        for block in message["content"]
        if "toolResult" in block
    ]
    assert len(recorded) == 4
    for text in recorded:
        _strict(text)
