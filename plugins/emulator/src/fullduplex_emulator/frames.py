"""Server frames: one encoded server event, ready for the socket.

A provider's session produces frames already serialized (orjson), because audio
deltas are built from byte templates on the hot path and never exist as dicts.
The ``type`` rides along so the writer can apply faults and tests can filter
without decoding; ``event`` decodes on demand. ``audio_ms`` tells the writer how
much audio the frame carries, for real-time pacing.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

#: the ``type`` of a frame that a fault made deliberately unparseable
MALFORMED: Final = "<malformed>"


class Frame:
    """An encoded server event: ``type``, JSON ``data`` bytes, and the ``audio_ms`` it carries."""

    __slots__ = ("audio_ms", "data", "type")

    def __init__(self, type_: str, data: bytes, audio_ms: int = 0) -> None:
        self.type = type_
        self.data = data
        self.audio_ms = audio_ms

    @classmethod
    def of(cls, event: dict[str, Any], type_: str | None = None) -> Frame:
        """Encode an event dict; its ``type`` key names it unless ``type_`` is given.

        Wires whose messages carry no ``type`` field name the frame with ``type_``.
        """
        return cls(type_ if type_ is not None else event["type"], orjson.dumps(event))

    @property
    def event(self) -> dict[str, Any]:
        """The decoded event."""
        decoded: dict[str, Any] = orjson.loads(self.data)
        return decoded

    def __repr__(self) -> str:
        return f"Frame({self.type!r}, {len(self.data)} bytes)"
