"""``BidiWavIO``: a WAV file as the user's voice and another as the model's, no device needed.

The input reads the whole file in a worker thread, converts it once to the
model's rate and channels, and yields it in frame-sized chunks (paced at real
time when ``realtime`` is set, as a microphone would), then trailing silence
long enough for the provider's voice activity detection to end the turn, then
``None``. The output appends the model's speech to a WAV file at the model's
output rate through a writer thread, so no file call runs on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fullduplex.errors import ConfigurationError, IOChannelError
from fullduplex.events import BidiAudioInputEvent, BidiAudioStreamEvent, BidiOutputEvent

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.audio import PcmConverter

PathLike = str | os.PathLike[str]


def _check_path(field: str, value: object) -> Path | None:
    if value is None:
        return None
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ConfigurationError(f"{field}: expected a file path (str or Path) or None, got {value!r}")


def _check_ms(field: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigurationError(
            f"{field}: expected milliseconds from {low:g} to {high:g}, got {value!r}"
        )
    return float(value)


def read_wav_pcm16(path: Path) -> tuple[bytes, int, int]:
    """Read a PCM WAV file (8, 16, 24 or 32 bit) as pcm16: ``(audio, sample_rate, channels)``."""
    try:
        with wave.open(str(path), "rb") as reader:
            width = reader.getsampwidth()
            rate = reader.getframerate()
            channels = reader.getnchannels()
            raw = reader.readframes(reader.getnframes())
    except FileNotFoundError as exc:
        raise IOChannelError(f"input_path: no such file: {path}") from exc
    except (wave.Error, EOFError) as exc:
        raise IOChannelError(
            f"input_path: {path} is not a WAV file this reader accepts "
            f"(uncompressed integer PCM, 8/16/24/32 bit): {exc}"
        ) from exc
    except OSError as exc:
        raise IOChannelError(f"input_path: cannot read {path}: {exc}") from exc
    return _to_pcm16(raw, width), rate, channels


def _to_pcm16(raw: bytes, width: int) -> bytes:
    if width == 2:
        return raw
    import numpy as np

    if width == 1:  # unsigned 8 bit
        return ((np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8).astype("<i2").tobytes()
    if width == 3:  # keep the two most significant bytes of each little-endian sample
        frames = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        return np.ascontiguousarray(frames[:, 1:]).tobytes()
    if width == 4:
        return (np.frombuffer(raw, "<i4") >> 16).astype("<i2").tobytes()
    raise IOChannelError(f"input_path: unsupported sample width {width * 8} bit")


class WavFileInput:
    """A :class:`~fullduplex.io.BidiInput` that plays a WAV file as the user's speech."""

    def __init__(
        self, path: Path, *, realtime: bool, frame_ms: float, trailing_silence_ms: float
    ) -> None:
        self._path = path
        self._realtime = realtime
        self._frame_ms = frame_ms
        self._silence_ms = trailing_silence_ms
        self._audio = b""
        self._rate = 24000
        self._channels = 1
        self._frame_bytes = 0
        self._position = 0
        self._silence_left = 0
        self._started_at = 0.0
        self._chunks_sent = 0

    async def start(self, agent: BidiAgent) -> None:
        caps = agent.model.capabilities
        self._rate = caps.input_sample_rate
        self._channels = caps.channels
        self._audio = await asyncio.to_thread(self._load)
        frames = max(1, round(self._rate * self._frame_ms / 1000.0))
        self._frame_bytes = frames * 2 * self._channels
        self._position = 0
        silence_frames = round(self._rate * self._silence_ms / 1000.0)
        self._silence_left = silence_frames * 2 * self._channels
        self._started_at = time.monotonic()
        self._chunks_sent = 0

    def _load(self) -> bytes:
        audio, rate, channels = read_wav_pcm16(self._path)
        from fullduplex.audio import PcmConverter  # numpy, soxr: on first use

        converter = PcmConverter(rate, channels, self._rate, self._channels)
        return converter.process(audio) + converter.flush()

    async def __call__(self) -> BidiAudioInputEvent | None:
        if self._position < len(self._audio):
            chunk = self._audio[self._position : self._position + self._frame_bytes]
            self._position += len(chunk)
        elif self._silence_left > 0:
            size = min(self._frame_bytes, self._silence_left)
            chunk = bytes(size)
            self._silence_left -= size
        else:
            return None
        if self._realtime:
            due = self._started_at + self._chunks_sent * self._frame_ms / 1000.0
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self._chunks_sent += 1
        return BidiAudioInputEvent(
            chunk, sample_rate=self._rate, channels=self._channels, format="pcm16"
        )

    async def stop(self) -> None:
        self._position = len(self._audio)
        self._silence_left = 0


