"""``BidiAgent.metrics``: per-turn and total figures from the events the agent sees.

The figures' arithmetic is checked on :class:`AgentMetrics` with a hand-driven
clock; the agent's feeding (text sent, speech, audio's hot path, usage, tools,
interruptions via the playback ledger, reconnects) with a scripted model.
"""

from __future__ import annotations

import asyncio
import threading

from fullduplex import BidiAgent
from fullduplex.errors import ModelConnectionError
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiInterruptionEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    BidiTurnMetricsEvent,
    BidiUsageEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.metrics import AgentMetrics, MeteredLedger
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, emit, expect, fail
from fullduplex.tools import tool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def audio(item: str = "i1", response: str = "r1", ms: int = 100) -> BidiAudioStreamEvent:
    return BidiAudioStreamEvent(b"\x00\x00" * (24 * ms), 24000, 1, "pcm16", response, item)


def test_a_spoken_turn_measures_from_the_end_of_speech() -> None:
    clock = Clock()
    ledger = MeteredLedger()
    metrics = AgentMetrics(ledger, clock=clock)
    metrics.observe(BidiSpeechEvent("started", "u1"))
    metrics.observe(BidiSpeechEvent("stopped", "u1", 900))
    clock.now += 0.2
    metrics.observe(BidiResponseStartEvent("r1"))
    clock.now += 0.1
    metrics.observe(BidiTranscriptStreamEvent("Hel", "assistant", response_id="r1"))
    clock.now += 0.05
    assert metrics.awaiting_audio
    metrics.first_audio(audio())
    assert not metrics.awaiting_audio
    metrics.observe(BidiUsageEvent(30, 12, 42, "r1"))
    metrics.observe(BidiResponseCompleteEvent("r1"))

    (turn,) = metrics.turns
    assert turn.turn == 1
    assert turn.response_id == "r1"
    assert round(turn.first_text_ms or 0) == 300
    assert round(turn.first_audio_ms or 0) == 350
    assert turn.first_played_ms is None  # no player reports playback
    assert (turn.input_tokens, turn.output_tokens) == (30, 12)
    assert metrics.current is None
    assert metrics.totals.to_dict() == {
        "turns": 1,
        "interruptions": 0,
        "reconnects": 0,
        "tool_calls": 0,
        "input_tokens": 30,
        "output_tokens": 12,
    }


def test_inputs_sent_before_the_first_answer_are_answered_in_order() -> None:
    """Two lines piped at once: each answer is measured from its own input's end."""
    clock = Clock()
    metrics = AgentMetrics(MeteredLedger(), clock=clock)
    metrics.user_input_ended()
    clock.now += 0.1
    metrics.user_input_ended()
    for response in ("r1", "r2"):
        clock.now += 0.2
        metrics.observe(BidiResponseStartEvent(response))
        metrics.observe(BidiTranscriptStreamEvent("Hi", "assistant", response_id=response))
        metrics.observe(BidiResponseCompleteEvent(response))
    assert [round(t.first_text_ms or 0) for t in metrics.turns] == [300, 400]


def test_a_tool_follow_up_belongs_to_the_same_turn() -> None:
    metrics = AgentMetrics(MeteredLedger(), clock=Clock())
    metrics.user_input_ended()
    metrics.observe(BidiResponseStartEvent("r1"))
    metrics.observe(ToolUseStreamEvent("c1", "add", "{}", is_final=True, response_id="r1"))
    metrics.observe(BidiUsageEvent(10, 5, 15, "r1"))
    metrics.observe(BidiResponseCompleteEvent("r1", "tool_use"))
    assert not metrics.turns  # the answer is still owed
    metrics.observe(BidiResponseStartEvent("r2"))
    metrics.observe(BidiUsageEvent(20, 7, 27, "r2"))
    metrics.observe(BidiResponseCompleteEvent("r2"))
    (turn,) = metrics.turns
    assert (turn.tool_calls, turn.input_tokens, turn.output_tokens) == (1, 30, 12)
    assert turn.response_id == "r1"


def test_first_played_comes_from_the_players_report_on_another_thread() -> None:
    """With a reporting player the turn waits for its first-played figure."""

    async def scenario() -> None:
        clock = Clock()
        ledger = MeteredLedger()
        metrics = AgentMetrics(ledger, clock=clock)
        seen: list[BidiTurnMetricsEvent] = []
        metrics.subscribe(seen.append)
        ledger.attach_player()
        metrics.user_input_ended(at=clock.now)
        metrics.observe(BidiResponseStartEvent("r1"))
        ledger.note_audio("i1", 100.0)
        metrics.first_audio(audio())
        metrics.observe(BidiResponseCompleteEvent("r1"))
        assert not seen  # held for the player
        player = threading.Thread(target=ledger.report, args=("i1", 20.0))
        player.start()
        player.join()
        async with asyncio.timeout(2):
            while not seen:
                await asyncio.sleep(0.01)
        (turn,) = seen
        assert turn.first_played_ms is not None
        assert turn.first_played_ms >= 0
        assert turn.first_audio_ms == 0.0

    asyncio.run(scenario())


