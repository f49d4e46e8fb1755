"""Session time: an injectable clock and the idle timer that reads it.

Emulators never read wall time directly; they take a ``clock`` (seconds, like
``time.time``) so tests move a ``ManualClock`` instead of sleeping. The
``IdleTimer`` is the part of "the user went quiet" that every provider shares:
it counts from the end of the model's last answer as the client plays it (the
moment the answer was sent plus its audio length), and knows the matching
offset on the session's input-audio timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeAlias

#: seconds since the epoch, like ``time.time``
Clock: TypeAlias = Callable[[], float]


class ManualClock:
    """A clock a test moves by hand (``advance``), starting at ``start``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"ManualClock.advance(seconds=...) must be >= 0, got {seconds}")
        self.now += seconds
        return self.now


class IdleTimer:
    """When the user's silence started counting, on the clock and on the input timeline.

    ``arm`` after each answer (its playback length included), ``disarm`` when speech
    starts or a new answer begins; ``deadline(timeout_s)`` is when the silence runs out.
    """

    __slots__ = ("_clock", "audio_ms", "since")

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        #: clock time at which the answer's playback ends; ``None`` when disarmed
        self.since: float | None = None
        #: input-audio offset (ms) matching ``since``
        self.audio_ms = 0

    def now(self) -> float:
        """The clock's current time."""
        return self._clock()

    def arm(self, playback_ms: int, input_ms: int) -> None:
        """Start counting once ``playback_ms`` of answer audio has played from now.

        ``input_ms`` is the input timeline's position now; the silence starts
        ``playback_ms`` later on it as well.
        """
        self.since = self._clock() + playback_ms / 1000
        self.audio_ms = input_ms + playback_ms

    def disarm(self) -> None:
        """Stop counting (speech started, an answer began, the timeout fired)."""
        self.since = None

    @property
    def armed(self) -> bool:
        """Whether the timer counts."""
        return self.since is not None

    def deadline(self, timeout_s: float) -> float | None:
        """The clock time at which ``timeout_s`` of silence will have passed, if armed."""
        return None if self.since is None else self.since + timeout_s
