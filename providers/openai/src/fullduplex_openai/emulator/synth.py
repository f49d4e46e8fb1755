"""Speech-like audio for the emulator's answers.

Silence would hide bugs in playback, resampling and truncation, and a pure tone
is tiring to listen to, so the emulator "speaks" a buzzy vowel-like signal: a
voiced source whose pitch drifts like intonation, shaped by formant resonances
that change every syllable, with a syllable envelope and short gaps. Its length
follows the transcript (about 15 characters per second, the pace of speech), so
transcript and audio stay in proportion for truncation.

Everything is deterministic (derived from the text) and cached, and the base64
chunks used on the wire are computed once per text: streaming a response is
then only string concatenation.
"""

from __future__ import annotations

import base64
import re
import zlib
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

#: milliseconds of speech per transcript character (≈15 characters per second)
MS_PER_CHARACTER: Final = 66
MIN_SPEECH_MS: Final = 400
PCM_RATE: Final = 24_000
G711_RATE: Final = 8_000

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


def speech_duration_ms(text: str) -> int:
    """How long the emulator takes to say ``text`` (a long text: the sum of its sentences)."""
    if len(text) > _LONG_TEXT_CHARS:
        sentences = [part for part in _SENTENCE_END.split(text) if part]
        if len(sentences) > 1:
            return sum(max(MIN_SPEECH_MS, len(s) * MS_PER_CHARACTER) for s in sentences)
    return max(MIN_SPEECH_MS, len(text) * MS_PER_CHARACTER)


def bytes_per_ms(format_type: str) -> int:
    """Bytes per millisecond of audio for a GA format type (``audio/pcm`` is 24 kHz PCM16)."""
    return 48 if format_type == "audio/pcm" else 8


def _speech_samples(text: str, rate: int) -> npt.NDArray[np.float64]:
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


def _to_pcm16(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def _ulaw(pcm: npt.NDArray[np.int16]) -> bytes:
    s = pcm.astype(np.int32)
    sign = np.where(s < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(s), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return encoded


def _alaw(pcm: npt.NDArray[np.int16]) -> bytes:
    s = pcm.astype(np.int32)
    sign = np.where(s >= 0, 0x80, 0)
    ix = np.minimum(np.abs(s), 32767) >> 3
    segment = np.where(ix < 32, 0, np.floor(np.log2(np.maximum(ix, 1))).astype(np.int32) - 4)
    mantissa = np.where(ix < 32, ix >> 1, (ix >> np.maximum(segment, 0)) & 0x0F)
    return (((segment << 4) | mantissa | sign) ^ 0x55).astype(np.uint8).tobytes()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: texts longer than this are voiced sentence by sentence (each sentence cached)
_LONG_TEXT_CHARS: Final = 400


@lru_cache(maxsize=256)
def speech_audio(text: str, format_type: str = "audio/pcm") -> bytes:
    """The audio for ``text`` in a GA output format (audio/pcm, audio/pcmu or audio/pcma).

    Long texts are voiced per sentence, so repeated sentences cost nothing extra and a
    long answer's audio never needs one huge synthesis.
    """
    if len(text) > _LONG_TEXT_CHARS:
        sentences = [part for part in _SENTENCE_END.split(text) if part]
        if len(sentences) > 1:
            return b"".join(_voiced(sentence, format_type) for sentence in sentences)
    return _voiced(text, format_type)


@lru_cache(maxsize=1024)
def _voiced(text: str, format_type: str) -> bytes:
    if format_type == "audio/pcm":
        return _to_pcm16(_speech_samples(text, PCM_RATE)).astype("<i2").tobytes()
    pcm = _to_pcm16(_speech_samples(text, G711_RATE))
    return _ulaw(pcm) if format_type == "audio/pcmu" else _alaw(pcm)


@lru_cache(maxsize=256)
def speech_chunks(text: str, format_type: str, chunk_ms: int) -> tuple[bytes, ...]:
    """``speech_audio`` in ``chunk_ms`` pieces, each already base64-encoded (ASCII bytes)."""
    audio = speech_audio(text, format_type)
    step = bytes_per_ms(format_type) * chunk_ms
    return tuple(base64.b64encode(audio[i : i + step]) for i in range(0, len(audio), step))


def rms_level(pcm16: bytes) -> float:
    """Root-mean-square level of PCM16 audio, as a fraction of full scale (0..1)."""
    if len(pcm16) < 2:
        return 0.0
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) / 32768.0


def tone_pcm16(duration_ms: int, frequency: float = 220.0, level: float = 0.3) -> bytes:
    """A plain sine at ``level`` of full scale: handy "speech" for VAD tests and demos."""
    n = PCM_RATE * duration_ms // 1000
    t = np.arange(n, dtype=np.float64) / PCM_RATE
    return _to_pcm16(level * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def silence_pcm16(duration_ms: int) -> bytes:
    """``duration_ms`` of digital silence as 24 kHz PCM16."""
    return bytes(PCM_RATE * duration_ms // 1000 * 2)


def _ulaw_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> npt.NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    segment = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        segment == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


_G711_TABLES: Final = {"audio/pcmu": _ulaw_table(), "audio/pcma": _alaw_table()}


def decode_g711(data: bytes, format_type: str) -> npt.NDArray[np.int16]:
    """Decode μ-law (``audio/pcmu``) or A-law (``audio/pcma``) bytes to 16-bit samples."""
    return _G711_TABLES[format_type][np.frombuffer(data, dtype=np.uint8)]