async def test_a_held_turn_is_published_when_the_next_one_starts() -> None:
    ledger = MeteredLedger()
    metrics = AgentMetrics(ledger, clock=Clock())
    ledger.attach_player()
    metrics.user_input_ended()
    metrics.observe(BidiResponseStartEvent("r1"))
    metrics.first_audio(audio())
    metrics.observe(BidiResponseCompleteEvent("r1"))
    assert not metrics.turns
    metrics.user_input_ended()
    metrics.observe(BidiResponseStartEvent("r2"))
    assert [t.turn for t in metrics.turns] == [1]
    assert metrics.turns[0].first_played_ms is None


async def test_the_agent_feeds_its_metrics_and_emits_them_on_request() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                BidiTranscriptStreamEvent("Hi", "assistant", response_id="r1", item_id="i1"),
                audio(),
                audio(),
                BidiTranscriptStreamEvent("", "assistant", True, "Hi there", "r1", "i1"),
                BidiUsageEvent(11, 4, 15, "r1"),
                BidiResponseCompleteEvent("r1"),
            ),
        ]
    )
    agent = BidiAgent(model)
    agent.metrics.emit_events = True
    output = RecordingOutput()
    async with asyncio.timeout(10):
        await agent.run(inputs=[ScriptedInput(["hello"])], outputs=[output])
    (turn,) = agent.metrics.turns
    assert turn.first_text_ms is not None
    assert turn.first_audio_ms is not None
    assert turn.first_text_ms <= turn.first_audio_ms
    assert (turn.input_tokens, turn.output_tokens) == (11, 4)
    # emitted after the response's completion, as one event
    types = [e.type for e in output.events]
    assert types.count("bidi_turn_metrics") == 1
    assert types.index("bidi_turn_metrics") > types.index("bidi_response_complete")
    assert output.of(BidiTurnMetricsEvent)[0] == turn


async def test_metrics_events_stay_off_by_default() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(BidiResponseStartEvent("r1"), BidiResponseCompleteEvent("r1")),
        ]
    )
    agent = BidiAgent(model)
    output = RecordingOutput()
    async with asyncio.timeout(10):
        await agent.run(inputs=[ScriptedInput(["hello"])], outputs=[output])
    assert agent.metrics.totals.turns == 1
    assert not output.of(BidiTurnMetricsEvent)


async def test_interruptions_tool_calls_and_reconnects_are_counted() -> None:
    @tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("c1", "ping", "{}", is_final=True, response_id="r1"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
            expect(ToolResultEvent),
            emit(BidiResponseStartEvent("r2"), audio("i2", "r2", 400)),
            emit(BidiSpeechEvent("started", "u2")),
            emit(BidiInterruptionEvent("user_speech", "r2", "i2", 400)),
            emit(BidiResponseCompleteEvent("r2", "interrupted")),
            fail(ModelConnectionError("dropped")),
            emit(BidiSpeechEvent("stopped", "u2")),
            emit(BidiResponseStartEvent("r3"), BidiResponseCompleteEvent("r3")),
        ],
        server_interrupts=True,
    )
    agent = BidiAgent(model, tools=[ping], restart_backoff_s=0.01)
    async with asyncio.timeout(10):
        await agent.run(inputs=[ScriptedInput(["ping please"])], outputs=[RecordingOutput()])
    totals = agent.metrics.totals
    assert (totals.tool_calls, totals.interruptions, totals.reconnects) == (1, 1, 1)
    first = agent.metrics.turns[0]
    assert first.interrupted
    assert first.tool_calls == 1
    # no player: what was heard is the wall clock since the first audio, within the audio
    assert first.heard_ms is not None
    assert 0 <= first.heard_ms <= 400
    assert totals.turns == len(agent.metrics.turns) == 2


async def test_an_answer_cut_off_while_it_still_plays_counts_as_interrupted() -> None:
    """The response completed (generation is faster than playback), the audio still
    played, and the user spoke: the turn is the interrupted one, with what was heard."""
    ledger = MeteredLedger()
    metrics = AgentMetrics(ledger)
    metrics.user_input_ended()
    metrics.observe(BidiResponseStartEvent("r1"))
    ledger.note_audio("i1", 5000.0)  # five seconds of answer, just received
    metrics.first_audio(audio(ms=5000))
    metrics.observe(BidiResponseCompleteEvent("r1"))
    assert not metrics.turns  # still playing
    await asyncio.sleep(0.05)
    metrics.on_interruption(None, BidiInterruptionEvent("user_speech", "r1", "i1", 5000))  # type: ignore[arg-type]
    (turn,) = metrics.turns
    assert turn.interrupted
    assert turn.heard_ms is not None
    assert 0 < turn.heard_ms < 5000


async def test_an_answer_heard_to_the_end_is_published_when_its_audio_ends() -> None:
    ledger = MeteredLedger()
    metrics = AgentMetrics(ledger)
    metrics.user_input_ended()
    metrics.observe(BidiResponseStartEvent("r1"))
    ledger.note_audio("i1", 100.0)
    metrics.first_audio(audio(ms=100))
    metrics.observe(BidiResponseCompleteEvent("r1"))
    assert not metrics.turns
    async with asyncio.timeout(3):
        while not metrics.turns:
            await asyncio.sleep(0.02)
    assert not metrics.turns[0].interrupted
