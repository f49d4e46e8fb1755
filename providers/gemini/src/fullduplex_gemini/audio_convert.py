"""Audio between the SDK boundary and the Live wire (PCM16 mono, 16 kHz in, 24 kHz out).

Why its own module: resampling needs numpy and soxr (through
:mod:`fullduplex.audio`), imported only when a conversion is really needed;
16 kHz mono input passes through untouched and never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fullduplex.errors import EventError, FullDuplexError
from fullduplex.events import BidiAudioInputEvent

from .wire import WIRE_INPUT_RATE, WIRE_OUTPUT_RATE

if TYPE_CHECKING:
    from fullduplex.audio import PcmConverter


class InputAudioConverter:
    """Turns input chunks into 16 kHz mono PCM16, keeping the resampler's state per stream."""

    def __init__(self) -> None:
        self._converter: PcmConverter | None = None
        self._key: tuple[int, int] | None = None

    def reset(self) -> None:
        """Drop filter state (a new connection starts a new stream)."""
        self._converter = None
        self._key = None

    def convert(self, event: BidiAudioInputEvent) -> bytes:
        """Wire bytes for one chunk; :class:`EventError` naming the field it cannot take."""
        rate, channels = event.sample_rate, event.channels
        if event.format != "pcm16":
            raise EventError(
                f"format: {event.format!r} not accepted by Gemini Live; accepted: pcm16"
            )
        if not isinstance(channels, int) or not 1 <= channels <= 64:
            raise EventError(f"channels: expected an integer from 1 to 64, got {channels!r}")
        if len(event.audio) % (2 * channels):
            raise EventError(
                f"audio: {len(event.audio)} bytes is not whole PCM16 frames; accepted: a multiple "
                f"of {2 * channels} bytes"
            )
        if rate == WIRE_INPUT_RATE and channels == 1:
            return event.audio
        if not isinstance(rate, int) or not 1000 <= rate <= 768_000:
            raise EventError(f"sample_rate: expected an integer in Hz (1000-768000), got {rate!r}")
        from fullduplex.audio import PcmConverter

        key = (rate, channels)
        if self._converter is None or self._key != key:
            self._converter = PcmConverter(rate, channels, WIRE_INPUT_RATE, 1)
            self._key = key
        try:
            return self._converter.process(event.audio)
        except (FullDuplexError, ValueError) as exc:
            raise EventError(f"audio: cannot convert this chunk for the wire ({exc})") from exc


def output_converter_factory(output_rate: int, channels: int) -> Callable[[], PcmConverter] | None:
    """Per-response converters from the 24 kHz mono wire, or ``None`` when audio passes as is."""
    if output_rate == WIRE_OUTPUT_RATE and channels == 1:
        return None

    def make() -> PcmConverter:
        from fullduplex.audio import PcmConverter

        return PcmConverter(WIRE_OUTPUT_RATE, 1, output_rate, channels)

    return make
