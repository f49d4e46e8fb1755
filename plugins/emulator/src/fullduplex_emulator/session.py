"""What the kit's writer needs from a provider's sans-I/O session.

A provider's front-end keeps its whole protocol in a session object that takes
client messages and returns ``Frame`` lists, never touching a socket or a timer.
The kit's ``Connection`` drives any object of this shape: it pumps streamed
responses (pacing their audio), ticks the session at its ``idle_deadline``, and
asks it for the wire shape of the failures that faults and caps inject.
"""

from __future__ import annotations

from typing import Any, Protocol

from .frames import Frame


class EmulatedSession(Protocol):
    """The sans-I/O side of one emulated connection."""

    #: every response fails with a server error (set from ``Faults.fail_responses``)
    fail_responses: bool

    @property
    def idle_deadline(self) -> float | None:
        """Clock time at which ``tick`` will have something to say, or ``None``."""
        ...

    def open(self) -> list[Frame]:
        """The frames sent as soon as the connection is accepted."""
        ...

    def handle(self, message: str | bytes | dict[str, Any]) -> list[Frame]:
        """Process one client message; return the immediate replies (errors included)."""
        ...

    def has_pending_output(self) -> bool:
        """Whether ``pump`` has frames to give."""
        ...

    def next_response_id(self) -> str | None:
        """The response the next ``pump`` starts, if it has not started (response delays)."""
        ...

    def pump(self, max_frames: int = 64, max_audio_ms: int | None = None) -> list[Frame]:
        """Up to ``max_frames`` further frames; stop once ``max_audio_ms`` of audio is in."""
        ...

    def tick(self, now: float | None = None) -> list[Frame]:
        """Frames that time made due (an idle timeout), if any."""
        ...

    def server_error_frame(self, message: str) -> Frame:
        """The provider's transient server-error event (the session stays open)."""
        ...

    def session_expired_frame(self, message: str) -> Frame:
        """The provider's event saying the session cap was reached (the socket closes after)."""
        ...

    def malformed_frame(self) -> Frame:
        """A frame that starts like one of the provider's events but is not valid JSON."""
        ...
