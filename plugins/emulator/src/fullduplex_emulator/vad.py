"""Energy-based voice activity detection, standing in for a service's VAD.

The services' VADs are models; this one only looks at loudness, which is enough
to be deterministic for tests (a tone or the kit's synthetic speech is "speech",
digital silence is not) and sensible with a real microphone. ``threshold``
(0-1) maps to an RMS level: ``threshold * 0.04`` of full scale, so 0.5 triggers
at about -34 dBFS, well above a quiet room and well below normal speech.

Times are in milliseconds on the session's input-audio timeline (0 is the first
audio appended). A provider's front-end maps its own turn-detection settings
onto ``threshold`` / ``prefix_padding_ms`` / ``silence_duration_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

FRAME_MS: Final = 20
LEVEL_PER_THRESHOLD: Final = 0.04


@dataclass(frozen=True, slots=True)
class VadEvent:
    """``kind`` is ``"started"`` or ``"stopped"``; ``ms`` is where, on the input timeline."""

    kind: Literal["started", "stopped"]
    ms: int


class VoiceActivityDetector(Protocol):
    """What a session needs of a VAD: ``EnergyVad`` here, ``silero.SileroVad`` with speech."""

    in_speech: bool

    def reset(self, position_ms: int) -> None:
        """Forget speech state; audio resumes at ``position_ms``."""
        ...

    def feed(self, samples: npt.NDArray[np.int16], rate: int) -> list[VadEvent]:
        """Consume mono samples; return the transitions found."""
        ...


class EnergyVad:
    """Detects speech start/stop from RMS energy in 20 ms frames."""

    def __init__(
        self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 200
    ) -> None:
        self.level = threshold * LEVEL_PER_THRESHOLD
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.in_speech = False
        self._silence_ms = 0
        self._pending: npt.NDArray[np.float64] = np.zeros(0)
        self._position_ms = 0  # start of the pending samples

    def reset(self, position_ms: int) -> None:
        """Forget speech state (after a commit or clear); audio resumes at ``position_ms``."""
        self.in_speech = False
        self._silence_ms = 0
        self._pending = np.zeros(0)
        self._position_ms = position_ms

    def feed(self, samples: npt.NDArray[np.int16], rate: int) -> list[VadEvent]:
        """Consume mono samples that follow the previous ones; return the transitions found."""
        data = np.concatenate([self._pending, samples.astype(np.float64) / 32768.0])
        frame = rate * FRAME_MS // 1000
        n_frames = len(data) // frame
        events: list[VadEvent] = []
        if n_frames:
            frames = data[: n_frames * frame].reshape(n_frames, frame)
            levels = np.sqrt(np.mean(frames * frames, axis=1))
            for loud in levels > self.level:
                start = self._position_ms
                self._position_ms += FRAME_MS
                if loud:
                    self._silence_ms = 0
                    if not self.in_speech:
                        self.in_speech = True
                        events.append(VadEvent("started", max(0, start - self.prefix_padding_ms)))
                elif self.in_speech:
                    self._silence_ms += FRAME_MS
                    if self._silence_ms >= self.silence_duration_ms:
                        self.in_speech = False
                        self._silence_ms = 0
                        events.append(VadEvent("stopped", self._position_ms))
        self._pending = data[n_frames * frame :]
        return events
