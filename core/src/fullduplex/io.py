"""The input and output channel protocols, and the playback-position contract.

An IO object (a microphone and speaker, a terminal, a WAV file pair) offers
``.input()`` and/or ``.output()``; what they return satisfies
:class:`BidiInput` / :class:`BidiOutput`. The agent calls ``start(agent)``
once, then calls the input repeatedly for events (``None`` means the input is
finished) and the output once per event, and ``stop()`` at the end.

Playback position: an output that really plays audio knows how much of each
assistant item the user has heard. It says so through
``agent.playback.report(item_id, played_ms)`` (the position from the item's
start) or ``agent.playback.add_heard(item_id, ms)`` (one more run heard); any
thread may call them, after ``agent.playback.attach_player()`` in ``start``.
The ledger is the one count of each item's audio: received (the agent counts
every chunk it hands on) and heard; it clamps what was heard to what arrived.
On an interruption the agent truncates the model's memory of the item to
:meth:`PlaybackLedger.heard_ms`. Without a reporting output the ledger falls
back to the wall-clock time since the item's first audio arrived, clamped to
the audio received (the documented fallback: it assumes playback started with
the first chunk and ran in real time).

IO classes provided by plugins (``BidiAudioIO``, ``BidiTextIO``, ...) are
importable from this module by name; they resolve lazily through the plugin
registry (see ``__getattr__`` at the end of this module).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .events import BidiInputEvent, BidiOutputEvent

if TYPE_CHECKING:
    from .agent import BidiAgent


@runtime_checkable
class BidiInput(Protocol):
    """A source of input events (microphone, keyboard, file)."""

    async def start(self, agent: BidiAgent) -> None:
        """Prepare the source; ``agent.model.capabilities`` tells the wanted format."""
        ...

    async def stop(self) -> None:
        """Release the source. Safe to call twice."""
        ...

    async def __call__(self) -> BidiInputEvent | None:
        """Wait for and return the next input event; ``None`` when finished."""
        ...


@runtime_checkable
class BidiOutput(Protocol):
    """A sink of output events (speaker, terminal, file)."""

    async def start(self, agent: BidiAgent) -> None:
        """Prepare the sink."""
        ...

    async def stop(self) -> None:
        """Flush and release the sink. Safe to call twice."""
        ...

    async def __call__(self, event: BidiOutputEvent) -> None:
        """Handle one event. ``BidiInterruptionEvent`` must drop pending audio at once."""
        ...


class PlaybackLedger:
    """How many milliseconds of each assistant audio item were heard.

    Written by players (possibly from a sound-device thread), read by the agent
    on interruption. Keeps only a bounded number of recent items.
    """

    _MAX_ITEMS = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._played: dict[str, float] = {}
        self._received: dict[str, float] = {}
        self._first_audio_at: dict[str, float] = {}
        self._players = 0

    # players -----------------------------------------------------------------
    def attach_player(self) -> None:
        """Declare an output that reports real playback (call from ``start``)."""
        with self._lock:
            self._players += 1

    def detach_player(self) -> None:
        with self._lock:
            self._players = max(0, self._players - 1)

    @property
    def has_player(self) -> bool:
        return self._players > 0

    def report(self, item_id: str, played_ms: float) -> None:
        """Record that ``played_ms`` of ``item_id`` (from its start) has been played."""
        with self._lock:
            if played_ms > self._played.get(item_id, 0.0):
                self._played[item_id] = played_ms

    def add_heard(self, item_id: str, ms: float) -> None:
        """Record ``ms`` more of ``item_id`` heard (a player that counts runs of audio).

        The ledger keeps the one count per item, so a player need not; audio
        of an item the agent never received (or forgot) is not counted.
        """
        with self._lock:
            if item_id in self._received:
                self._played[item_id] = self._played.get(item_id, 0.0) + ms

    # the agent ---------------------------------------------------------------
    def note_audio(self, item_id: str, duration_ms: float, now: float | None = None) -> None:
        """Record audio received for ``item_id`` (called by the agent per chunk).

        Only the agent's event loop writes the received figures, so a chunk of
        a known item is one dict update; the lock guards what players share.
        """
        received = self._received
        if item_id in received:
            received[item_id] += duration_ms
            return
        with self._lock:
            self._first_audio_at[item_id] = time.monotonic() if now is None else now
            received[item_id] = duration_ms
            self._trim()

    def received_ms(self, item_id: str) -> float:
        return self._received.get(item_id, 0.0)

    def heard_ms(self, item_id: str, now: float | None = None) -> int:
        """Milliseconds of ``item_id`` the user heard, as an integer within the audio received.

        With a reporting player this is its report; otherwise the time since the
        item's first audio arrived.
        """
        with self._lock:
            received = self._received.get(item_id, 0.0)
            if self._players > 0:
                heard = self._played.get(item_id, 0.0)
            else:
                start = self._first_audio_at.get(item_id)
                if start is None:
                    return 0
                heard = ((time.monotonic() if now is None else now) - start) * 1000.0
            return int(max(0.0, min(heard, received)))

    def fully_heard(self, item_id: str, now: float | None = None) -> bool:
        """True when everything received for ``item_id`` has been heard."""
        received = self.received_ms(item_id)
        return self.heard_ms(item_id, now) >= int(received)

    def _trim(self) -> None:
        while len(self._received) > self._MAX_ITEMS:
            oldest = next(iter(self._received))
            self._received.pop(oldest, None)
            self._first_audio_at.pop(oldest, None)
            self._played.pop(oldest, None)


def __getattr__(name: str) -> Any:
    """Resolve plugin-provided IO classes (``BidiAudioIO``...) through the registry."""
    from .registry import resolve_export

    return resolve_export("io", name, __name__)
