"""The far-end reference laid out on a clock: what the speaker's DAC played, and when.

Echo cancellation needs, for each 10 ms of microphone audio, the speaker audio
that was *sounding* at that moment. Pairing the two streams by queue order
drifts as soon as either device buffers, so each speaker block is written at
the position its DAC timestamp names, and each microphone frame reads the
position its ADC timestamp names. Times are seconds on one clock shared by both
directions (``time.monotonic``); positions are whole samples at the canceller's
rate counted from the first time seen.

A flush (the speaker aborted its stream after an interruption) erases
everything from that moment on: those blocks never reached the air, so they
must not be subtracted from the microphone.

Used by the canceller's worker thread only; it holds no lock.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


class FarEndTimeline:
    """A ring of ``capacity_s`` seconds of interleaved int16 samples addressed by time."""

    def __init__(self, rate: int, channels: int, capacity_s: float = 2.0) -> None:
        self.rate = rate
        self.channels = channels
        self._size = max(1, round(rate * capacity_s))
        self._ring: Int16Array = np.zeros((self._size, channels), dtype=np.int16)
        self._origin: float | None = None
        #: one past the newest sample position written (positions at and after it are silence)
        self._end = 0
        self._start = 0  # the oldest position still held

    def _position(self, when: float) -> int:
        if self._origin is None:
            self._origin = when
        return round((when - self._origin) * self.rate)

    def write(self, when: float, samples: Int16Array) -> None:
        """Lay ``samples`` (frames x channels) so that the first sounds at ``when``."""
        frames = samples.reshape(-1, self.channels)
        n = len(frames)
        if n == 0:
            return
        pos = self._position(when)
        if pos + n <= self._end - self._size:
            return  # older than anything the ring still holds
        if pos > self._end:
            self._fill(self._end, pos, None)  # a gap the device played as nothing we know of
        self._fill(pos, pos + n, frames)
        self._end = max(self._end, pos + n)
        self._start = max(self._start, self._end - self._size)

    def flush(self, when: float) -> None:
        """Forget everything at and after ``when``: it never reached the DAC."""
        if self._origin is None:
            return
        pos = self._position(when)
        if pos < self._end:
            self._fill(max(pos, self._start), self._end, None)
            self._end = max(pos, self._start)

    def read(self, when: float, n: int) -> Int16Array:
        """The ``n`` frames that sounded from ``when`` on (silence where nothing is known)."""
        out: Int16Array = np.zeros((n, self.channels), dtype=np.int16)
        if self._origin is None or n <= 0:
            return out
        pos = self._position(when)
        lo = max(pos, self._start)
        hi = min(pos + n, self._end)
        if lo < hi:
            idx = np.arange(lo, hi) % self._size
            out[lo - pos : hi - pos] = self._ring[idx]
        return out

    def _fill(self, lo: int, hi: int, frames: Int16Array | None) -> None:
        if hi <= lo:
            return
        if hi - lo > self._size:  # only the newest ring-full matters
            if frames is not None:
                frames = frames[-self._size :]
            lo = hi - self._size
        idx = np.arange(lo, hi) % self._size
        self._ring[idx] = 0 if frames is None else frames


class BlockClock:
    """Steadies a device's per-block timestamps into one continuous sample clock.

    A device's samples are contiguous, so block *k* starts exactly where block
    *k-1* ended; but the timestamps PortAudio reports jitter by several
    milliseconds (the PulseAudio ALSA plugin's ADC times jump by up to 20 ms).
    Every jump in the pairing looks to AEC3 like the echo path moving, and it
    re-converges, leaking echo meanwhile. So each block's time is predicted from
    the previous one and only nudged toward the reported time (``gain`` of the
    error per block: slow enough to ignore jitter, fast enough for clock drift).
    A reported time further than ``resync_s`` from the prediction is a real
    discontinuity (an overrun, a restarted stream) and is taken as is.
    """

    def __init__(self, rate: int, gain: float = 0.02, resync_s: float = 0.08) -> None:
        self.rate = rate
        self.gain = gain
        self.resync_s = resync_s
        self._next: float | None = None
        #: discontinuities taken as is (not counting the first block)
        self.resyncs = 0
        #: the largest reported-minus-predicted error absorbed as jitter, in seconds
        self.max_jitter_s = 0.0

    def reset(self) -> None:
        self._next = None

    def place(self, reported: float, frames: int) -> float:
        """The steadied start time of a block of ``frames`` reported to start at ``reported``."""
        predicted = self._next
        if predicted is None or abs(reported - predicted) > self.resync_s:
            if predicted is not None:
                self.resyncs += 1
            start = reported
        else:
            self.max_jitter_s = max(self.max_jitter_s, abs(reported - predicted))
            start = predicted + self.gain * (reported - predicted)
        self._next = start + frames / self.rate
        return start
