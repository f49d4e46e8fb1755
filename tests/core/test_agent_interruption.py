"""Interruptions: every output at once, pending audio dropped, truncation, cancellable tools."""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, emit, expect, pause
from fullduplex.tools import tool

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

CHUNK = b"\x00\x00" * 2400  # 100 ms of 24 kHz mono PCM16


def audio(n: int, item: str = "a1", response: str = "r1") -> list[BidiOutputEvent]:
    return [BidiAudioStreamEvent(CHUNK, response_id=response, item_id=item) for _ in range(n)]


class StampingOutput(RecordingOutput):
    """Records when each event arrived."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(delay_s)
        self.arrivals: list[tuple[str, float]] = []

    async def __call__(self, event: BidiOutputEvent) -> None:
        self.arrivals.append((event.type, asyncio.get_running_loop().time()))
        await super().__call__(event)


async def test_interruption_reaches_every_output_at_once_despite_a_slow_one() -> None:
    interrupted_at: list[float] = []
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            pause(0.05),
            emit(BidiInterruptionEvent(response_id="r1", item_id="a1")),
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
        ]
    )
    slow = StampingOutput(delay_s=1.0)
    fast = StampingOutput()

    class Probe:
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def on_interruption(self, agent: BidiAgent, event: BidiInterruptionEvent) -> None:
            interrupted_at.append(asyncio.get_running_loop().time())

    agent = BidiAgent(model, plugins=[Probe()], settle_timeout_s=5, output_drain_timeout_s=0.2)
    async with asyncio.timeout(6):
        await agent.run(inputs=[ScriptedInput(["talk"])], outputs=[slow, fast])
    for output in (slow, fast):
        kinds = [kind for kind, _ in output.arrivals]
        assert "bidi_interruption" in kinds
    slow_time = dict(slow.arrivals)["bidi_interruption"]
    fast_time = dict(fast.arrivals)["bidi_interruption"]
    # the slow output was still busy with its first event (1 s each), yet got it now
    assert abs(slow_time - fast_time) < 0.5
    assert slow_time - interrupted_at[0] < 0.5
    # its backlog of audio was dropped, not played after the interruption
    assert len(slow.of(BidiAudioStreamEvent)) < 3
    # the fast output received everything, and the model reader was never stalled
    assert len(fast.of(BidiAudioStreamEvent)) == 10
    assert model.finished


async def test_truncates_to_what_the_player_reported_heard() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), *audio(10)),  # 1000 ms received
            expect(BidiTextInputEvent, where=lambda e: e.text == "heard"),
            emit(
                BidiInterruptionEvent(response_id="r1", item_id="a1"),
                BidiTranscriptStreamEvent(
                    "long answer", "assistant", True, "long answer", "r1", "a1"
                ),
                BidiResponseCompleteEvent("r1", "interrupted"),
            ),
        ],
        truncation=True,
    )
    async with BidiAgent(model) as agent:
        agent.playback.attach_player()
        await agent.send("talk")
        events = agent.receive()
        async with asyncio.timeout(3):
            first = [e async for e in _take(events, 11)]
            assert len(first) == 11
            agent.playback.report("a1", 420.0)
            await agent.send("heard")
            (truncate,) = await model.wait_sent(BidiAudioTruncateEvent)
            async for event in events:
                if isinstance(event, BidiResponseCompleteEvent):
                    break
    assert truncate == BidiAudioTruncateEvent("a1", 420, "r1")
    assistant = [m for m in agent.messages if m["role"] == "assistant"]
    assert assistant == [
        {"role": "assistant", "content": [{"text": "long answer"}], "interrupted": True}
    ]


async def _take(events: object, n: int) -> object:
    count = 0
    async for event in events:  # type: ignore[attr-defined]
        yield event
        count += 1
        if count >= n:
            return


async def test_no_truncation_when_the_model_cannot() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(5)),
            emit(BidiInterruptionEvent(response_id="r1", item_id="a1")),
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
        ],
        truncation=False,
    )
    async with BidiAgent(model) as agent:
        async with asyncio.timeout(3):
            kinds = []
            async for event in agent.receive():
                kinds.append(event.type)
                if event.type == "bidi_response_complete":
                    break
    assert "bidi_interruption" in kinds
    assert model.sent_of(BidiAudioTruncateEvent) == []


async def test_speech_after_a_fully_heard_answer_is_not_an_interruption() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(3), BidiResponseCompleteEvent("r1")),
            expect(BidiTextInputEvent),
            emit(BidiInterruptionEvent(item_id="a1"), BidiResponseStartEvent("r2")),
        ],
        truncation=True,
    )
    async with BidiAgent(model) as agent:
        agent.playback.attach_player()
        kinds = []
        async with asyncio.timeout(3):
            async for event in agent.receive():
                kinds.append(event.type)
                if event.type == "bidi_response_complete":
                    agent.playback.report("a1", 300.0)  # all 300 ms were played
                    await agent.send("next")
                if event.type == "bidi_response_start" and len(kinds) > 1:
                    break
    assert "bidi_interruption" not in kinds
    assert model.sent_of(BidiAudioTruncateEvent) == []


async def test_cancellable_tools_are_cancelled_on_interruption_and_reported_once() -> None:
    @tool(cancel_on_interruption=True)
    async def search(query: str) -> str:
        """Searches slowly."""
        await asyncio.sleep(30)
        return "found"

    @tool
    async def remember(fact: str) -> str:
        """Not cancellable."""
        await asyncio.sleep(0.3)
        return "noted"

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("s1", "search", json.dumps({"query": "x"}), is_final=True),
                ToolUseStreamEvent("m1", "remember", json.dumps({"fact": "y"}), is_final=True),
                *audio(2),
            ),
            pause(0.05),
            emit(BidiInterruptionEvent(response_id="r1", item_id="a1")),
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
            expect(ToolResultEvent),
            expect(ToolResultEvent),
            emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ]
    )
    agent = BidiAgent(model, tools=[search, remember])
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(["look it up"])])
    results = {r.call_id: r.status for r in model.sent_of(ToolResultEvent)}
    assert results == {"s1": "cancelled", "m1": "success"}
    assert len(model.sent_of(ToolResultEvent)) == 2


async def test_interruption_without_an_item_names_the_cut_item_to_the_outputs() -> None:
    # A provider may not know which item the user cut short; the agent does
    # (the last audio item). Outputs need it to drop that item's late chunks.
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), *audio(3)),
            emit(BidiInterruptionEvent(response_id="r1")),
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
        ]
    )
    output = RecordingOutput()
    agent = BidiAgent(model, settle_timeout_s=5, output_drain_timeout_s=0.2)
    async with asyncio.timeout(6):
        await agent.run(inputs=[ScriptedInput(["talk"])], outputs=[output])
    [interruption] = output.of(BidiInterruptionEvent)
    assert interruption.item_id == "a1"
    assert interruption.response_id == "r1"
