"""``BidiAgent.metrics``: how fast and how costly a conversation is, turn by turn.

The figures come from the events the agent already sees, so measuring costs
nothing a provider must do:

- a *turn* is the answer to one input of the user's (speech stopped, or text
  sent): it begins with the response to that input and lasts until the answer
  is complete, tool follow-ups included. Inputs are answered in order, so the
  ends of inputs not answered yet wait in line; a response nobody asked for
  (a greeting) is a turn of its own;
- ``first_audio_ms`` / ``first_text_ms``: from the end of the user's input to
  the first audio chunk / transcript text of the answer;
- ``first_played_ms``: to the moment a player first reports playing that
  audio (the playback ledger, see :mod:`fullduplex.io`); ``None`` without a
  reporting player, which is why the turn waits for it briefly;
- tokens (``BidiUsageEvent``), tool calls, interruptions (and how much of the
  answer was heard), reconnects.

Each finished turn is kept in :attr:`AgentMetrics.turns`, handed to
subscribers, and, with ``emit_events`` set (``fullduplex chat`` sets it),
emitted to the outputs as a :class:`~fullduplex.events.BidiTurnMetricsEvent`.
Off by default, so outputs and ``receive()`` loops written against the
earlier event set see nothing new. :attr:`AgentMetrics.totals` sums the
conversation. Nothing runs per audio chunk but one flag test: only
the first chunk of a turn is looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .events import (
    BidiAudioStreamEvent,
    BidiConnectionRestartEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTranscriptStreamEvent,
    BidiTurnMetricsEvent,
    BidiUsageEvent,
    ToolUseStreamEvent,
)
from .hookspecs import hookimpl
from .io import PlaybackLedger

if TYPE_CHECKING:
    from .agent import BidiAgent

logger = logging.getLogger("fullduplex.metrics")

#: finished turns kept in :attr:`AgentMetrics.turns` (the oldest go first)
MAX_TURNS = 1000

#: ends of the user's inputs waiting for their answer, at most
_MAX_WAITING = 16

Clock = Callable[[], float]
TurnListener = Callable[[BidiTurnMetricsEvent], None]
#: told when a turn begins: its number and when the user's input ended (monotonic
#: seconds, ``None`` for a response nobody asked for)
StartListener = Callable[[int, "float | None"], None]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


class MeteredLedger(PlaybackLedger):
    """A playback ledger that also says when an item is first heard.

    Players report from any thread; ``on_first_play(item_id, at)`` is called
    from that thread, once per item, with the monotonic time of the report.
    """

    def __init__(self) -> None:
        super().__init__()
        self._heard: dict[str, None] = {}
        self.on_first_play: Callable[[str, float], None] | None = None

    def report(self, item_id: str, played_ms: float) -> None:
        super().report(item_id, played_ms)
        if played_ms > 0:
            self._first(item_id)

    def add_heard(self, item_id: str, ms: float) -> None:
        super().add_heard(item_id, ms)
        if ms > 0 and item_id in self._received:
            self._first(item_id)

    def _first(self, item_id: str) -> None:
        with self._lock:
            if item_id in self._heard:
                return
            self._heard[item_id] = None
            while len(self._heard) > self._MAX_ITEMS:
                del self._heard[next(iter(self._heard))]
        callback = self.on_first_play
        if callback is not None:
            callback(item_id, time.monotonic())


@attrs.define
class MetricsTotals:
    """The whole conversation's figures."""

    turns: int = 0
    interruptions: int = 0
    reconnects: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


@attrs.define
class _Turn:
    """A turn under way (mutable; frozen into an event when it ends)."""

    index: int
    user_end: float | None
    response_id: str | None = None
    responded: bool = False
    first_item: str | None = None
    first_audio_ms: float | None = None
    first_played_ms: float | None = None
    first_text_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    interrupted: bool = False
    heard_ms: int | None = None

    def since_end(self, at: float) -> float | None:
        return None if self.user_end is None else max(0.0, (at - self.user_end) * 1000.0)

    def event(self) -> BidiTurnMetricsEvent:
        return BidiTurnMetricsEvent(
            turn=self.index,
            response_id=self.response_id,
            first_audio_ms=self.first_audio_ms,
            first_played_ms=self.first_played_ms,
            first_text_ms=self.first_text_ms,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            tool_calls=self.tool_calls,
            interrupted=self.interrupted,
            heard_ms=self.heard_ms,
        )


