"""The input audio buffer: the user's audio since the last commit, on a timeline.

Every realtime service buffers the audio a client streams until a turn is
committed (by the client, or by the server's VAD when speech stops). Positions
are milliseconds on the session's input timeline, which starts at the first
audio appended and never goes back: a commit or a clear moves the buffer's start
forward, so later VAD events and offsets stay comparable. The bytes-per-ms rate
is passed in, because a session may change its input format between appends.
"""

from __future__ import annotations


class InputAudioBuffer:
    """Bytes since the last commit/clear, with ``start_ms`` and ``written_ms`` positions."""

    __slots__ = ("_data", "start_ms", "written_ms")

    def __init__(self) -> None:
        self._data = bytearray()
        #: timeline position of the first buffered byte
        self.start_ms = 0
        #: timeline position just after the last byte appended
        self.written_ms = 0

    def __len__(self) -> int:
        return len(self._data)

    def append(self, audio: bytes, bytes_per_ms: int) -> None:
        """Add audio after what is buffered and move ``written_ms``."""
        self._data.extend(audio)
        self.written_ms = self.start_ms + len(self._data) // bytes_per_ms

    def buffered_ms(self, bytes_per_ms: int) -> float:
        """How much audio is buffered, in (fractional) milliseconds."""
        return len(self._data) / bytes_per_ms

    def take_all(self) -> bytes:
        """Everything buffered; the buffer then starts at ``written_ms``."""
        audio = bytes(self._data)
        self.clear()
        return audio

    def take_span(self, start_ms: int, end_ms: int, bytes_per_ms: int) -> bytes:
        """The audio from ``start_ms`` to ``end_ms``; everything before ``end_ms`` is dropped.

        This is a VAD turn: speech started at ``start_ms`` (the prefix padding
        included) and stopped at ``end_ms``; the buffer then starts at ``end_ms``.
        """
        start = (start_ms - self.start_ms) * bytes_per_ms
        end = (end_ms - self.start_ms) * bytes_per_ms
        audio = bytes(self._data[max(0, start) : end])
        del self._data[:end]
        self.start_ms = end_ms
        return audio

    def clear(self) -> None:
        """Drop what is buffered; the buffer then starts at ``written_ms``."""
        self._data.clear()
        self.start_ms = self.written_ms
