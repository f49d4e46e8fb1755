"""PCM helpers: conversion, mixing, resampling (soxr), G.711."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fullduplex import audio


def _sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return audio.float32_to_pcm16(amplitude * np.sin(2 * np.pi * freq * t))


def _peak_hz(pcm: bytes, rate: int) -> float:
    samples = audio.pcm16_to_float32(pcm)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def _int16(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int32)


# ----------------------------------------------------------------- conversions


def test_pcm16_float32_round_trip_and_scale() -> None:
    pcm = np.array([-32768, -16384, 0, 16384, 32767], dtype="<i2").tobytes()

    floats = audio.pcm16_to_float32(pcm)

    assert floats.dtype == np.float32
    assert floats.tolist() == [-1.0, -0.5, 0.0, 0.5, 32767 / 32768]
    assert audio.float32_to_pcm16(floats) == pcm


def test_float32_to_pcm16_clips_out_of_range() -> None:
    assert _int16(audio.float32_to_pcm16([2.0, -3.0])).tolist() == [32767, -32768]


def test_float32_to_pcm16_refuses_nan() -> None:
    with pytest.raises(ValueError, match="samples"):
        audio.float32_to_pcm16([0.0, float("nan")])


def test_pcm16_to_float32_with_channels_has_frame_rows() -> None:
    stereo = np.array([1, 2, 3, 4, 5, 6], dtype="<i2").tobytes()

    assert audio.pcm16_to_float32(stereo, channels=2).shape == (3, 2)


# --------------------------------------------------------------------- mixing


def test_stereo_to_mono_averages_the_channels() -> None:
    stereo = np.array([[1000, 3000], [-2000, 2000], [32767, 32767]], dtype="<i2").tobytes()

    mono = audio.to_mono(stereo, channels=2)

    assert _int16(mono).tolist() == [2000, 0, 32767]


def test_mono_to_stereo_duplicates_and_back_is_identity() -> None:
    mono = np.array([5, -7, 100], dtype="<i2").tobytes()

    stereo = audio.to_channels(mono, 1, 2)

    assert _int16(stereo).tolist() == [5, 5, -7, -7, 100, 100]
    assert audio.to_mono(stereo, 2) == mono
    assert audio.to_channels(mono, 1, 1) == mono


def test_mixing_refuses_partial_frames_and_bad_channel_counts() -> None:
    with pytest.raises(ValueError, match=r"data: .*multiple of 4 bytes.*got 6"):
        audio.to_mono(b"\x00" * 6, channels=2)
    with pytest.raises(ValueError, match="out_channels"):
        audio.to_channels(b"\x00\x00", 1, 0)
    with pytest.raises(ValueError, match="channels"):
        audio.pcm16_to_float32(b"\x00\x00", channels=True)


def test_duration_ms() -> None:
    assert audio.duration_ms(48000, 24000) == 1000.0
    assert audio.duration_ms(3200, 16000, channels=2) == 50.0
    with pytest.raises(ValueError, match="nbytes"):
        audio.duration_ms(-2, 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        audio.duration_ms(2, 0)


# ----------------------------------------------------------------- resampling


def test_resampling_16k_to_24k_keeps_the_frequency() -> None:
    pcm = _sine(440.0, 16000, 1.0)

    out = audio.resample(pcm, 16000, 24000)

    assert abs(len(out) // 2 - 24000) <= 2
    assert abs(_peak_hz(out, 24000) - 440.0) <= 2.0


def test_streaming_resampler_keeps_the_frequency_across_odd_chunk_sizes() -> None:
    pcm = _sine(1000.0, 16000, 1.0)
    resampler = audio.Resampler(16000, 24000)
    pieces = []
    offset = 0
    for size in [320, 2, 1000, 642, 4000] * 20:
        chunk = pcm[offset : offset + size]
        offset += size
        pieces.append(resampler.process(chunk))
    pieces.append(resampler.process(pcm[offset:]))
    pieces.append(resampler.flush())
    out = b"".join(pieces)

    assert abs(len(out) // 2 - 24000) <= 2
    assert abs(_peak_hz(out, 24000) - 1000.0) <= 2.0


def test_chunked_streaming_equals_one_shot() -> None:
    pcm = _sine(440.0, 16000, 0.5) + _sine(3000.0, 16000, 0.5, amplitude=0.3)
    resampler = audio.Resampler(16000, 24000)
    chunk = 640  # 20 ms
    streamed = (
        b"".join(resampler.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk))
        + resampler.flush()
    )

    one_shot = audio.resample(pcm, 16000, 24000)

    a, b = _int16(streamed), _int16(one_shot)
    assert abs(len(a) - len(b)) <= 2
    n = min(len(a), len(b))
    # no clicks at chunk borders: sample by sample within a few LSB of one-shot
    assert np.max(np.abs(a[:n] - b[:n])) <= 4


def test_resampler_stereo_and_reuse_after_flush() -> None:
    mono = _sine(500.0, 48000, 0.2)
    stereo = audio.to_channels(mono, 1, 2)
    resampler = audio.Resampler(48000, 16000, channels=2)

    first = resampler.process(stereo) + resampler.flush()
    second = resampler.process(stereo) + resampler.flush()

    assert first == second
    left_right = _int16(first).reshape(-1, 2)
    assert np.array_equal(left_right[:, 0], left_right[:, 1])
    assert abs(len(left_right) - 3200) <= 2


def test_equal_rates_pass_through() -> None:
    pcm = _sine(300.0, 24000, 0.1)
    resampler = audio.Resampler(24000, 24000)

    assert resampler.process(pcm) == pcm
    assert resampler.flush() == b""
    assert audio.resample(pcm, 24000, 24000) == pcm


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"in_rate": 0, "out_rate": 24000}, "in_rate"),
        ({"in_rate": 16000, "out_rate": 44100.0}, "out_rate"),
        ({"in_rate": 16000, "out_rate": 10_000_000}, "out_rate"),
        ({"in_rate": 16000, "out_rate": 24000, "channels": 0}, "channels"),
        ({"in_rate": 16000, "out_rate": 24000, "quality": "best"}, "quality"),
    ],
)
def test_resampler_names_the_bad_argument(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: expected") as info:
        audio.Resampler(**kwargs)  # type: ignore[arg-type]
    if field != "quality":
        assert "got" in str(info.value)


def test_resampler_refuses_odd_byte_counts() -> None:
    resampler = audio.Resampler(16000, 24000)
    with pytest.raises(ValueError, match=r"data: .*multiple of 2 bytes.*got 3"):
        resampler.process(b"\x00\x00\x00")
    with pytest.raises(ValueError, match="data"):
        audio.resample(b"\x00", 16000, 24000)


# ---------------------------------------------------------------------- G.711


def _speechlike(seconds: float = 0.5, rate: int = 8000) -> bytes:
    rng = np.random.default_rng(7)
    t = np.arange(int(rate * seconds)) / rate
    signal = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))
    return audio.float32_to_pcm16(signal)


@pytest.mark.parametrize(
    ("encode", "decode"),
    [
        (audio.pcm16_to_ulaw, audio.ulaw_to_pcm16),
        (audio.pcm16_to_alaw, audio.alaw_to_pcm16),
    ],
)
def test_g711_round_trip_error_is_small(encode: object, decode: object) -> None:
    pcm = _speechlike()

    coded = encode(pcm)  # type: ignore[operator]
    back = decode(coded)  # type: ignore[operator]

    assert len(coded) == len(pcm) // 2
    original, restored = _int16(pcm), _int16(back)
    # companding keeps the error relative to the level: about 1/16 of the value at most
    assert np.all(np.abs(original - restored) <= np.maximum(np.abs(original) // 16, 16) + 8)
    snr = 10 * np.log10(np.sum(original**2.0) / np.sum((original - restored) ** 2.0))
    assert snr > 30


def test_g711_is_idempotent_after_one_round_trip() -> None:
    pcm = _speechlike()
    for encode, decode in (
        (audio.pcm16_to_ulaw, audio.ulaw_to_pcm16),
        (audio.pcm16_to_alaw, audio.alaw_to_pcm16),
    ):
        codes = encode(pcm)
        assert encode(decode(codes)) == codes


def test_g711_known_values() -> None:
    silence = b"\x00\x00"
    assert audio.pcm16_to_ulaw(silence) == b"\xff"
    assert audio.pcm16_to_alaw(silence) == b"\xd5"
    assert _int16(audio.ulaw_to_pcm16(b"\x00")).tolist() == [-32124]
    assert _int16(audio.alaw_to_pcm16(b"\xaa")).tolist() == [32256]


def test_g711_encode_refuses_odd_byte_counts() -> None:
    with pytest.raises(ValueError, match="data: pcm16 needs an even number of bytes"):
        audio.pcm16_to_ulaw(b"\x00\x00\x00")


def test_g711_matches_audioop_bit_for_bit() -> None:
    """audioop is the reference; from 3.13 on it comes from the audioop-lts package."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    every_code = bytes(range(256))
    assert audio.pcm16_to_ulaw(every_sample) == audioop.lin2ulaw(every_sample, 2)
    assert audio.pcm16_to_alaw(every_sample) == audioop.lin2alaw(every_sample, 2)
    assert audio.ulaw_to_pcm16(every_code) == audioop.ulaw2lin(every_code, 2)
    assert audio.alaw_to_pcm16(every_code) == audioop.alaw2lin(every_code, 2)


@given(st.binary(max_size=512).map(lambda b: b[: len(b) // 2 * 2]))
def test_ulaw_decode_encode_never_fails_on_any_pcm(pcm: bytes) -> None:
    codes = audio.pcm16_to_ulaw(pcm)
    assert len(audio.ulaw_to_pcm16(codes)) == len(pcm)