class WavFileOutput:
    """A :class:`~fullduplex.io.BidiOutput` that writes the model's speech to a WAV file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._rate = 24000
        self._channels = 1
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None
        self._converters: dict[tuple[int, int], PcmConverter] = {}
        #: milliseconds of audio handed to the writer
        self.written_ms = 0.0

    async def start(self, agent: BidiAgent) -> None:
        caps = agent.model.capabilities
        self._rate = caps.output_sample_rate
        self._channels = caps.channels
        self._error = None
        file, writer = await asyncio.to_thread(self._open)
        self._thread = threading.Thread(
            target=self._write_loop,
            args=(file, writer),
            name="fullduplex-wav-writer",
            daemon=True,
        )
        self._thread.start()

    def _open(self) -> tuple[BinaryIO, wave.Wave_write]:
        """The file (ours to close) and a WAV writer over it."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self._path, "wb")  # noqa: SIM115 (closed by the writer thread)
        except OSError as exc:
            raise IOChannelError(f"output_path: cannot write {self._path}: {exc}") from exc
        writer = wave.open(file, "wb")  # noqa: SIM115 (closed by the writer thread)
        writer.setnchannels(self._channels)
        writer.setsampwidth(2)
        writer.setframerate(self._rate)
        return file, writer

    def _write_loop(self, file: BinaryIO, writer: wave.Wave_write) -> None:
        """Write until told to stop or until the file fails; never raises.

        Each batch is flushed to the file at once, so a full disk shows up at
        the first chunk it refuses (not at the end, when a whole answer is lost).
        The failure is kept for the event loop to raise: a writer thread that
        raised would only print a traceback nobody can act on.
        """
        try:
            while True:
                data = self._queue.get()
                if data is None:
                    break
                writer.writeframes(data)
                file.flush()
        except OSError as exc:
            self._error = exc
        finally:
            # wave.close() patches the header's sizes and flushes; the file is ours.
            for close in (writer.close, file.close):
                try:
                    close()
                except OSError as exc:
                    if self._error is None:
                        self._error = exc

    def _failure(self) -> IOChannelError | None:
        error = self._error
        if error is None:
            return None
        return IOChannelError(f"output_path: writing {self._path} failed: {error}")

    async def __call__(self, event: BidiOutputEvent) -> None:
        if not isinstance(event, BidiAudioStreamEvent) or self._thread is None:
            return
        failure = self._failure()
        if failure is not None:
            raise failure
        if event.format != "pcm16":
            return
        key = (event.sample_rate, event.channels)
        converter = self._converters.get(key)
        if converter is None:
            # a format change: what the previous converter still holds comes first
            self._flush_converters()
            from fullduplex.audio import PcmConverter  # numpy, soxr: on first use

            converter = PcmConverter(event.sample_rate, event.channels, self._rate, self._channels)
            self._converters = {key: converter}
        self._write(converter.process(event.audio))

    def _write(self, data: bytes) -> None:
        if data:
            self.written_ms += len(data) * 1000.0 / (2 * self._channels * self._rate)
            self._queue.put(data)

    def _flush_converters(self) -> None:
        for converter in self._converters.values():
            self._write(converter.flush())

    async def stop(self) -> None:
        """Finish the file; raises :class:`IOChannelError` when any write failed."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._flush_converters()
        self._queue.put(None)
        await asyncio.to_thread(thread.join)
        failure = self._failure()
        if failure is not None:
            raise failure


class BidiWavIO:
    """WAV files in place of a microphone and a speaker (tests, batch runs, CI).

    ``input_path`` is streamed as the user's speech (any PCM WAV, converted to
    the model's format) followed by ``trailing_silence_ms`` of silence, paced at
    real time unless ``realtime=False``; ``output_path`` receives the model's
    speech at the model's output rate.
    """

    def __init__(
        self,
        input_path: PathLike | None = None,
        output_path: PathLike | None = None,
        realtime: bool = True,
        *,
        frame_ms: float = 20,
        trailing_silence_ms: float = 1500,
    ) -> None:
        self.input_path = _check_path("input_path", input_path)
        self.output_path = _check_path("output_path", output_path)
        if not isinstance(realtime, bool):
            raise ConfigurationError(f"realtime: expected True or False, got {realtime!r}")
        self.realtime = realtime
        self.frame_ms = _check_ms("frame_ms", frame_ms, 2, 1000)
        self.trailing_silence_ms = _check_ms("trailing_silence_ms", trailing_silence_ms, 0, 60000)

    def input(self) -> WavFileInput:
        """The input file as a stream of audio input events."""
        if self.input_path is None:
            raise ConfigurationError("input_path: BidiWavIO.input() needs an input_path")
        return WavFileInput(
            self.input_path,
            realtime=self.realtime,
            frame_ms=self.frame_ms,
            trailing_silence_ms=self.trailing_silence_ms,
        )

    def output(self) -> WavFileOutput:
        """An output that writes the model's speech to ``output_path``."""
        if self.output_path is None:
            raise ConfigurationError("output_path: BidiWavIO.output() needs an output_path")
        return WavFileOutput(self.output_path)
