"""Fault injection: the failures a client must survive, on demand.

A ``Faults`` value is plain configuration, the same for every provider's
emulator. A server copies it into each new connection (``Emulator(faults=...)``
or ``emu.faults = ...`` for later ones), and a live connection's copy can be
replaced at runtime (``emu.connections[-1].faults = Faults(...)``). Counters are
per connection. The provider's front-end says what a server error or a
malformed frame looks like on its wire; the kit's writer decides when.
"""

from __future__ import annotations

from dataclasses import dataclass

#: close codes a test may ask for (RFC 6455 codes a server may send, plus 4000-4999)
_ALLOWED_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013})


@dataclass(frozen=True, slots=True)
class Faults:
    """What to break on a connection.

    - ``drop_after_events``: after this many server events were sent, drop the connection.
    - ``drop_at_event_type``: drop the connection instead of sending the first event of this
      type (e.g. ``"response.output_audio.delta"``): the client never sees it.
    - ``close_code``: how to drop: with a close frame carrying this code (1001, 1011, 4000…),
      or, when ``None``, by aborting the TCP connection with no close frame (the client sees 1006).
    - ``malformed_frame_after_events``: once, after this many events, send a text frame that is
      not JSON.
    - ``server_error_after_events``: once, after this many events, send the provider's
      transient server error event (the session stays open, like the services' own).
    - ``fail_responses``: every response fails with a server error instead of producing
      output.
    - ``response_delay_s``: wait this long before each response starts streaming.
    """

    drop_after_events: int | None = None
    drop_at_event_type: str | None = None
    close_code: int | None = None
    malformed_frame_after_events: int | None = None
    server_error_after_events: int | None = None
    fail_responses: bool = False
    response_delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "drop_after_events",
            "malformed_frame_after_events",
            "server_error_after_events",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(
                    f"Faults.{name} must be a non-negative integer or None, got {value!r}"
                )
        code = self.close_code
        if code is not None and code not in _ALLOWED_CLOSE_CODES and not 4000 <= code <= 4999:
            raise ValueError(
                f"Faults.close_code must be None (abort), one of {sorted(_ALLOWED_CLOSE_CODES)} "
                f"or 4000-4999, got {code!r}"
            )
        if self.response_delay_s < 0:
            raise ValueError(f"Faults.response_delay_s must be >= 0, got {self.response_delay_s!r}")

    @property
    def drops(self) -> bool:
        """Whether any drop is configured."""
        return self.drop_after_events is not None or self.drop_at_event_type is not None
