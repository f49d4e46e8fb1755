"""The agent decides interruptions from the provider's facts (speech started, audio per item).

A provider only reports that the user started speaking; the agent's playback
ledger says whether the assistant's last item was still streaming or not all
heard. These tests drive that decision with a scripted model and check what
the agent then asks of the model (truncate, cancel) by capability flag.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCancelEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
)
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, emit, expect, pause

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

CHUNK = b"\x00\x00" * 2400  # 100 ms of 24 kHz mono PCM16
SPEECH = BidiSpeechEvent("started", "user_1", 1200)


def audio(n: int, item: str = "a1", response: str = "r1") -> list[BidiOutputEvent]:
    return [BidiAudioStreamEvent(CHUNK, response_id=response, item_id=item) for _ in range(n)]


def heard(ms: float) -> BidiTextInputEvent:
    """A marker input: the test reports playback, then sends it to let the script go on."""
    return BidiTextInputEvent(f"heard {ms}")


async def until(events: AsyncIterator[BidiOutputEvent], kind: type) -> list[BidiOutputEvent]:
    seen: list[BidiOutputEvent] = []
    async for event in events:
        seen.append(event)
        if isinstance(event, kind):
            return seen
    return seen


async def _barge_in(model: FakeModel, heard_ms: float) -> tuple[BidiAgent, list[BidiOutputEvent]]:
    """1000 ms of a1 arrive; the player reports ``heard_ms``; the user starts speaking."""
    agent = BidiAgent(model)
    await agent.start()
    agent.playback.attach_player()
    events = agent.receive()
    seen = await until(events, BidiAudioStreamEvent)
    while sum(isinstance(e, BidiAudioStreamEvent) for e in seen) < 10:
        seen.append(await anext(events))
    agent.playback.report("a1", heard_ms)
    await agent.send(heard(heard_ms))
    seen += await until(events, BidiResponseCompleteEvent)
    return agent, seen


def script(*after: object) -> list[object]:
    return [
        expect(BidiTextInputEvent, where=lambda e: e.text.startswith("heard")),
        emit(SPEECH),
        *after,
    ]


async def test_speech_over_unheard_audio_cuts_truncates_and_cancels() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            *script(
                expect(BidiResponseCancelEvent),
                emit(
                    BidiTranscriptStreamEvent("a long answer", "assistant", True, "", "r1", "a1"),
                    BidiResponseCompleteEvent("r1", "interrupted"),
                ),
            ),
        ],
        truncation=True,
        server_interrupts=False,
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 300.0)
        await agent.stop()
    [interruption] = [e for e in seen if isinstance(e, BidiInterruptionEvent)]
    assert interruption == BidiInterruptionEvent("user_speech", "r1", "a1", 1000)
    # the speech fact reaches the outputs too, before the interruption
    kinds = [type(e) for e in seen]
    assert kinds.index(BidiSpeechEvent) < kinds.index(BidiInterruptionEvent)
    requests = [e for e in model.sent if not isinstance(e, BidiTextInputEvent)]
    assert requests == [
        BidiResponseCancelEvent("r1", "user_speech"),
        BidiAudioTruncateEvent("a1", 300, "r1"),
    ]
    assert agent.messages[-1] == {
        "role": "assistant",
        "content": [{"text": "a long answer"}],
        "interrupted": True,
    }


async def test_no_cancel_when_the_server_cancels_by_itself() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            *script(emit(BidiResponseCompleteEvent("r1", "interrupted"))),
        ],
        truncation=True,
        server_interrupts=True,
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 420.0)
        await model.wait_sent(BidiAudioTruncateEvent)
        await agent.stop()
    assert any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert model.sent_of(BidiResponseCancelEvent) == []
    assert model.sent_of(BidiAudioTruncateEvent) == [BidiAudioTruncateEvent("a1", 420, "r1")]


async def test_neither_truncate_nor_cancel_when_the_model_cannot() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            *script(emit(BidiResponseCompleteEvent("r1", "interrupted"))),
        ],
        truncation=False,
        server_interrupts=False,
        response_cancel=False,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 300.0)
        await agent.stop()
    assert any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert [e for e in model.sent if not isinstance(e, BidiTextInputEvent)] == []


async def test_speech_after_a_fully_heard_answer_changes_nothing() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10), BidiResponseCompleteEvent("r1")),
            *script(emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2"))),
        ],
        truncation=True,
        server_interrupts=False,
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 1000.0)
        seen += await until(agent.receive(), BidiResponseCompleteEvent)
        await agent.stop()
    assert not any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert [e for e in model.sent if not isinstance(e, BidiTextInputEvent)] == []


async def test_a_finished_answer_still_playing_is_cut_without_a_cancel() -> None:
    # the response is over on the server, but the user has heard 200 of 1000 ms
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10), BidiResponseCompleteEvent("r1")),
            *script(emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2"))),
        ],
        truncation=True,
        server_interrupts=False,
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 200.0)
        seen += await until(agent.receive(), BidiResponseCompleteEvent)
        await model.wait_sent(BidiAudioTruncateEvent)
        await agent.stop()
    assert [e.item_id for e in seen if isinstance(e, BidiInterruptionEvent)] == ["a1"]
    assert model.sent_of(BidiResponseCancelEvent) == []  # nothing streams: nothing to cancel
    assert model.sent_of(BidiAudioTruncateEvent) == [BidiAudioTruncateEvent("a1", 200, "r1")]


async def test_the_truncation_is_clamped_once_by_the_ledger() -> None:
    # a player that reports more than arrived (its own rounding): the figure is
    # clamped to the audio received, so nothing unheard is left to forget
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            *script(emit(BidiResponseCompleteEvent("r1", "interrupted"))),
        ],
        truncation=True,
        server_interrupts=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 5000.0)
        await agent.stop()
    # still streaming: an interruption, but no needless truncate
    assert any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert model.sent_of(BidiAudioTruncateEvent) == []


async def test_late_chunks_of_a_cut_item_never_reach_an_output() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), *audio(3)),
            emit(SPEECH),
            emit(*audio(4)),  # in flight when the user spoke
            emit(BidiResponseCompleteEvent("r1", "interrupted")),
            emit(BidiResponseStartEvent("r2"), *audio(2, item="a2", response="r2")),
            emit(BidiResponseCompleteEvent("r2")),
        ],
        server_interrupts=True,
    )
    output = RecordingOutput()
    agent = BidiAgent(model, settle_timeout_s=5, output_drain_timeout_s=0.5)
    async with asyncio.timeout(6):
        await agent.run(inputs=[ScriptedInput(["talk"])], outputs=[output])
    chunks = [e.item_id for e in output.of(BidiAudioStreamEvent)]
    assert chunks.count("a1") <= 3  # at most what came before the cut
    assert chunks.count("a2") == 2  # the next answer plays in full
    types = [type(e) for e in output.events]
    cut_at = types.index(BidiInterruptionEvent)
    assert all(
        not (isinstance(e, BidiAudioStreamEvent) and e.item_id == "a1")
        for e in output.events[cut_at:]
    )


async def test_wall_clock_is_the_fallback_without_a_reporting_player() -> None:
    # 10 s of audio arrive at once and nobody reports playback: by the wall
    # clock the user has heard far less, so their speech cuts the item
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(100), BidiResponseCompleteEvent("r1")),
            expect(BidiTextInputEvent),
            emit(SPEECH),
            emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ],
        truncation=True,
    )
    async with asyncio.timeout(5), BidiAgent(model) as agent:
        events = agent.receive()
        seen = await until(events, BidiResponseCompleteEvent)
        await agent.send("go on")
        seen += await until(events, BidiResponseCompleteEvent)
        [truncate] = await model.wait_sent(BidiAudioTruncateEvent)
    assert any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert truncate.item_id == "a1"
    assert 0 <= truncate.audio_end_ms < 10_000


async def test_wall_clock_fallback_lets_a_short_answer_be_heard() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(1), BidiResponseCompleteEvent("r1")),
            pause(0.3),  # 100 ms of audio, long over by the wall clock
            emit(SPEECH, BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ],
        truncation=True,
    )
    async with asyncio.timeout(5), BidiAgent(model) as agent:
        events = agent.receive()
        seen = await until(events, BidiResponseCompleteEvent)
        seen += await until(events, BidiResponseCompleteEvent)
    assert not any(isinstance(e, BidiInterruptionEvent) for e in seen)
    assert model.sent_of(BidiAudioTruncateEvent) == []


async def test_an_item_is_cut_once() -> None:
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            *script(emit(SPEECH), emit(BidiResponseCompleteEvent("r1", "interrupted"))),
        ],
        truncation=True,
        server_interrupts=False,
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await _barge_in(model, 100.0)
        await agent.stop()
    assert len([e for e in seen if isinstance(e, BidiInterruptionEvent)]) == 1
    assert len(model.sent_of(BidiResponseCancelEvent)) == 1
    assert len(model.sent_of(BidiAudioTruncateEvent)) == 1


async def test_run_waits_for_the_models_answer_pending() -> None:
    # answer_pending is part of the BidiModel protocol: run() reads it directly
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), BidiResponseCompleteEvent("r1")),
        ]
    )
    model.pending_answer = True  # e.g. a second line queued behind the first answer
    agent = BidiAgent(model, settle_timeout_s=5)
    ended = asyncio.Event()

    async def clear_later() -> None:
        await asyncio.sleep(0.3)
        assert not ended.is_set()
        model.pending_answer = False
        agent._turn.activity.set()

    async def run() -> None:
        await agent.run(inputs=[ScriptedInput(["hi"])])
        ended.set()

    async with asyncio.timeout(5):
        await asyncio.gather(run(), clear_later())
    assert ended.is_set()
