"""Echo cancellation between one IO object's speaker and microphone (WebRTC's AEC3).

On a laptop without headphones the microphone hears the assistant; the
server's turn detection takes that for the user and the assistant interrupts
itself. :class:`EchoCanceller` removes the speaker's sound from the microphone
with WebRTC's audio processing module (``pywebrtc-audio``: AEC3, and optionally
its noise suppressor and AGC2), the component browsers and LiveKit use.

Threads. The sound device callbacks only copy their block and its timestamp
into a bounded queue (``put_nowait``: a full queue drops the block and counts
it, a callback never waits). One worker thread converts both directions to the
model's input format, lays the far end on a :class:`FarEndTimeline` by the
output's DAC timestamps, cuts the microphone into 10 ms frames, reads for each
frame the reference that was sounding at its ADC timestamp and runs the
processor. The cleaned audio goes to the event loop through ``deliver`` (the
microphone passes ``call_soon_threadsafe``). Nothing runs on the event loop.

Clock. PortAudio's stream times differ per host API (wall clock, monotonic,
or none), so each callback turns its timestamp into ``time.monotonic()`` time
by the offset between the stream's ``currentTime`` and ``time.monotonic()``
read in the same callback.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from fullduplex.errors import ConfigurationError

if TYPE_CHECKING:  # numpy and the timeline load with the worker: building BidiAudioIO stays light
    import numpy as np

    from fullduplex.audio import PcmConverter

    from .timeline import FarEndTimeline

logger = logging.getLogger(__name__)

#: the processor's frame: WebRTC's audio processing works on 10 ms
FRAME_MS: Final = 10
#: device blocks waiting for the worker (both directions); at 20 ms blocks about 2.5 s each way
_QUEUE_BLOCKS: Final = 256
#: how much far-end history the timeline keeps (longer than any sound card's buffering)
_TIMELINE_S: Final = 2.0


@attrs.frozen
class EchoSettings:
    """Which stages of WebRTC's audio processing run on the microphone."""

    echo_cancellation: bool = True
    noise_suppression: bool = False
    auto_gain: bool = False

    @property
    def any(self) -> bool:
        return self.echo_cancellation or self.noise_suppression or self.auto_gain


def check_echo_settings(
    echo_cancellation: object, noise_suppression: object, auto_gain: object
) -> EchoSettings:
    """Validate the three switches (plain booleans; the error names the field)."""
    for field, value in (
        ("echo_cancellation", echo_cancellation),
        ("noise_suppression", noise_suppression),
        ("auto_gain", auto_gain),
    ):
        if not isinstance(value, bool):
            raise ConfigurationError(f"{field}: expected True or False, got {value!r}")
    return EchoSettings(
        echo_cancellation=bool(echo_cancellation),
        noise_suppression=bool(noise_suppression),
        auto_gain=bool(auto_gain),
    )


def load_processor_class() -> Any:
    """``pywebrtc_audio.AudioProcessor``, or a ConfigurationError saying how to get it."""
    try:
        from pywebrtc_audio import AudioProcessor
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigurationError(
            "echo_cancellation: needs the pywebrtc-audio package (pip install pywebrtc-audio), "
            f"or pass echo_cancellation=False: {exc}"
        ) from exc
    return AudioProcessor


@attrs.define
class EchoStats:
    """What the worker measured: frames processed, CPU spent on them, blocks dropped."""

    frames: int = 0
    cpu_s: float = 0.0
    max_frame_s: float = 0.0
    dropped_blocks: int = 0
    #: timestamp discontinuities (microphone, speaker) the clocks resynchronised on
    near_resyncs: int = 0
    far_resyncs: int = 0

    @property
    def cpu_per_frame_us(self) -> float:
        return self.cpu_s / self.frames * 1e6 if self.frames else 0.0


@attrs.frozen
class _Format:
    rate: int
    channels: int


