"""Audio between the SDK boundary and the wire (PCM16 24 kHz mono, or G.711 8 kHz).

Why its own module: conversion needs numpy and soxr (through
:mod:`fullduplex.audio`), which are imported only when a conversion is really
needed. The common case, PCM16 mono at the wire rate, passes through untouched
and never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fullduplex.errors import EventError, FullDuplexError
from fullduplex.events import AudioFormat, BidiAudioInputEvent

if TYPE_CHECKING:
    from fullduplex.audio import PcmConverter

_DECODERS = {"g711_ulaw": "ulaw_to_pcm16", "g711_alaw": "alaw_to_pcm16"}
_ENCODERS = {"g711_ulaw": "pcm16_to_ulaw", "g711_alaw": "pcm16_to_alaw"}


def _odd_pcm16(size: int, channels: int = 1) -> str:
    frame = 2 * channels
    return (
        f"audio: {size} bytes is not whole PCM16 frames; accepted: a multiple of {frame} "
        f"bytes (2 bytes per sample x {channels} channel(s))"
    )


class InputAudioConverter:
    """Turns input audio chunks into wire bytes, keeping resampler state per stream."""

    def __init__(self, wire_format: AudioFormat, wire_rate: int) -> None:
        self.wire_format = wire_format
        self.wire_rate = wire_rate
        #: rate and channels in -> wire rate, mono; kept while the input's format holds
        self._converter: PcmConverter | None = None
        self._converter_key: tuple[int, int] | None = None

    def reset(self) -> None:
        """Drop filter state (a new connection starts a new stream)."""
        self._converter = None
        self._converter_key = None

    def convert(self, event: BidiAudioInputEvent) -> bytes:
        """Wire bytes for one input chunk; :class:`EventError` for what it cannot take."""
        fmt, rate, channels = event.format, event.sample_rate, event.channels
        if fmt == self.wire_format and rate == self.wire_rate and channels == 1:
            if fmt == "pcm16" and len(event.audio) & 1:
                raise EventError(_odd_pcm16(len(event.audio)))
            return event.audio
        if fmt not in ("pcm16", "g711_ulaw", "g711_alaw"):
            raise EventError(f"format: {fmt!r} not accepted; accepted: pcm16, g711_ulaw, g711_alaw")
        if not isinstance(rate, int) or not 1000 <= rate <= 768_000:
            raise EventError(f"sample_rate: expected an integer in Hz (1000-768000), got {rate!r}")
        if not isinstance(channels, int) or not 1 <= channels <= 64:
            raise EventError(f"channels: expected an integer from 1 to 64, got {channels!r}")
        from fullduplex import audio as pcm

        if fmt == "pcm16" and len(event.audio) % (2 * channels):
            raise EventError(_odd_pcm16(len(event.audio), channels))
        try:
            data = event.audio
            if fmt != "pcm16":
                if channels != 1:
                    raise EventError(f"channels: {fmt} audio must be mono, got {channels}")
                decode: Callable[[bytes], bytes] = getattr(pcm, _DECODERS[fmt])
                data = decode(data)
            if channels != 1 or rate != self.wire_rate:
                key = (rate, channels)
                if self._converter is None or self._converter_key != key:
                    self._converter = pcm.PcmConverter(rate, channels, self.wire_rate, 1)
                    self._converter_key = key
                data = self._converter.process(data)
            if self.wire_format != "pcm16":
                encode: Callable[[bytes], bytes] = getattr(pcm, _ENCODERS[self.wire_format])
                data = encode(data)
            return data
        except EventError:
            raise
        except (FullDuplexError, ValueError) as exc:
            raise EventError(f"audio: cannot convert this chunk for the wire ({exc})") from exc


def output_converter_factory(
    wire_rate: int, output_rate: int, channels: int
) -> Callable[[], PcmConverter] | None:
    """A factory of per-item output converters (wire mono -> the SDK boundary's
    rate and channels), or ``None`` when audio passes as it is.

    One converter per item, so the resampler's filter runs across the item's
    chunks and ``flush()`` returns the tail it holds when the item's audio ends.
    """
    if output_rate == wire_rate and channels == 1:
        return None

    def make() -> PcmConverter:
        from fullduplex.audio import PcmConverter

        return PcmConverter(wire_rate, 1, output_rate, channels)

    return make
