"""Session caps: how long one connection may last, and what the server says then.

Every realtime service limits a session's length and closes the socket when it
runs out (OpenAI after 60 minutes, Gemini Live after 10-15). The kit owns the
timer and the wording; the provider's front-end wraps the message in its own
error event, and the writer closes the socket with 1001 (going away).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .clock import Clock

#: the close code used when the cap is reached
CAP_CLOSE_CODE: Final = 1001


@dataclass(frozen=True, slots=True)
class SessionCap:
    """A session length limit in seconds (> 0)."""

    seconds: float = 3600.0

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"session cap must be > 0 seconds, got {self.seconds!r}")

    def expires_at(self, clock: Clock) -> int:
        """The epoch second at which a session opened now expires."""
        return int(clock() + self.seconds)

    @property
    def message(self) -> str:
        """``Your session hit the maximum duration of 60 minutes.`` and the like."""
        cap = self.seconds
        span = f"{cap / 60:g} minutes" if cap % 60 == 0 else f"{cap:g} seconds"
        return f"Your session hit the maximum duration of {span}."