class _Lane:
    """One direction into the canceller: converter to the model's format plus a steady clock.

    A streaming resampler withholds output until its filter has enough input,
    but its output stays aligned with its input from the stream's first
    sample. So output sample *j* sounded when input sample *j x in/out rate*
    did: the lag is the input consumed minus the output produced, in seconds.
    """

    def __init__(self, src: _Format, out: _Format) -> None:
        from fullduplex.audio import PcmConverter

        from .timeline import BlockClock

        self.src = src
        self.out = out
        self.converter: PcmConverter = PcmConverter(src.rate, src.channels, out.rate, out.channels)
        self.clock = BlockClock(src.rate)
        self._in = 0
        self._out = 0

    def reset(self) -> None:
        self.converter.reset()
        self.clock.reset()
        self._in = self._out = 0

    def convert(
        self, when: float, data: bytes
    ) -> tuple[float, np.ndarray[Any, np.dtype[np.int16]]]:
        """The block's audio in the model's format and when its first sample sounded."""
        n_in = len(data) // (2 * self.src.channels)
        start = self.clock.place(when, n_in)
        lag = self._in / self.src.rate - self._out / self.out.rate
        fresh = _frames(self.converter.process(data), self.out.channels)
        self._in += n_in
        self._out += len(fresh)
        return start - lag, fresh


