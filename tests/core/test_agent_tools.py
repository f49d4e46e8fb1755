"""Tool calls inside a conversation: concurrency, exactly-once results, errors, stop."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from agent_kit import only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, Step, emit, expect
from fullduplex.tools import ToolContext, stop_conversation, tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


@tool
async def nap(seconds: float) -> str:
    """Sleep, then say so.

    Args:
        seconds: how long to sleep.
    """
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


@tool(timeout_s=0.1)
async def too_slow() -> str:
    """Takes longer than its limit."""
    await asyncio.sleep(5)
    return "never"


def call(call_id: str, name: str, arguments: object, response_id: str = "r1") -> ToolUseStreamEvent:
    return ToolUseStreamEvent(
        call_id, name, json.dumps(arguments), is_final=True, response_id=response_id
    )


def answer(response_id: str, text: str) -> list[object]:
    return [
        BidiResponseStartEvent(response_id),
        BidiTranscriptStreamEvent(
            text, "assistant", True, text, response_id, f"item-{response_id}"
        ),
        BidiResponseCompleteEvent(response_id),
    ]


def calls_then_answer(calls: list[ToolUseStreamEvent], reply: str) -> list[Step]:
    """The model's script: one user line, one response made of ``calls``, a result
    awaited for each call, then ``reply`` spoken in response r2."""
    return [
        expect(BidiTextInputEvent),
        emit(BidiResponseStartEvent("r1"), *calls, BidiResponseCompleteEvent("r1", "tool_use")),
        *[expect(ToolResultEvent) for _ in calls],
        emit(*answer("r2", reply)),  # type: ignore[arg-type]
    ]


async def test_two_calls_in_one_response_run_concurrently_and_report_once() -> None:
    model = FakeModel(
        calls_then_answer(
            [
                call("c1", "nap", {"seconds": 1.0}),
                call("c2", "nap", {"seconds": 1.5}),
            ],
            "both done",
        )
    )
    agent = BidiAgent(model, tools=[nap])
    started = time.monotonic()
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["nap twice"])], outputs=[RecordingOutput()])
    elapsed = time.monotonic() - started
    # concurrent: about 1.5 s; one after the other: at least 2.5 s. The bound sits
    # halfway, so a loaded machine neither fails the first nor passes the second.
    assert elapsed < 2.0, f"tools ran one after the other ({elapsed:.2f} s)"
    results = model.sent_of(ToolResultEvent)
    assert sorted(r.call_id for r in results) == ["c1", "c2"]  # each exactly once
    assert {r.call_id: json.loads(r.content) for r in results} == {
        "c1": "slept 1.0",
        "c2": "slept 1.5",
    }
    uses = [
        b["toolUse"]["toolUseId"] for m in agent.messages for b in m["content"] if "toolUse" in b
    ]
    outs = [
        (b["toolResult"]["toolUseId"], b["toolResult"]["status"])
        for m in agent.messages
        for b in m["content"]
        if "toolResult" in b
    ]
    assert sorted(uses) == ["c1", "c2"]
    assert sorted(outs) == [("c1", "success"), ("c2", "success")]
    assert agent.messages[-1]["content"] == [{"text": "both done"}]


async def test_raising_tool_invalid_arguments_and_timeout_become_error_results() -> None:
    model = FakeModel(
        calls_then_answer(
            [
                call("c1", "explode", {"reason": "kaboom"}),
                call("c2", "too_slow", {}),
                call("c3", "nap", {"seconds": "soon"}),
                call("c4", "no_such_tool", {}),
            ],
            "sorry, that failed",
        )
    )
    agent = BidiAgent(model, tools=[explode, too_slow, nap])
    out = RecordingOutput()
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])], outputs=[out])
    results = {r.call_id: r for r in model.sent_of(ToolResultEvent)}
    assert all(r.status == "error" for r in results.values())
    errors = {cid: json.loads(r.content)["error"] for cid, r in results.items()}
    assert "ValueError: kaboom" in errors["c1"]
    assert "timed out after 0.1 s" in errors["c2"]
    assert "seconds" in errors["c3"]
    assert "valid number" in errors["c3"]
    assert "unknown tool 'no_such_tool'" in errors["c4"]
    # the conversation went on after the failures
    assert agent.messages[-1]["content"] == [{"text": "sorry, that failed"}]
    assert len(out.of(ToolResultEvent)) == 4


async def test_stop_conversation_ends_run_and_cancels_running_tools() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                call("slow", "nap", {"seconds": 30}),
                call("bye", "stop_conversation", {}),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
        ]
    )
    agent = BidiAgent(model, tools=[nap, stop_conversation])
    out = RecordingOutput()
    source = ScriptedInput(["goodbye", asyncio.Event()])  # the input never finishes by itself
    async with asyncio.timeout(5):
        await agent.run(inputs=[source], outputs=[out])
    await settle_loop()
    assert other_tasks() == set()
    statuses = {
        b["toolResult"]["toolUseId"]: b["toolResult"]["status"]
        for m in agent.messages
        for b in m["content"]
        if "toolResult" in b
    }
    assert statuses == {"bye": "success", "slow": "cancelled"}
    assert source.stopped == 1
    assert out.stopped == 1
    assert model.stop_calls >= 1


async def test_a_tool_can_ask_to_stop_through_its_context() -> None:
    seen: list[tuple[str, str, bool]] = []

    @tool
    async def hang_up(context: ToolContext) -> str:
        """Ends the call."""
        context.state["touched"] = True
        seen.append((context.call_id, context.tool_name, context.agent is agent))
        context.request_stop()
        return "bye"

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), call("h1", "hang_up", {})),
        ]
    )
    agent = BidiAgent(model, tools=[hang_up])
    assert "context" not in hang_up.spec.parameters["properties"]
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["hang up", asyncio.Event()])])
    assert seen == [("h1", "hang_up", True)]
    assert agent.stop_requested


async def test_sync_tools_run_in_a_thread_not_on_the_loop() -> None:
    @tool
    def blocking(seconds: float) -> str:
        """Blocks its thread."""
        time.sleep(seconds)
        return "done"

    model = FakeModel(
        calls_then_answer(
            [
                call("b1", "blocking", {"seconds": 0.4}),
                call("b2", "blocking", {"seconds": 0.4}),
            ],
            "ok",
        )
    )
    agent = BidiAgent(model, tools=[blocking])
    started = time.monotonic()
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])])
    assert time.monotonic() - started < 0.4 * 1.6
    assert [json.loads(r.content) for r in model.sent_of(ToolResultEvent)] == ["done", "done"]


async def test_agent_default_tool_timeout_applies_to_tools_without_one() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), call("n1", "nap", {"seconds": 5})),
            expect(ToolResultEvent),
            emit(BidiResponseCompleteEvent("r1"), *answer("r2", "ok")),  # type: ignore[arg-type]
        ]
    )
    agent = BidiAgent(model, tools=[nap], tool_timeout_s=0.1)
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["go"])])
    (result,) = model.sent_of(ToolResultEvent)
    assert result.status == "error"
    assert "timed out" in result.content
