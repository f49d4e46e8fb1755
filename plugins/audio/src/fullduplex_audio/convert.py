"""Streaming conversion of pcm16 between a model's format and a device's.

Resampling runs at the smaller of the two channel counts (mix down first,
duplicate after), so a stereo device costs no extra resampling work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fullduplex.audio import Resampler


class PcmConverter:
    """Converts a stream of pcm16 chunks from one rate/channel count to another."""

    def __init__(self, in_rate: int, in_channels: int, out_rate: int, out_channels: int) -> None:
        self.in_rate = in_rate
        self.in_channels = in_channels
        self.out_rate = out_rate
        self.out_channels = out_channels
        self._work_channels = min(in_channels, out_channels)
        self._resampler: Resampler | None = self._new_resampler()

    def _new_resampler(self) -> Resampler | None:
        if self.in_rate == self.out_rate:
            return None
        from fullduplex.audio import Resampler  # numpy and soxr load on first use

        return Resampler(self.in_rate, self.out_rate, self._work_channels)

    @property
    def identity(self) -> bool:
        return self._resampler is None and self.in_channels == self.out_channels

    def process(self, data: bytes) -> bytes:
        """Convert one chunk of whole frames; the result may be short while the filter fills."""
        if self.identity:
            return data
        from fullduplex.audio import to_channels

        if self.in_channels != self._work_channels:
            data = to_channels(data, self.in_channels, self._work_channels)
        if self._resampler is not None:
            data = self._resampler.process(data)
        if self.out_channels != self._work_channels and data:
            data = to_channels(data, self._work_channels, self.out_channels)
        return data

    def flush(self) -> bytes:
        """The audio still held in the resampler's filter (the stream then starts afresh)."""
        if self._resampler is None:
            return b""
        from fullduplex.audio import to_channels

        data = self._resampler.flush()
        if self.out_channels != self._work_channels and data:
            data = to_channels(data, self._work_channels, self.out_channels)
        return data

    def reset(self) -> None:
        """Forget the filter state (after an interruption: no stale tail)."""
        self._resampler = self._new_resampler()
