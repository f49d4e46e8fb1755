"""Speech-like audio for emulated answers, in any sample rate and encoding.

Silence would hide bugs in playback, resampling and truncation, and a pure tone
is tiring to listen to, so emulators "speak" a buzzy vowel-like signal: a voiced
source whose pitch drifts like intonation, shaped by formant resonances that
change every syllable, with a syllable envelope and short gaps. Its length
follows the transcript (about 15 characters per second, the pace of speech), so
transcript and audio stay in proportion for truncation.

Everything is deterministic (derived from the text) and cached, and the base64
chunks used on JSON wires are computed once per text: streaming a response is
then only string concatenation. A provider's front-end maps its format names
(``audio/pcm``, ``audio/pcmu``...) onto an ``Encoding`` and a rate.
"""

from __future__ import annotations

import base64
import re
import zlib
from functools import lru_cache
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from . import g711

#: ``pcm16`` is little-endian 16-bit PCM; ``ulaw`` / ``alaw`` are G.711, one byte a sample
Encoding: TypeAlias = Literal["pcm16", "ulaw", "alaw"]

#: milliseconds of speech per transcript character (about 15 characters per second)
MS_PER_CHARACTER: Final = 66
MIN_SPEECH_MS: Final = 400
#: the rate of the PCM helpers below unless told otherwise
PCM_RATE: Final = 24_000

# (F1, F2, F3) in Hz for a few vowels: a, e, i, o, u
_VOWELS: Final = (
    (730.0, 1090.0, 2440.0),
    (530.0, 1840.0, 2480.0),
    (270.0, 2290.0, 3010.0),
    (570.0, 840.0, 2410.0),
    (300.0, 870.0, 2240.0),
)
_SYLLABLE_MS: Final = 180
_GAP_MS: Final = 40
_HARMONICS: Final = 30
_PEAK: Final = 0.3  # of full scale
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: texts longer than this are voiced sentence by sentence (each sentence cached)
_LONG_TEXT_CHARS: Final = 400


def bytes_per_ms(encoding: Encoding, rate: int) -> int:
    """Bytes per millisecond of mono audio in ``encoding`` at ``rate`` Hz."""
    return rate * (2 if encoding == "pcm16" else 1) // 1000


def _sentences(text: str) -> list[str] | None:
    """The sentences of a long text, or ``None`` when it is voiced whole."""
    if len(text) > _LONG_TEXT_CHARS:
        sentences = [part for part in _SENTENCE_END.split(text) if part]
        if len(sentences) > 1:
            return sentences
    return None


def speech_duration_ms(text: str) -> int:
    """How long saying ``text`` takes (a long text: the sum of its sentences)."""
    sentences = _sentences(text)
    if sentences is not None:
        return sum(max(MIN_SPEECH_MS, len(s) * MS_PER_CHARACTER) for s in sentences)
    return max(MIN_SPEECH_MS, len(text) * MS_PER_CHARACTER)


def speech_samples(text: str, rate: int) -> npt.NDArray[np.float64]:
    """The speech for ``text`` (voiced whole) as float samples in -1..1 at ``rate`` Hz."""
    duration_ms = speech_duration_ms(text)
    n = rate * duration_ms // 1000
    seed = zlib.crc32(text.encode("utf-8"))
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / rate

    period_s = (_SYLLABLE_MS + _GAP_MS) / 1000.0
    syllable = np.floor(t / period_s).astype(np.int64)
    n_syllables = int(syllable[-1]) + 1 if n else 0
    vowel_of = rng.integers(0, len(_VOWELS), size=max(1, n_syllables))
    pitch_of = rng.uniform(105.0, 145.0, size=max(1, n_syllables))

    # Pitch: per-syllable target with a gentle fall inside each syllable.
    within = (t - syllable * period_s) / period_s
    f0 = pitch_of[syllable] * (1.05 - 0.1 * within)
    phase = 2.0 * np.pi * np.cumsum(f0) / rate

    formants = np.array(_VOWELS, dtype=np.float64)[vowel_of[syllable]]  # (n, 3)
    signal = np.zeros(n, dtype=np.float64)
    for k in range(1, _HARMONICS + 1):
        freq = k * f0
        gain = np.zeros(n, dtype=np.float64)
        for j, bandwidth in enumerate((90.0, 110.0, 170.0)):
            gain += np.exp(-(((freq - formants[:, j]) / bandwidth) ** 2)) / (j + 1)
        gain *= freq < rate / 2
        signal += gain * np.sin(k * phase) / k**0.5

    # Syllable envelope: raised cosine over the voiced part, silence in the gap.
    voiced = within * period_s * 1000.0 < _SYLLABLE_MS
    envelope = np.where(
        voiced, np.sin(np.pi * np.minimum(within * period_s * 1000.0 / _SYLLABLE_MS, 1.0)), 0.0
    )
    signal *= envelope
    peak = float(np.max(np.abs(signal))) if n else 0.0
    if peak > 0:
        signal *= _PEAK / peak
    return signal


