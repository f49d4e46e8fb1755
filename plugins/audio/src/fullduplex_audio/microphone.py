"""The microphone: records a sound device and yields the user's audio as input events.

The PortAudio callback copies each block and hands it to the event loop with
``call_soon_threadsafe`` (it never waits for the loop); the conversion to the
model's rate and channels happens when the agent asks for the next event.
With an :class:`~fullduplex_audio.echo.EchoCanceller`, the callback hands the
block and its ADC timestamp to the canceller's worker instead, which converts
and cleans it and passes the result to the event loop the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from fullduplex.events import BidiAudioInputEvent

from .echo import EchoCanceller, stream_time_to_monotonic
from .settings import DirectionSettings
from .streams import StreamFormat, choose_format, close_stream, open_stream

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.audio import PcmConverter

#: blocks kept when the agent falls behind (the oldest go first)
_MAX_QUEUED_BLOCKS = 500


class MicrophoneInput:
    """A :class:`~fullduplex.io.BidiInput` that streams the microphone."""

    def __init__(self, settings: DirectionSettings, echo: EchoCanceller | None = None) -> None:
        self._settings = settings
        self._echo = echo
        self._latency_s = 0.0
        self._stream: Any = None
        self._format: StreamFormat | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._converter: PcmConverter | None = None
        self._rate = 24000
        self._channels = 1
        self._finished = False
        #: blocks dropped because the agent did not keep up
        self.dropped_blocks = 0

    @property
    def stream_format(self) -> StreamFormat | None:
        """The device format in use once started."""
        return self._format

    async def start(self, agent: BidiAgent) -> None:
        caps = agent.model.capabilities
        self._rate = caps.input_sample_rate
        self._channels = caps.channels
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._finished = False
        fmt = await asyncio.to_thread(choose_format, self._settings, self._rate, self._channels)
        self._format = fmt
        from fullduplex.audio import PcmConverter  # numpy, soxr: on first use

        if self._echo is not None:
            # the canceller's worker converts and cleans; its output is the model's format
            self._converter = None
            await asyncio.to_thread(
                self._echo.start,
                fmt.sample_rate,
                fmt.channels,
                self._rate,
                self._channels,
                self._deliver,
            )
        else:
            self._converter = PcmConverter(
                fmt.sample_rate, fmt.channels, self._rate, self._channels
            )
        self._stream = await asyncio.to_thread(open_stream, self._settings, fmt, self._callback)
        self._latency_s = float(self._stream.latency)

    def _deliver(self, data: bytes) -> None:
        """From the canceller's worker thread: cleaned audio for the event loop."""
        loop = self._loop
        if loop is None or not data:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._enqueue, data)

    def _callback(self, indata: Any, frames: int, timing: Any, status: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        data = bytes(indata)
        echo = self._echo
        if echo is not None:
            fallback = time.monotonic() - self._latency_s - frames / self._format_rate()
            adc = stream_time_to_monotonic(
                float(timing.inputBufferAdcTime), float(timing.currentTime), fallback
            )
            echo.submit_near(adc, data)
            return
        # RuntimeError: the loop is closed, the stream is being torn down
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._enqueue, data)

    def _enqueue(self, data: bytes | None) -> None:
        queue = self._queue
        if queue is None:
            return
        if data is not None and queue.qsize() >= _MAX_QUEUED_BLOCKS:
            queue.get_nowait()
            self.dropped_blocks += 1
        queue.put_nowait(data)

    def _format_rate(self) -> int:
        fmt = self._format
        return fmt.sample_rate if fmt is not None else self._rate

    async def __call__(self) -> BidiAudioInputEvent | None:
        queue = self._queue
        converter = self._converter
        if queue is None:
            return None
        while not self._finished:
            data = await queue.get()
            if data is None:
                self._finished = True
                break
            audio = converter.process(data) if converter is not None else data
            if audio:
                return BidiAudioInputEvent(
                    audio, sample_rate=self._rate, channels=self._channels, format="pcm16"
                )
        return None

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(close_stream, stream)
        if self._echo is not None:
            await asyncio.to_thread(self._echo.stop_sync)
        if self._queue is not None:
            self._enqueue(None)
