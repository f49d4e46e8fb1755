"""Speech for the echo tests: espeak-ng's voice, or the emulator kit's synthetic speech."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from fullduplex.audio import resample

#: about 20 s of speech at espeak-ng's 160 words a minute, no sentence repeated
PASSAGE = (
    "Echo cancellation lets a voice assistant listen while it speaks. Without it, the "
    "microphone of a laptop hears the loudspeaker, the turn detection takes the "
    "assistant's own voice for the user, and the answer stops itself. The canceller "
    "learns the path from the speaker to the microphone, predicts the echo from the "
    "audio that was played, and subtracts it, so that only the person in the room remains."
)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak(text: str = PASSAGE, rate: int = 24000, voice: str = "en") -> bytes:
    """``text`` spoken by espeak-ng (``voice``: ``en`` or a variant such as ``en+f3``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True, timeout=60
        )
        with wave.open(str(path)) as wav:
            source_rate = wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    return resample(pcm, source_rate, rate, 1)


def from_onset(pcm: bytes, level: int = 300) -> bytes:
    """``pcm`` from its first sample louder than ``level``: the voice starts at sample 0."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > level)[0]
    return pcm[int(loud[0]) * 2 :] if len(loud) else pcm