def to_pcm16(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    """Float samples (-1..1) to 16-bit integers, clipped."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def encode(pcm: npt.NDArray[np.int16], encoding: Encoding) -> bytes:
    """16-bit samples as bytes in ``encoding``."""
    if encoding == "pcm16":
        return pcm.astype("<i2").tobytes()
    return g711.encode_ulaw(pcm) if encoding == "ulaw" else g711.encode_alaw(pcm)


def decode(data: bytes, encoding: Encoding) -> npt.NDArray[np.int16]:
    """Bytes in ``encoding`` to 16-bit samples (a trailing odd PCM byte is dropped)."""
    if encoding == "pcm16":
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
    return g711.decode(data, encoding)


@lru_cache(maxsize=256)
def speech_audio(text: str, encoding: Encoding = "pcm16", rate: int = PCM_RATE) -> bytes:
    """The audio for ``text`` in ``encoding`` at ``rate`` Hz.

    Long texts are voiced per sentence, so repeated sentences cost nothing extra and a
    long answer's audio never needs one huge synthesis.
    """
    sentences = _sentences(text)
    if sentences is not None:
        return b"".join(_voiced(sentence, encoding, rate) for sentence in sentences)
    return _voiced(text, encoding, rate)


@lru_cache(maxsize=1024)
def _voiced(text: str, encoding: Encoding, rate: int) -> bytes:
    return encode(to_pcm16(speech_samples(text, rate)), encoding)


@lru_cache(maxsize=256)
def speech_chunks(text: str, encoding: Encoding, rate: int, chunk_ms: int) -> tuple[bytes, ...]:
    """``speech_audio`` in ``chunk_ms`` pieces, each already base64-encoded (ASCII bytes)."""
    audio = speech_audio(text, encoding, rate)
    step = bytes_per_ms(encoding, rate) * chunk_ms
    return tuple(base64.b64encode(audio[i : i + step]) for i in range(0, len(audio), step))


def encoded_chunks(
    pcm16: bytes, encoding: Encoding, rate: int, chunk_ms: int
) -> tuple[bytes, tuple[bytes, ...]]:
    """Given speech (PCM16 at ``rate``): its bytes in ``encoding`` and their base64 chunks.

    What ``speech_audio`` / ``speech_chunks`` give for the synthetic voice, for audio
    from elsewhere (the real voice of ``speech.SpeechStack``).
    """
    audio = encode(decode(pcm16, "pcm16"), encoding)
    step = bytes_per_ms(encoding, rate) * chunk_ms
    chunks = tuple(base64.b64encode(audio[i : i + step]) for i in range(0, len(audio), step))
    return audio, chunks


def rms_level(pcm16: bytes) -> float:
    """Root-mean-square level of PCM16 audio, as a fraction of full scale (0..1)."""
    if len(pcm16) < 2:
        return 0.0
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) / 32768.0


def tone_pcm16(
    duration_ms: int, frequency: float = 220.0, level: float = 0.3, rate: int = PCM_RATE
) -> bytes:
    """A plain sine at ``level`` of full scale: handy "speech" for VAD tests and demos."""
    n = rate * duration_ms // 1000
    t = np.arange(n, dtype=np.float64) / rate
    return to_pcm16(level * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def silence_pcm16(duration_ms: int, rate: int = PCM_RATE) -> bytes:
    """``duration_ms`` of digital silence as PCM16."""
    return bytes(rate * duration_ms // 1000 * 2)
