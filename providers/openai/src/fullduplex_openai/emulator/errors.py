"""Protocol errors the emulator reports to the client as ``error`` events.

Handlers raise ``RealtimeProtocolError``; the session turns it into the service's
error shape, echoing the offending client ``event_id``. Most errors keep the
session open, like the service's.
"""

from __future__ import annotations

from typing import Any


class RealtimeProtocolError(Exception):
    """A refused client event: ``code`` / ``message`` / ``param`` as the service sends them."""

    def __init__(
        self,
        code: str | None,
        message: str,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.error_type = error_type

    def to_error(self, client_event_id: str | None) -> dict[str, Any]:
        """The ``error`` object of an ``error`` event."""
        return {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }


def unknown_parameter(path: str) -> RealtimeProtocolError:
    """``Unknown parameter: 'session.voice'.`` and the like."""
    return RealtimeProtocolError("unknown_parameter", f"Unknown parameter: '{path}'.", path)


def missing_parameter(path: str) -> RealtimeProtocolError:
    """``Missing required parameter: 'session.type'.`` and the like."""
    return RealtimeProtocolError(
        "missing_required_parameter", f"Missing required parameter: '{path}'.", path
    )


def invalid_value(path: str, value: object, accepted: str) -> RealtimeProtocolError:
    """A value outside what the field accepts; the message lists what is accepted."""
    return RealtimeProtocolError(
        "invalid_value",
        f"Invalid value: {value!r}. Supported values are: {accepted}.",
        path,
    )


def invalid_type(path: str, value: object, expected: str) -> RealtimeProtocolError:
    """A value of the wrong JSON type."""
    return RealtimeProtocolError(
        "invalid_type",
        f"Invalid type for '{path}': expected {expected}, but got {type(value).__name__} instead.",
        path,
    )
