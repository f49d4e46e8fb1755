"""The agent's handling of the model's events: history, tools, interruptions, outputs.

One :class:`ModelEvents` per conversation (made at ``start()``). The agent's
reader hands it every event of the model:

- audio takes :meth:`ModelEvents.audio`, the hot path: a cut item's late
  chunk is dropped (one set lookup), any other is counted once (the playback
  ledger) and the same object goes on to the outputs, with no hook, no
  validation and no copy;
- the user's speech and a server's own interruption go to
  :mod:`._interruption`, which decides; a decided cut is carried out here:
  every output told at once, the history marked, and the requests the model
  can take (:func:`._interruption.plan`: ``BidiResponseCancelEvent`` when the
  server does not cancel by itself, ``BidiAudioTruncateEvent`` to what was
  heard, or, without truncation, the history shortened to the heard share),
  then cancellable tools and the ``on_interruption`` hooks;
- final transcripts become history, finished tool calls become tool runs,
  calls the server withdrew (``BidiToolCancelEvent``) are cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._interruption import Cut, Interruptions, plan
from .events import (
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCancelEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiToolCancelEvent,
    BidiTranscriptStreamEvent,
    ToolUseStreamEvent,
)

if TYPE_CHECKING:
    from ._history import HistoryRecorder
    from ._run import TurnState
    from ._tool_calls import ToolCalls
    from .agent import BidiAgent


def _audio_ms(event: BidiAudioStreamEvent) -> float:
    """Duration of an audio chunk from its size and format (arithmetic only)."""
    width = 2 if event.format == "pcm16" else 1
    per_second = width * event.channels * event.sample_rate
    return len(event.audio) * 1000.0 / per_second if per_second > 0 else 0.0


class ModelEvents:
    """Routes one conversation's model events (see the module docstring)."""

    __slots__ = ("_agent", "_cuts", "_emit", "_history", "_ledger", "_tools", "_turn")

    def __init__(
        self,
        agent: BidiAgent,
        cuts: Interruptions,
        history: HistoryRecorder,
        tools: ToolCalls,
        turn: TurnState,
    ) -> None:
        self._agent = agent
        self._cuts = cuts
        self._ledger = cuts.ledger
        self._history = history
        self._tools = tools
        self._turn = turn
        self._emit = agent._emit

    def audio(self, event: BidiAudioStreamEvent) -> None:
        """Drop a cut item's late chunk; count the rest once (the ledger); hand it on."""
        item = event.item_id
        if item is not None:
            cuts = self._cuts
            if item in cuts.cut:
                return  # in flight when the user cut its item: never played
            self._ledger.note_audio(item, _audio_ms(event))
            if item != cuts.last_item:
                cuts.last_item = item
                cuts.last_response = event.response_id
        self._emit(event)

    async def handle(self, event: BidiOutputEvent) -> None:
        if isinstance(event, BidiResponseStartEvent):
            self._turn.response_started(event.response_id)
            self._emit(event)
        elif isinstance(event, BidiResponseCompleteEvent):
            self._turn.response_completed(event.response_id)
            self._emit(event)
        elif isinstance(event, BidiTranscriptStreamEvent):
            self._emit(event)
            if event.is_final:
                await self._history.record_transcript(event)
        elif isinstance(event, ToolUseStreamEvent):
            self._emit(event)
            if event.is_final:
                await self._tools.start(event)
        elif isinstance(event, BidiToolCancelEvent):
            self._emit(event)
            self._tools.withdraw(event.call_ids)
        elif isinstance(event, BidiInterruptionEvent):
            await self._on_reported_interruption(event)
        elif isinstance(event, BidiSpeechEvent):
            await self._on_speech(event)
        elif isinstance(event, BidiAudioStreamEvent):  # a subclass, past _read's fast path
            self.audio(event)
        else:
            self._emit(event)

    # ----------------------------------------------------------- interruption
    async def _on_speech(self, event: BidiSpeechEvent) -> None:
        """The user started or stopped speaking: an answer is owed; maybe a cut."""
        if event.state == "stopped":
            if event.item_id is not None:
                self._history.user_turn_ended(event.item_id)
            self._turn.answer_owed()
            self._emit(event)
            return
        self._turn.answer_owed()
        self._emit(event)
        cut = self._cuts.on_speech_started(self._turn.active_response)
        if cut is None:
            return
        notice = BidiInterruptionEvent("user_speech", cut.response_id, cut.item_id, cut.received_ms)
        await self._carry_out(cut, notice, reported=False)

    async def _on_reported_interruption(self, event: BidiInterruptionEvent) -> None:
        """The server says it cut a response: act on it unless it cuts nothing new."""
        cut = self._cuts.on_reported(event, self._turn.active_response)
        if cut is None:
            return
        if cut.item_id is not None and cut.item_id != event.item_id:
            # tell the outputs which item was cut (the provider may not know)
            event = attrs.evolve(
                event,
                item_id=cut.item_id,
                audio_received_ms=max(event.audio_received_ms, cut.received_ms),
            )
        await self._carry_out(cut, event, reported=True)

    async def _carry_out(self, cut: Cut, event: BidiInterruptionEvent, *, reported: bool) -> None:
        """Act on a decided interruption: every output at once, then the model's requests."""
        todo = plan(cut, self._agent.model.capabilities, reported=reported)
        fanout = self._agent._fanout
        if fanout is not None:
            fanout.interrupt(event)
        else:
            self._agent._queue.put_nowait(event)
        item = cut.item_id
        if item is not None:
            keep = cut.heard_fraction if todo.shorten_history else None
            self._history.mark_interrupted(item, keep=keep)
        if todo.cancel:
            await self._agent._deliver(BidiResponseCancelEvent(cut.response_id, "user_speech"))
        if todo.truncate and item is not None:
            await self._agent._deliver(BidiAudioTruncateEvent(item, cut.heard_ms, cut.response_id))
        self._tools.cancel_on_interruption()
        await self._agent._hooks.call("on_interruption", agent=self._agent, event=event)
