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
    """Places a device's blocks on the clock: anchored by its timestamps, carried by its samples.

    A device's samples are contiguous, so block *k* starts exactly where block
    *k-1* ended. Its reported ADC / DAC times should agree, and measured on
    PulseAudio (through its ALSA plugin) they mostly do, except for:

    - jitter of well under a millisecond per block, and a lone block off by
      5-20 ms now and then;
    - slow excursions: the DAC time wanders 10 ms away over a few seconds and
      back, while the echo in the microphone does not move at all (pairing by
      sample count from the first timestamps cancelled 60 dB in every second;
      following the reports lost 30-50 dB of it for seconds at a time);
    - drift: two devices on two crystals run apart by up to a few hundred ppm;
    - real discontinuities: an overrun, a restarted stream.

    AEC3 takes every move in the pairing for the echo path moving: its filter
    re-adapts and leaks echo meanwhile; a constant offset costs nothing (its
    delay estimator finds it). So the reports anchor the clock: the first
    block's at once, then, after ``settle_s``, the median of that first
    stretch's reports (one correction, early, in case the first was a wild
    one). Each next block starts where the previous one ended, and the clock
    is nudged toward the reports only by ``block / time_constant_s`` of the
    error: drift becomes a constant lag (100 ppm for 30 s is 3 ms; the lag
    stays under ``resync_s`` up to about 650 ppm), excursions and jitter move
    it by a fraction of a millisecond. A report more than ``resync_s`` away is
    ignored, unless ``resync_blocks`` reports in a row say so: then it is a
    discontinuity, and the clock re-anchors there.
    """

    def __init__(
        self,
        rate: int,
        time_constant_s: float = 30.0,
        settle_s: float = 1.0,
        resync_s: float = 0.02,
        resync_blocks: int = 5,
    ) -> None:
        self.rate = rate
        self.time_constant_s = time_constant_s
        self.settle_s = settle_s
        self.resync_s = resync_s
        self.resync_blocks = resync_blocks
        self._next: float | None = None
        self._far_off = 0  # reports in a row further than resync_s from the clock
        #: reported-minus-placed errors of the first ``settle_s`` after an anchor (None: settled)
        self._settling: list[float] | None = None
        self._settled_for = 0.0
        #: discontinuities the clock re-anchored on (not counting the first block)
        self.resyncs = 0
        #: the largest reported-minus-predicted error absorbed as jitter, in seconds
        self.max_jitter_s = 0.0

    def reset(self) -> None:
        self._next = None
        self._far_off = 0
        self._settling = None

    def _anchor(self, reported: float) -> float:
        self._settling = []
        self._settled_for = 0.0
        self._far_off = 0
        return reported

    def place(self, reported: float, frames: int) -> float:
        """The start time of a block of ``frames`` reported to start at ``reported``."""
        predicted = self._next
        duration = frames / self.rate
        if predicted is None:
            start = self._anchor(reported)
        elif self._settling is not None:
            self._settling.append(reported - predicted)
            self._settled_for += duration
            start = predicted
            if self._settled_for >= self.settle_s:
                errors = sorted(self._settling)
                start += errors[len(errors) // 2]
                self._settling = None
        else:
            error = reported - predicted
            if abs(error) <= self.resync_s:
                self._far_off = 0
                self.max_jitter_s = max(self.max_jitter_s, abs(error))
                start = predicted + min(1.0, duration / self.time_constant_s) * error
            else:
                self._far_off += 1
                if self._far_off >= self.resync_blocks:
                    self.resyncs += 1
                    start = self._anchor(reported)
                else:
                    start = predicted  # a lone wild report, or the first of a jump
        self._next = start + duration
        return start
