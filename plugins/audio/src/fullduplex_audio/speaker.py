"""The speaker: plays the model's audio on a sound device and reports what was heard.

Audio events are converted to the device's format on the event loop and queued
in a :class:`~fullduplex_audio.playback.PlaybackBuffer`; the PortAudio callback
drains it one block at a time on its own thread. An interruption clears the
buffer and what the device holds. Late chunks of the interrupted item never
arrive here: the agent drops them (it decided the interruption), so the
speaker keeps no list of its own.

With an :class:`~fullduplex_audio.echo.EchoCanceller`, every block handed to
the device (silence included) goes to the canceller with its DAC time, so the
far-end reference is what the device really played; a flush tells the
canceller that what the device held never sounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
)

from .devices import load_sounddevice
from .echo import EchoCanceller, stream_time_to_monotonic
from .playback import PlaybackBuffer
from .settings import DirectionSettings
from .streams import StreamFormat, choose_format, close_stream, open_stream

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.audio import PcmConverter
    from fullduplex.io import PlaybackLedger

logger = logging.getLogger(__name__)


class SpeakerOutput:
    """A :class:`~fullduplex.io.BidiOutput` that plays assistant audio."""

    def __init__(self, settings: DirectionSettings, echo: EchoCanceller | None = None) -> None:
        self._settings = settings
        self._echo = echo
        self._stream: Any = None
        self._format: StreamFormat | None = None
        self._buffer: PlaybackBuffer | None = None
        self._ledger: PlaybackLedger | None = None
        self._converters: dict[tuple[int, int], PcmConverter] = {}
        self._latency_s = 0.0
        self._timestamps = True

    @property
    def stream_format(self) -> StreamFormat | None:
        """The device format in use once started."""
        return self._format

    @property
    def buffer(self) -> PlaybackBuffer | None:
        return self._buffer

    async def start(self, agent: BidiAgent) -> None:
        caps = agent.model.capabilities
        fmt = await asyncio.to_thread(
            choose_format, self._settings, caps.output_sample_rate, caps.channels
        )
        self._format = fmt
        self._ledger = agent.playback
        self._buffer = PlaybackBuffer(fmt.sample_rate, fmt.channels, agent.playback)
        self._stream = await asyncio.to_thread(open_stream, self._settings, fmt, self._callback)
        self._latency_s = float(self._stream.latency)
        if self._echo is not None:
            self._echo.attach_far(fmt.sample_rate, fmt.channels)
        agent.playback.attach_player()

    def _callback(self, outdata: Any, frames: int, timing: Any, status: Any) -> None:
        buffer = self._buffer
        if buffer is None:
            return
        dac = float(timing.outputBufferDacTime)
        now = float(timing.currentTime)
        if dac <= 0.0 or now <= 0.0:
            self._timestamps = False
            # the host API gives no timestamps: assume the stream's nominal latency
            now = time.monotonic()
            dac = now + self._latency_s
        out = memoryview(outdata).cast("B")
        buffer.fill(out, dac, now)
        echo = self._echo
        if echo is not None:
            echo.submit_far(stream_time_to_monotonic(dac, now, time.monotonic()), bytes(out))

    async def __call__(self, event: BidiOutputEvent) -> None:
        buffer = self._buffer
        fmt = self._format
        if buffer is None or fmt is None:
            return
        if isinstance(event, BidiAudioStreamEvent):
            if event.format != "pcm16":
                return
            converter = self._converter(event.sample_rate, event.channels, fmt)
            data = converter.process(event.audio)
            if data:
                buffer.push(event.item_id, data)
        elif isinstance(event, BidiInterruptionEvent):
            if buffer.clear() > 0 or buffer.has_unplayed:
                # drop what the device itself still holds, too
                await asyncio.to_thread(self._flush_device, buffer)
            for converter in self._converters.values():
                converter.reset()
        elif isinstance(event, BidiResponseCompleteEvent):
            # the filter's tail belongs to the last chunk of the response
            for converter in self._converters.values():
                tail = converter.flush()
                if tail:
                    buffer.push(None, tail)

    def _flush_device(self, buffer: PlaybackBuffer) -> None:
        """Abort and restart the stream: PortAudio discards the audio queued in the device."""
        stream = self._stream
        if stream is None:
            return
        sd = load_sounddevice()
        try:
            now = float(stream.time) if self._timestamps else time.monotonic()
            stream.abort()
            if self._echo is not None:
                self._echo.flush_far(time.monotonic())
            buffer.forget_unplayed(now)
            stream.start()
        except sd.PortAudioError:
            logger.warning("could not restart the output stream after an interruption")

    def _converter(self, rate: int, channels: int, fmt: StreamFormat) -> PcmConverter:
        key = (rate, channels)
        converter = self._converters.get(key)
        if converter is None:
            # a format change: what the previous converter still holds plays first
            if self._buffer is not None:
                for previous in self._converters.values():
                    tail = previous.flush()
                    if tail:
                        self._buffer.push(None, tail)
            from fullduplex.audio import PcmConverter  # numpy, soxr: on first use

            converter = PcmConverter(rate, channels, fmt.sample_rate, fmt.channels)
            self._converters = {key: converter}
        return converter

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if self._buffer is not None:
            self._buffer.clear()
        if stream is not None:
            await asyncio.to_thread(close_stream, stream)
            if self._echo is not None:
                self._echo.detach_far()
            if self._ledger is not None:
                self._ledger.detach_player()
