"""Server frames: one encoded server event, ready for the socket.

The session produces frames already serialized (orjson), because audio deltas
are built from byte templates on the hot path and never exist as dicts. The
``type`` rides along so the transport can apply faults and tests can filter
without decoding; ``event`` decodes on demand.
"""

from __future__ import annotations

from typing import Any

import orjson


class Frame:
    """An encoded server event: ``type``, JSON ``data`` bytes, and the ``audio_ms`` it carries."""

    __slots__ = ("audio_ms", "data", "type")

    def __init__(self, type_: str, data: bytes, audio_ms: int = 0) -> None:
        self.type = type_
        self.data = data
        self.audio_ms = audio_ms

    @classmethod
    def of(cls, event: dict[str, Any]) -> Frame:
        """Encode an event dict (which must have a ``type``)."""
        return cls(event["type"], orjson.dumps(event))

    @property
    def event(self) -> dict[str, Any]:
        """The decoded event."""
        decoded: dict[str, Any] = orjson.loads(self.data)
        return decoded

    def __repr__(self) -> str:
        return f"Frame({self.type!r}, {len(self.data)} bytes)"
