"""The speaker's playback buffer, shared between the event loop and the device thread.

The event loop pushes converted audio chunks tagged with their response item;
the sound device's callback pulls exactly one device block at a time. The
buffer knows, for every block it hands over, which item it belongs to and when
PortAudio says that block will reach the DAC, so it reports to the
:class:`~fullduplex.io.PlaybackLedger` what has really been *heard* (handed
over and past the output latency), not merely queued. An interruption empties
the buffer at once, including a chunk that was half played, so stale speech
stops at the next device block.

The callback never waits on the event loop: one short lock guards the chunk
queue, and the ledger has its own lock.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

import attrs


class PlaybackReporter(Protocol):
    """Where heard milliseconds go (a :class:`~fullduplex.io.PlaybackLedger`, which
    keeps the one count per item: the buffer reports runs, never positions)."""

    def add_heard(self, item_id: str, ms: float) -> None: ...


@attrs.define(slots=True)
class _Chunk:
    item_id: str | None
    data: bytes
    offset: int = 0


@attrs.define(slots=True)
class _Segment:
    """A run of one item's audio inside one device block, waiting to be heard."""

    item_id: str
    duration_ms: float
    dac_time: float  # when its first frame reaches the DAC (stream clock, seconds)
    reported_ms: float = 0.0  # how much of this run was already reported heard


class PlaybackBuffer:
    """Thread-safe FIFO of pcm16 audio that a device callback drains block by block."""

    def __init__(
        self, sample_rate: int, channels: int, reporter: PlaybackReporter | None = None
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self._frame_bytes = 2 * channels
        self._reporter = reporter
        self._lock = threading.Lock()
        self._chunks: deque[_Chunk] = deque()
        self._buffered_bytes = 0
        # touched by the device thread only
        self._pending: deque[_Segment] = deque()
        self._silence = b""

    # event loop side ---------------------------------------------------------------
    def push(self, item_id: str | None, data: bytes) -> None:
        """Queue ``data`` (whole frames in the device's format) for ``item_id``."""
        usable = len(data) - len(data) % self._frame_bytes
        if usable <= 0:
            return
        chunk = _Chunk(item_id, data if usable == len(data) else data[:usable])
        with self._lock:
            self._chunks.append(chunk)
            self._buffered_bytes += usable

    def clear(self) -> int:
        """Drop everything not yet handed to the device; return the bytes dropped."""
        with self._lock:
            dropped = self._buffered_bytes
            self._chunks.clear()
            self._buffered_bytes = 0
        return dropped

    @property
    def buffered_ms(self) -> float:
        """Milliseconds of audio waiting to be handed to the device."""
        return self._buffered_bytes * 1000.0 / (self._frame_bytes * self.sample_rate)

    @property
    def has_unplayed(self) -> bool:
        """Audio was handed to the device and has not all been heard yet."""
        return bool(self._pending)

    # device thread side --------------------------------------------------------------
    def fill(self, out: memoryview, dac_time: float, now: float) -> int:
        """Fill one device block ``out`` (silence where nothing is queued); return bytes of audio.

        ``dac_time`` is when the block's first frame will be heard and ``now``
        the current time, both on the stream's clock in seconds.
        """
        size = len(out)
        pos = 0
        ms_per_byte = 1000.0 / (self._frame_bytes * self.sample_rate)
        with self._lock:
            while pos < size and self._chunks:
                chunk = self._chunks[0]
                take = min(size - pos, len(chunk.data) - chunk.offset)
                out[pos : pos + take] = chunk.data[chunk.offset : chunk.offset + take]
                if chunk.item_id is not None:
                    seg_dac = dac_time + pos * ms_per_byte / 1000.0
                    self._pending.append(_Segment(chunk.item_id, take * ms_per_byte, seg_dac))
                chunk.offset += take
                pos += take
                if chunk.offset >= len(chunk.data):
                    self._chunks.popleft()
            self._buffered_bytes -= pos
        if pos < size:
            if len(self._silence) < size - pos:
                self._silence = bytes(size)
            out[pos:size] = self._silence[: size - pos]
        self.report_heard(now)
        return pos

    def forget_unplayed(self, now: float) -> None:
        """The device dropped what it held (stream aborted at ``now``): report up to ``now`` only.

        Call only while the device callback is not running.
        """
        self.report_heard(now)
        self._pending.clear()

    def report_heard(self, now: float) -> None:
        """Report every run of an item's audio whose DAC time has passed by ``now``."""
        pending = self._pending
        reporter = self._reporter
        while pending:
            seg = pending[0]
            elapsed_ms = (now - seg.dac_time) * 1000.0
            if elapsed_ms <= 0.0:
                return
            heard = min(seg.duration_ms, elapsed_ms)
            if reporter is not None and heard > seg.reported_ms:
                reporter.add_heard(seg.item_id, heard - seg.reported_ms)
            seg.reported_ms = heard
            if elapsed_ms < seg.duration_ms:
                return
            pending.popleft()