class AgentMetrics:
    """Live per-turn and total figures of one agent's conversation.

    The agent feeds it (:meth:`user_input_ended`, :meth:`observe`,
    :meth:`first_audio`, its hooks); read :attr:`current`, :attr:`turns` and
    :attr:`totals`, or subscribe to finished turns with :meth:`subscribe`.
    """

    def __init__(
        self,
        ledger: PlaybackLedger,
        emit: Callable[[BidiOutputEvent], None] | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._emit = emit
        self._clock = clock
        self._listeners: list[TurnListener] = []
        self._start_listeners: list[StartListener] = []
        #: also send each finished turn to the outputs / ``receive()`` as an event
        self.emit_events = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        if isinstance(ledger, MeteredLedger):
            ledger.on_first_play = self._first_play
        self.reset()

    def reset(self) -> None:
        """Forget the figures (a new conversation starts)."""
        #: finished turns, oldest first
        self.turns: deque[BidiTurnMetricsEvent] = deque(maxlen=MAX_TURNS)
        self.totals = MetricsTotals()
        self._turn: _Turn | None = None
        #: a finished turn waiting for its first-played figure
        self._held: _Turn | None = None
        #: when the user's inputs not answered yet ended, oldest first
        self._ends: deque[float] = deque(maxlen=_MAX_WAITING)
        #: the hot path's one test: the current turn has had no audio yet
        self.awaiting_audio = False
        try:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        except RuntimeError:
            self._loop = None

    def subscribe(self, listener: TurnListener, *, on_start: StartListener | None = None) -> None:
        """Call ``listener`` with every finished turn (on the agent's event loop), and
        ``on_start`` as each turn begins."""
        self._listeners.append(listener)
        if on_start is not None:
            self._start_listeners.append(on_start)

    @property
    def current(self) -> BidiTurnMetricsEvent | None:
        """The figures of the turn under way so far, if one is."""
        return None if self._turn is None else self._turn.event()

    # ------------------------------------------------------------------ feeding
    def user_input_ended(self, at: float | None = None) -> None:
        """The user finished an input (text sent, speech stopped): an answer is owed."""
        self._ends.append(self._clock() if at is None else at)

    def first_audio(self, event: BidiAudioStreamEvent) -> None:
        """The first audio chunk since the turn began (the agent's hot path calls this once)."""
        self.awaiting_audio = False
        turn = self._turn
        if turn is None:
            turn = self._open(self._ends.popleft() if self._ends else None)
            self.awaiting_audio = False
        turn.first_audio_ms = turn.since_end(self._clock())
        turn.first_item = event.item_id

    def observe(self, event: BidiOutputEvent) -> None:
        """Every non-audio event the model sends."""
        if isinstance(event, BidiSpeechEvent):
            if event.state == "stopped":
                self.user_input_ended()
        elif isinstance(event, BidiResponseStartEvent):
            turn = self._turn
            if turn is None:
                turn = self._open(self._ends.popleft() if self._ends else None)
            turn.responded = True
            if turn.response_id is None:
                turn.response_id = event.response_id
        elif isinstance(event, BidiTranscriptStreamEvent):
            current = self._turn
            if (
                current is not None
                and event.role == "assistant"
                and current.first_text_ms is None
                and (event.text or event.current_transcript)
            ):
                current.first_text_ms = current.since_end(self._clock())
        elif isinstance(event, BidiUsageEvent):
            self.totals.input_tokens += event.input_tokens
            self.totals.output_tokens += event.output_tokens
            if self._turn is not None:
                self._turn.input_tokens += event.input_tokens
                self._turn.output_tokens += event.output_tokens
        elif isinstance(event, ToolUseStreamEvent):
            if event.is_final:
                self.totals.tool_calls += 1
                if self._turn is not None:
                    self._turn.tool_calls += 1
        elif isinstance(event, BidiResponseCompleteEvent):
            ending = self._turn
            if ending is not None and event.stop_reason != "tool_use":
                self._close(ending)

    def finish(self) -> None:
        """The conversation ends: close the turn under way and any held one."""
        held, self._held = self._held, None
        if held is not None:
            self._publish(held)
        if self._turn is not None and self._turn.responded:
            self._close(self._turn, hold=False)
        self._turn = None
        self.awaiting_audio = False

    # ----------------------------------------------------------- agent hooks
    @hookimpl
    def on_interruption(self, agent: BidiAgent, event: BidiInterruptionEvent) -> None:
        self.totals.interruptions += 1
        turn = self._turn
        held = self._held
        if turn is None and held is not None and event.item_id in (None, held.first_item):
            # the answer was complete but still playing: the cut belongs to it
            turn = held
        if turn is None:
            return
        turn.interrupted = True
        item = event.item_id or turn.first_item
        if item is not None:
            turn.heard_ms = self._ledger.heard_ms(item)
        if turn is held:
            self._release(held)

    @hookimpl
    def on_connection_restart(self, agent: BidiAgent, event: BidiConnectionRestartEvent) -> None:
        self.totals.reconnects += 1

    # ---------------------------------------------------------------- inside
    def _open(self, user_end: float | None) -> _Turn:
        held, self._held = self._held, None
        if held is not None:
            self._publish(held)
        self.totals.turns += 1
        turn = self._turn = _Turn(self.totals.turns, user_end)
        self.awaiting_audio = True
        for listener in list(self._start_listeners):
            listener(turn.index, user_end)
        return turn

    def _close(self, turn: _Turn, *, hold: bool = True) -> None:
        """End ``turn``, or hold it while its audio still plays.

        A response is complete long before its audio has been heard; until it
        has, the user may still cut it off, and a player has yet to report the
        first-played figure. So the turn is held for the audio left to play
        (at most), and published when that is over, when the user interrupts,
        or when the next turn begins.
        """
        if self._turn is turn:
            self._turn = None
            self.awaiting_audio = False
        item = turn.first_item
        left_ms = 0.0
        if hold and item is not None and not turn.interrupted:
            left_ms = self._ledger.received_ms(item) - self._ledger.heard_ms(item)
            if turn.first_played_ms is None and self._ledger.has_player:
                left_ms = max(left_ms, 1.0)
        if left_ms <= 0 or self._loop is None:
            self._publish(turn)
            return
        held, self._held = self._held, turn
        if held is not None:
            self._publish(held)
        # a little past the end of the audio, so a cut at its very end still counts
        self._loop.call_later(left_ms / 1000.0 + 0.25, self._release, turn)

    def _release(self, turn: _Turn) -> None:
        """Publish a held turn (once)."""
        if self._held is turn:
            self._held = None
            self._publish(turn)

    def _publish(self, turn: _Turn) -> None:
        event = turn.event()
        logger.info(
            "turn %d: first audio %s ms, first played %s ms, first text %s ms, "
            "tokens %d in / %d out%s",
            event.turn,
            _ms(event.first_audio_ms),
            _ms(event.first_played_ms),
            _ms(event.first_text_ms),
            event.input_tokens,
            event.output_tokens,
            ", interrupted" if event.interrupted else "",
        )
        self.turns.append(event)
        if self.emit_events and self._emit is not None:
            self._emit(event)
        for listener in list(self._listeners):
            listener(event)

    def _first_play(self, item_id: str, at: float) -> None:
        """From a player's thread: hand the figure to the event loop."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self._played(item_id, at)
            return
        # a closed loop (RuntimeError): the conversation is over, the figure unneeded
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._played, item_id, at)

    def _played(self, item_id: str, at: float) -> None:
        for turn in (self._turn, self._held):
            if turn is not None and turn.first_item == item_id and turn.first_played_ms is None:
                turn.first_played_ms = turn.since_end(at)
                return

    def summary(self) -> dict[str, Any]:
        """The totals as a plain dict (for logs and JSON)."""
        return self.totals.to_dict()


__all__ = ["MAX_TURNS", "AgentMetrics", "MeteredLedger", "MetricsTotals"]
