"""Test signals and the measurements the real-sound tests make on recordings."""

from __future__ import annotations

import numpy as np

from fullduplex.audio import resample


def noise_burst(ms: int, rate: int = 24000, seed: int = 7, level: float = 0.3) -> bytes:
    """Band-limited noise: distinctive under cross-correlation, survives resampling."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(int(rate * ms / 1000))
    # a gentle low-pass keeps the energy well below every Nyquist in play
    kernel = np.hanning(9)
    shaped = np.convolve(white, kernel / kernel.sum(), mode="same")
    shaped *= level * 32767 / (np.max(np.abs(shaped)) + 1e-9)
    return shaped.astype("<i2").tobytes()


def tone(ms: int, rate: int = 24000, freq: float = 440.0, amplitude: int = 12000) -> bytes:
    t = np.arange(int(rate * ms / 1000)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def as_array(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def best_match(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, int]:
    """The normalised cross-correlation peak of ``needle`` inside ``haystack`` and its offset."""
    n = len(needle)
    if len(haystack) < n:
        return 0.0, 0
    size = 1 << int(np.ceil(np.log2(len(haystack) + n)))
    corr = np.fft.irfft(np.fft.rfft(haystack, size) * np.conj(np.fft.rfft(needle, size)), size)
    corr = corr[: len(haystack) - n + 1]
    energy = np.convolve(haystack**2, np.ones(n), mode="valid")
    norm = np.sqrt(np.maximum(energy, 1e-9) * float(np.sum(needle**2)))
    score = corr / norm
    offset = int(np.argmax(score))
    return float(score[offset]), offset


def tone_span_ms(samples: np.ndarray, rate: int, threshold: int = 3000) -> float:
    """Milliseconds from the first to the last sample louder than ``threshold`` (0 if none)."""
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > threshold)[0]
    if len(loud) == 0:
        return 0.0
    return float(loud[-1] - loud[0] + 1) * 1000.0 / rate


def to_rate(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    pcm = samples.astype("<i2").tobytes()
    return as_array(resample(pcm, in_rate, out_rate, 1))
