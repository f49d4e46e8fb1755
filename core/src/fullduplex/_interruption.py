"""The agent's one place for deciding that the user interrupted the assistant.

Providers only report facts: the user started speaking (``BidiSpeechEvent``),
audio arrived for an item, a response started or ended, or (for a server
that says so itself) that it cut a response (``BidiInterruptionEvent``). From
those facts and the :class:`~fullduplex.io.PlaybackLedger` (fed by the outputs'
playback reports, wall clock since the item's first audio as the documented
fallback) this module decides:

- whether the user's speech is an interruption: it is while the assistant's
  last audio item still streams or was not all heard;
- which item was cut and how much of it the user heard (clamped once, by the
  ledger, to the audio received);
- which late chunks to drop: every chunk of a cut item, checked on the audio
  hot path by a set lookup (:attr:`Interruptions.cut`).

- what to do about a cut (:func:`plan`), from the model's capability flags
  only: cancel the response (when the server does not cut it by itself),
  truncate the model's memory of the item (when it can), or, when it cannot,
  shorten the agent's own history to the share of the item the user heard.

A provider-reported interruption is a fact like any other: it goes through
:meth:`Interruptions.on_reported`, so an item the agent already cut on the
user's speech is not cut (nor cancelled, nor truncated) a second time, and a
reported cut never asks for a cancel (the server already stopped).

Carrying a plan out (tell the outputs, send the requests, mark history) is
:class:`._dispatch.ModelEvents` (``_carry_out``).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from .events import BidiInterruptionEvent
from .io import PlaybackLedger

if TYPE_CHECKING:
    from .model import ModelCapabilities

#: cut items remembered (their late chunks are dropped, their history marked)
_MAX_CUT = 64


@attrs.frozen(slots=True)
class Cut:
    """One decided interruption: the item cut short and what the user heard of it."""

    item_id: str | None
    response_id: str | None
    #: milliseconds heard, already within the audio received
    heard_ms: int
    received_ms: int
    #: the item's response was still streaming when the user spoke
    streaming: bool

    @property
    def fully_heard(self) -> bool:
        """Everything received was heard: nothing to forget."""
        return self.item_id is None or self.heard_ms >= self.received_ms

    @property
    def heard_fraction(self) -> float:
        """The share of the received audio the user heard, in ``[0, 1]``."""
        if self.received_ms <= 0 or self.heard_ms >= self.received_ms:
            return 1.0
        return max(0.0, self.heard_ms / self.received_ms)


@attrs.frozen(slots=True)
class Plan:
    """What the agent asks of the model, and does to its history, for one cut."""

    #: send ``BidiResponseCancelEvent``: the response streams and the server will not stop it
    cancel: bool
    #: send ``BidiAudioTruncateEvent``: the model forgets the unheard end itself
    truncate: bool
    #: the model cannot forget: the agent's history keeps only the heard share
    #: (the next replay, on a reconnect without resumption, carries that share)
    shorten_history: bool


def plan(cut: Cut, caps: ModelCapabilities, *, reported: bool) -> Plan:
    """Decide, from capability flags only, what a cut asks for.

    ``reported`` is true when the provider said the server cut the response
    itself: nothing is left to cancel then. A cut of speech the agent detected
    is cancelled only where the server neither interrupts by itself nor lacks
    a cancel request.
    """
    cancel = not reported and cut.streaming and caps.response_cancel and not caps.server_interrupts
    unheard = cut.item_id is not None and not cut.fully_heard
    return Plan(
        cancel=cancel,
        truncate=unheard and caps.truncation,
        shorten_history=unheard and not caps.truncation,
    )


class Interruptions:
    """Tracks the assistant's last audio item and the items the user cut short."""

    __slots__ = ("_order", "cut", "last_item", "last_response", "ledger")

    def __init__(self, ledger: PlaybackLedger) -> None:
        self.ledger = ledger
        #: items cut short: their late chunks never reach an output
        self.cut: set[str] = set()
        self._order: deque[str] = deque()
        #: the item (and its response) of the last audio chunk, kept by the agent's hot path
        self.last_item: str | None = None
        self.last_response: str | None = None

    def reset(self) -> None:
        """Forget everything (a new conversation)."""
        self.cut.clear()
        self._order.clear()
        self.last_item = None
        self.last_response = None

    def on_speech_started(
        self, active_response: str | None, now: float | None = None
    ) -> Cut | None:
        """The user started speaking: the cut it makes, or ``None`` when it cuts nothing.

        An interruption needs an assistant item with audio that is still
        streaming (its response is the active one) or not fully heard; an item
        is cut once.
        """
        item = self.last_item
        if item is None or item in self.cut:
            return None
        ledger = self.ledger
        received = int(ledger.received_ms(item))
        if received <= 0:
            return None
        response = self.last_response
        streaming = active_response is not None and response in (None, active_response)
        heard = ledger.heard_ms(item, now)
        if not streaming and heard >= received:
            return None  # the answer was over and heard: the user just takes the turn
        self._mark(item)
        return Cut(item, response or active_response, heard, received, streaming)

    def on_reported(
        self, event: BidiInterruptionEvent, active_response: str | None, now: float | None = None
    ) -> Cut | None:
        """The provider says the server cut a response: the cut, or ``None`` when moot.

        The item is the event's when audio of it arrived, else the last audio
        item (a server may not know which item the user heard). Nothing is cut
        when that item was already cut, or when no response is active and
        everything was heard.
        """
        ledger = self.ledger
        item = event.item_id
        if item is None or ledger.received_ms(item) <= 0:
            item = self.last_item
        if item is not None and item in self.cut:
            return None
        received = int(ledger.received_ms(item)) if item is not None else 0
        heard = ledger.heard_ms(item, now) if item is not None else 0
        fully_heard = item is None or heard >= received
        if active_response is None and fully_heard:
            return None
        if item is not None:
            self._mark(item)
        response = event.response_id or self.last_response
        return Cut(item, response, heard, received, active_response is not None)

    def _mark(self, item: str) -> None:
        self.cut.add(item)
        self._order.append(item)
        if len(self._order) > _MAX_CUT:
            self.cut.discard(self._order.popleft())