class EchoCanceller:
    """Cleans one microphone stream against one speaker stream (see the module docstring).

    The microphone calls :meth:`start` / :meth:`stop` (it knows the model's
    input format); the speaker calls :meth:`attach_far` / :meth:`detach_far`.
    Without a started speaker, echo cancellation is skipped (nothing plays);
    noise suppression and gain control still run when asked for.
    """

    def __init__(
        self, settings: EchoSettings, processor_factory: Callable[..., Any] | None = None
    ) -> None:
        self.settings = settings
        #: builds the processor (``pywebrtc_audio.AudioProcessor``'s signature); tests swap it
        self._factory = processor_factory
        self.stats = EchoStats()
        self._queue: queue.Queue[tuple[str, float, bytes, int]] = queue.Queue(_QUEUE_BLOCKS)
        self._thread: threading.Thread | None = None
        self._running = False
        self._deliver: Callable[[bytes], None] | None = None
        self._near_format: _Format | None = None
        self._far_format: _Format | None = None
        self._out: _Format | None = None
        self._far_attached = False
        self._processor: Any = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(
        self,
        device_rate: int,
        device_channels: int,
        out_rate: int,
        out_channels: int,
        deliver: Callable[[bytes], None],
    ) -> None:
        """Start the worker: microphone blocks at the device format, output at the model's."""
        processor_class = self._factory or load_processor_class()
        self.stop_sync()
        self._near_format = _Format(device_rate, device_channels)
        self._out = _Format(out_rate, out_channels)
        self._deliver = deliver
        self._processor = processor_class(
            sample_rate=out_rate,
            num_channels=out_channels,
            echo_cancellation=self.settings.echo_cancellation,
            noise_suppression=self.settings.noise_suppression,
            auto_gain_control=self.settings.auto_gain,
        )
        self._queue = queue.Queue(_QUEUE_BLOCKS)
        if self._far_attached:  # the speaker started first
            self._queue.put_nowait(("attach", 0.0, b"", 0))
        self._running = True
        self._thread = threading.Thread(target=self._work, name="fullduplex-echo", daemon=True)
        self._thread.start()

    def stop_sync(self) -> None:
        """Stop the worker and wait for it (blocking: run it off the event loop)."""
        thread, self._thread = self._thread, None
        self._running = False
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(("stop", 0.0, b"", 0), timeout=1.0)
        thread.join(timeout=5.0)
        self._deliver = None

    def attach_far(self, device_rate: int, device_channels: int) -> None:
        """The speaker started: its blocks come at this format."""
        self._far_format = _Format(device_rate, device_channels)
        self._far_attached = True
        self._put(("attach", 0.0, b"", 0))

    def detach_far(self) -> None:
        self._far_attached = False
        self._put(("detach", 0.0, b"", 0))

    @property
    def running(self) -> bool:
        return self._running

    # --- device callbacks (never block) --------------------------------------------------
    def submit_near(self, when: float, data: bytes) -> None:
        """A microphone block whose first frame was captured at ``when`` (monotonic seconds)."""
        if self._running:
            self._put(("near", when, data, 0))

    def submit_far(self, when: float, data: bytes) -> None:
        """A speaker block (as handed to the device) whose first frame sounds at ``when``."""
        if self._running and self._far_attached:
            self._put(("far", when, data, 0))

    def flush_far(self, when: float) -> None:
        """The speaker dropped what its device held at ``when``: that audio never sounded."""
        if self._running:
            self._put(("flush", when, b"", 0))

    def _put(self, item: tuple[str, float, bytes, int]) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.stats.dropped_blocks += 1

    # --- the worker thread -------------------------------------------------------------
    def _work(self) -> None:
        import numpy as np

        from .timeline import FarEndTimeline

        out = self._out
        near_fmt = self._near_format
        assert out is not None
        assert near_fmt is not None
        near = _Lane(near_fmt, out)
        far: _Lane | None = None
        timeline = FarEndTimeline(out.rate, out.channels, _TIMELINE_S)
        frame = out.rate * FRAME_MS // 1000
        pending = np.zeros((0, out.channels), dtype=np.int16)
        pending_end = 0.0  # when the newest pending frame ends (monotonic seconds)
        far_live = False
        while True:
            kind, when, data, _ = self._queue.get()
            if kind == "stop":
                return
            try:
                if kind == "near":
                    start, fresh = near.convert(when, data)
                    self.stats.near_resyncs = near.clock.resyncs
                    pending = np.concatenate([pending, fresh]) if len(pending) else fresh
                    pending_end = start + len(fresh) / out.rate
                    usable = len(pending) - len(pending) % frame
                    if usable == 0:
                        continue
                    first = pending_end - len(pending) / out.rate
                    cleaned = self._process(
                        pending[:usable], first, frame, timeline, far_live, out.rate
                    )
                    pending = pending[usable:]
                    deliver = self._deliver
                    if deliver is not None:
                        deliver(cleaned)
                elif kind == "far":
                    if far is not None:
                        start, fresh = far.convert(when, data)
                        self.stats.far_resyncs = far.clock.resyncs
                        timeline.write(start, fresh)
                elif kind == "flush":
                    timeline.flush(when)
                    if far is not None:
                        far.reset()  # the stream restarts: no filter tail, a fresh clock
                elif kind == "attach":
                    far_fmt = self._far_format
                    if far_fmt is not None:
                        far = _Lane(far_fmt, out)
                        far_live = self.settings.echo_cancellation
                elif kind == "detach":
                    far_live = False
                    far = None
            except Exception:  # a bad block must not kill the microphone
                logger.exception("echo canceller: could not process a %s block", kind)

    def _process(
        self,
        near: np.ndarray[Any, np.dtype[np.int16]],
        first: float,
        frame: int,
        timeline: FarEndTimeline,
        far_live: bool,
        rate: int,
    ) -> bytes:
        processor = self._processor
        settings = self.settings
        if processor is None or not (far_live or settings.noise_suppression or settings.auto_gain):
            return near.tobytes()  # nothing plays and nothing else asked for: pass through
        chunks: list[bytes] = []
        stats = self.stats
        for start in range(0, len(near), frame):
            near_frame = near[start : start + frame]
            far_frame = timeline.read(first + start / rate, frame)
            t0 = time.perf_counter()
            if settings.echo_cancellation:
                cleaned = processor.process(near_frame.reshape(-1), far_frame.reshape(-1))
            else:
                cleaned = processor.process(near_frame.reshape(-1))
            spent = time.perf_counter() - t0
            stats.frames += 1
            stats.cpu_s += spent
            stats.max_frame_s = max(stats.max_frame_s, spent)
            chunks.append(cleaned.astype("<i2", copy=False).tobytes())
        return b"".join(chunks)


def _frames(pcm: bytes, channels: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % (2 * channels)], dtype="<i2")
    return samples.astype(np.int16).reshape(-1, channels)


def stream_time_to_monotonic(stream_time: float, current_time: float, fallback: float) -> float:
    """A callback's ADC/DAC time on the monotonic clock; ``fallback`` when the host gives none."""
    if stream_time <= 0.0 or current_time <= 0.0:
        return fallback
    return time.monotonic() + (stream_time - current_time)


__all__ = [
    "EchoCanceller",
    "EchoSettings",
    "EchoStats",
    "check_echo_settings",
    "stream_time_to_monotonic",
]
