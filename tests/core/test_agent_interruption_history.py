"""Barge-in on a model that cannot truncate: the agent's history keeps what was heard.

With ``capabilities.truncation`` false the model keeps everything it said, so
the agent's own history is the only record of what the user heard. These
tests drive the decision with a scripted model (flags only, no provider type)
and check the history, the requests sent, and the replay on a reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from agent_kit import only_core_plugins

from fullduplex._history import heard_share
from fullduplex._interruption import Cut, plan
from fullduplex.agent import BidiAgent
from fullduplex.errors import ModelConnectionError
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
from fullduplex.model import ModelCapabilities
from fullduplex.testing import FakeModel, emit, expect, fail

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

CHUNK = b"\x00\x00" * 2400  # 100 ms of 24 kHz mono PCM16
ANSWER = "one two three four five six seven eight nine ten"
SPEECH = BidiSpeechEvent("started", "u1", 0)
REPORTED = BidiInterruptionEvent("user_speech", "r1", "r1", 1000)


def audio(n: int) -> list[BidiOutputEvent]:
    return [BidiAudioStreamEvent(CHUNK, response_id="r1", item_id="r1") for _ in range(n)]


def final(text: str = ANSWER) -> BidiTranscriptStreamEvent:
    return BidiTranscriptStreamEvent("", "assistant", True, text, "r1", "r1")


async def until(events: AsyncIterator[BidiOutputEvent], kind: type) -> list[BidiOutputEvent]:
    seen: list[BidiOutputEvent] = []
    async for event in events:
        seen.append(event)
        if isinstance(event, kind):
            return seen
    return seen


async def barge_in(model: FakeModel, heard_ms: float) -> tuple[BidiAgent, list[BidiOutputEvent]]:
    """1000 ms of r1 arrive, the player reports ``heard_ms``, then the script goes on."""
    agent = BidiAgent(model, restart_backoff_s=0)
    await agent.start()
    agent.playback.attach_player()
    events = agent.receive()
    seen: list[BidiOutputEvent] = []
    while sum(isinstance(e, BidiAudioStreamEvent) for e in seen) < 10:
        seen.append(await anext(events))
    agent.playback.report("r1", heard_ms)
    await agent.send("heard")
    seen += await until(events, BidiResponseCompleteEvent)
    return agent, seen


def no_truncation(*after: object, response_cancel: bool = False) -> FakeModel:
    return FakeModel(
        [emit(BidiResponseStartEvent("r1"), *audio(10)), expect(BidiTextInputEvent), *after],
        truncation=False,
        server_interrupts=True,
        response_cancel=response_cancel,
    )


def test_heard_share_cuts_at_a_word_boundary() -> None:
    assert heard_share(ANSWER, 1.0) == ANSWER
    assert heard_share(ANSWER, 0.0) == ""
    assert heard_share(ANSWER, 0.3) == "one two three"  # 15 chars, back to a word end
    assert heard_share("supercalifragilistic", 0.5) == ""  # no whole word was heard
    assert heard_share("a b", 0.34) == "a"


def test_plan_adapts_by_flags_only() -> None:
    cut = Cut("a1", "r1", 300, 1000, streaming=True)
    caps = ModelCapabilities
    openai_like = plan(cut, caps(truncation=True, response_cancel=True), reported=False)
    assert (openai_like.cancel, openai_like.truncate, openai_like.shorten_history) == (
        True,
        True,
        False,
    )
    gemini_like = plan(
        cut, caps(truncation=False, server_interrupts=True, response_cancel=False), reported=True
    )
    assert (gemini_like.cancel, gemini_like.truncate, gemini_like.shorten_history) == (
        False,
        False,
        True,
    )
    # a reported cut never asks for a cancel, even from a model that takes one
    reported = plan(cut, caps(response_cancel=True), reported=True)
    assert not reported.cancel
    heard_all = plan(Cut("a1", "r1", 1000, 1000, streaming=True), caps(), reported=True)
    assert not heard_all.shorten_history
    assert not heard_all.truncate


async def test_a_reported_cut_shortens_the_late_transcript_to_the_heard_share() -> None:
    # the provider reports the server's own interruption; the transcript comes after
    model = no_truncation(
        emit(REPORTED, final(), BidiResponseCompleteEvent("r1", "interrupted")),
    )
    async with asyncio.timeout(5):
        agent, seen = await barge_in(model, 300.0)
        await agent.stop()
    assert [e.item_id for e in seen if isinstance(e, BidiInterruptionEvent)] == ["r1"]
    assert agent.messages[-1] == {
        "role": "assistant",
        "content": [{"text": heard_share(ANSWER, 0.3)}],
        "interrupted": True,
    }
    assert agent.messages[-1]["content"][0]["text"] == "one two three"
    # no truncation, and no cancel: the server cut the response itself
    assert [e for e in model.sent if not isinstance(e, BidiTextInputEvent)] == []


async def test_a_transcript_recorded_before_the_cut_is_shortened_in_place() -> None:
    model = FakeModel(
        [
            emit(
                BidiResponseStartEvent("r1"), *audio(10), final(), BidiResponseCompleteEvent("r1")
            ),
            expect(BidiTextInputEvent),
            emit(SPEECH, BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ],
        truncation=False,
        server_interrupts=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await barge_in(model, 500.0)
        seen += await until(agent.receive(), BidiResponseCompleteEvent)
        await agent.stop()
    assert any(isinstance(e, BidiInterruptionEvent) for e in seen)
    [assistant] = [m for m in agent.messages if m["role"] == "assistant"]
    assert assistant == {
        "role": "assistant",
        "content": [{"text": "one two three four five"}],
        "interrupted": True,
    }


async def test_nothing_heard_leaves_no_assistant_message() -> None:
    model = no_truncation(emit(REPORTED, final(), BidiResponseCompleteEvent("r1", "interrupted")))
    async with asyncio.timeout(5):
        agent, _seen = await barge_in(model, 0.0)
        await agent.stop()
    assert [m["role"] for m in agent.messages] == ["user"]


async def test_speech_then_the_servers_report_is_one_cut() -> None:
    # the agent decides on the user's speech; the server's report of the same cut
    # is a fact about an item already cut: no second interruption, no cancel
    model = no_truncation(
        emit(SPEECH, REPORTED, final(), BidiResponseCompleteEvent("r1", "interrupted")),
        response_cancel=True,
    )
    async with asyncio.timeout(5):
        agent, seen = await barge_in(model, 300.0)
        await agent.stop()
    assert len([e for e in seen if isinstance(e, BidiInterruptionEvent)]) == 1
    assert model.sent_of(BidiResponseCancelEvent) == []
    assert model.sent_of(BidiAudioTruncateEvent) == []
    assert agent.messages[-1]["content"] == [{"text": "one two three"}]


async def test_a_model_that_truncates_keeps_the_full_transcript() -> None:
    # the same cut on a model that forgets the unheard end itself: the history
    # keeps the transcript whole (the model's truncation is the record)
    model = FakeModel(
        [
            emit(BidiResponseStartEvent("r1"), *audio(10)),
            expect(BidiTextInputEvent),
            emit(REPORTED, final(), BidiResponseCompleteEvent("r1", "interrupted")),
        ],
        truncation=True,
        server_interrupts=True,
    )
    async with asyncio.timeout(5):
        agent, _seen = await barge_in(model, 300.0)
        await model.wait_sent(BidiAudioTruncateEvent)
        await agent.stop()
    assert agent.messages[-1]["content"] == [{"text": ANSWER}]
    assert model.sent_of(BidiAudioTruncateEvent) == [BidiAudioTruncateEvent("r1", 300, "r1")]


async def test_a_reconnect_replays_the_shortened_history() -> None:
    model = no_truncation(
        emit(REPORTED, final(), BidiResponseCompleteEvent("r1", "interrupted")),
        expect(BidiTextInputEvent, where=lambda e: e.text == "again"),
        fail(ModelConnectionError("socket closed")),
        emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
    )
    async with asyncio.timeout(5):
        agent, _seen = await barge_in(model, 300.0)
        await agent.send("again")
        events = agent.receive()
        while len(model.starts) < 2:
            await anext(events)
        await agent.stop()
    replayed = model.starts[1].messages
    assert replayed == [
        {"role": "user", "content": [{"text": "heard"}]},
        {"role": "assistant", "content": [{"text": "one two three"}], "interrupted": True},
        {"role": "user", "content": [{"text": "again"}]},
    ]
