"""PCM helpers: sample format conversion, channel mixing, resampling, G.711.

Audio inside fullduplex is little-endian signed 16-bit PCM (``pcm16``) in
``bytes``, interleaved when there is more than one channel. These helpers
convert between that and what devices, files and providers want. This module
imports numpy and soxr, so it is imported on demand only (``import
fullduplex`` never loads it).

:class:`Resampler` wraps soxr's streaming resampler: the filter state carries
over from one chunk to the next, so chunk borders leave no clicks and the
chunked output matches a one-shot resampling of the whole signal. G.711 μ-law
and A-law are done with numpy lookup tables (``audioop`` left the standard
library in Python 3.13).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import soxr

Quality: TypeAlias = Literal["QQ", "LQ", "MQ", "HQ", "VHQ"]
_QUALITIES: tuple[str, ...] = ("QQ", "LQ", "MQ", "HQ", "VHQ")
_MIN_RATE = 1000
_MAX_RATE = 768_000
_MAX_CHANNELS = 64

Int16Array: TypeAlias = npt.NDArray[np.int16]
Float32Array: TypeAlias = npt.NDArray[np.float32]


# ------------------------------------------------------------------ validation


def _check_rate(field: str, rate: object) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int) or not _MIN_RATE <= rate <= _MAX_RATE:
        raise ValueError(
            f"{field}: expected a sample rate in Hz, an integer from {_MIN_RATE} to "
            f"{_MAX_RATE} (e.g. 8000, 16000, 24000, 48000), got {rate!r}"
        )
    return rate


def _check_channels(field: str, channels: object) -> int:
    if (
        isinstance(channels, bool)
        or not isinstance(channels, int)
        or not 1 <= channels <= _MAX_CHANNELS
    ):
        raise ValueError(
            f"{field}: expected a channel count from 1 to {_MAX_CHANNELS}, got {channels!r}"
        )
    return channels


def _pcm16_frames(data: bytes | bytearray | memoryview, channels: int, field: str) -> Int16Array:
    """View ``data`` as an int16 array shaped (frames, channels), without copying."""
    frame_bytes = 2 * channels
    if len(data) % frame_bytes:
        raise ValueError(
            f"{field}: pcm16 with {channels} channel(s) needs a multiple of {frame_bytes} "
            f"bytes (whole frames), got {len(data)} bytes"
        )
    samples: Int16Array = np.frombuffer(data, dtype="<i2")
    return samples.reshape(-1, channels)


# --------------------------------------------------------------- conversions


def pcm16_to_float32(data: bytes | bytearray | memoryview, channels: int = 1) -> Float32Array:
    """pcm16 bytes -> float32 samples in [-1, 1), shaped (frames,) or (frames, channels)."""
    _check_channels("channels", channels)
    frames = _pcm16_frames(data, channels, "data")
    out = frames.astype(np.float32) / np.float32(32768.0)
    return out.reshape(-1) if channels == 1 else out


def float32_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Float samples in [-1, 1] (any shape, interleaved by rows) -> pcm16 bytes, clipped."""
    array = np.asarray(samples, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("samples: expected finite floats in [-1, 1], got NaN or infinity")
    scaled = np.clip(np.rint(array * 32768.0), -32768, 32767).astype("<i2")
    return bytes(scaled.tobytes())


def to_channels(data: bytes | bytearray | memoryview, in_channels: int, out_channels: int) -> bytes:
    """Remix interleaved pcm16 from ``in_channels`` to ``out_channels``.

    Down to mono averages the channels; up from mono copies the one channel to
    all; any other change goes through mono.
    """
    _check_channels("in_channels", in_channels)
    _check_channels("out_channels", out_channels)
    frames = _pcm16_frames(data, in_channels, "data")
    if in_channels == out_channels:
        return bytes(data)
    if in_channels == 1:
        mono = frames[:, 0]
    else:
        mean = frames.astype(np.int32).sum(axis=1) / in_channels
        mono = np.clip(np.rint(mean), -32768, 32767).astype("<i2")
    if out_channels == 1:
        return mono.tobytes()
    return np.repeat(mono[:, None], out_channels, axis=1).tobytes()


def to_mono(data: bytes | bytearray | memoryview, channels: int) -> bytes:
    """Mix interleaved pcm16 with ``channels`` channels down to mono (the average)."""
    return to_channels(data, channels, 1)


def duration_ms(nbytes: int, sample_rate: int, channels: int = 1) -> float:
    """How long ``nbytes`` of pcm16 last at ``sample_rate`` with ``channels`` channels."""
    _check_rate("sample_rate", sample_rate)
    _check_channels("channels", channels)
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes: expected a byte count >= 0, got {nbytes!r}")
    return nbytes * 1000.0 / (2 * channels * sample_rate)


# ---------------------------------------------------------------- resampling


def _check_quality(quality: object) -> Quality:
    if quality not in _QUALITIES:
        raise ValueError(f"quality: expected one of {', '.join(_QUALITIES)}, got {quality!r}")
    return quality  # type: ignore[return-value]


# soxr runs in float32 here: its int16 mode adds random dither, which would make
# channels and repeated runs differ; rounding ourselves keeps output deterministic.


def _to_float(frames: Int16Array) -> Float32Array:
    return frames.astype(np.float32) * np.float32(1.0 / 32768.0)


def _to_pcm16_bytes(samples: Float32Array) -> bytes:
    scaled = np.clip(np.rint(samples * np.float32(32768.0)), -32768, 32767).astype("<i2")
    return bytes(scaled.tobytes())


class Resampler:
    """Streaming pcm16 resampler that keeps its filter state across chunks.

    Feed chunks to :meth:`process` as they arrive and call :meth:`flush` at the
    end of the stream to get the tail still held in the filter. With equal
    rates it passes audio through untouched.
    """

    def __init__(
        self, in_rate: int, out_rate: int, channels: int = 1, *, quality: Quality = "HQ"
    ) -> None:
        self.in_rate = _check_rate("in_rate", in_rate)
        self.out_rate = _check_rate("out_rate", out_rate)
        self.channels = _check_channels("channels", channels)
        self.quality = _check_quality(quality)
        self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream | None:
        if self.in_rate == self.out_rate:
            return None
        return soxr.ResampleStream(
            self.in_rate, self.out_rate, self.channels, dtype="float32", quality=self.quality
        )

    def process(self, data: bytes | bytearray | memoryview) -> bytes:
        """Resample one chunk of whole frames; may return less than one chunk's worth."""
        frames = _pcm16_frames(data, self.channels, "data")
        if self._stream is None:
            return bytes(data)
        out: Float32Array = self._stream.resample_chunk(_to_float(frames), last=False)
        return _to_pcm16_bytes(out)

    def flush(self) -> bytes:
        """End the stream: return the remaining output and reset for a new stream."""
        if self._stream is None:
            return b""
        empty = np.zeros((0, self.channels), dtype=np.float32)
        out: Float32Array = self._stream.resample_chunk(empty, last=True)
        # a fresh stream: the next one then repeats a first run exactly
        self._stream = self._new_stream()
        return _to_pcm16_bytes(out)


def resample(
    data: bytes | bytearray | memoryview,
    in_rate: int,
    out_rate: int,
    channels: int = 1,
    *,
    quality: Quality = "HQ",
) -> bytes:
    """Resample a whole pcm16 signal at once."""
    _check_rate("in_rate", in_rate)
    _check_rate("out_rate", out_rate)
    _check_channels("channels", channels)
    _check_quality(quality)
    frames = _pcm16_frames(data, channels, "data")
    if in_rate == out_rate or len(frames) == 0:
        return bytes(data)
    out: Float32Array = soxr.resample(_to_float(frames), in_rate, out_rate, quality=quality)
    return _to_pcm16_bytes(out)


# ---------------------------------------------------------------------- G.711
#
# Both codecs follow the segment tables of the ITU-T G.711 reference code: a
# sign bit, a 3-bit segment (exponent) and a 4-bit step within the segment.
# Decoding is a 256-entry table; encoding a 65536-entry table indexed by the
# sample's unsigned bit pattern, each built once on first use.

_ULAW_BIAS = 0x84
_ULAW_CLIP14 = 8159
_ULAW_BIAS14 = 0x21
_tables: dict[str, npt.NDArray[np.int16] | npt.NDArray[np.uint8]] = {}


def _all_int16() -> npt.NDArray[np.int32]:
    return np.arange(-32768, 32768, dtype=np.int32)


def _segment(magnitude: npt.NDArray[np.int32], first_edge: int) -> npt.NDArray[np.int32]:
    """Segment number 0-7 of each magnitude: segments double from ``first_edge``."""
    edges = np.array([first_edge << k for k in range(8)], dtype=np.int32)
    return np.searchsorted(edges, magnitude, side="right").astype(np.int32)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _all_int16() >> 2  # 14-bit, rounding towards minus infinity as the reference does
    negative = pcm < 0
    mask = np.where(negative, 0x7F, 0xFF).astype(np.int32)
    magnitude = np.minimum(np.where(negative, -pcm, pcm), _ULAW_CLIP14) + _ULAW_BIAS14
    segment = _segment(magnitude, 0x40)
    step = (magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F
    codes = np.where(segment >= 8, 0x7F, (segment << 4) | step) ^ mask
    return _by_bit_pattern(codes.astype(np.uint8))


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _all_int16() >> 3  # 13-bit
    positive = pcm >= 0
    mask = np.where(positive, 0xD5, 0x55).astype(np.int32)
    magnitude = np.where(positive, pcm, -pcm - 1)
    segment = _segment(magnitude, 0x20)
    step = np.where(segment < 2, magnitude >> 1, magnitude >> np.maximum(segment, 1)) & 0x0F
    codes = np.where(segment >= 8, 0x7F, (segment << 4) | step) ^ mask
    return _by_bit_pattern(codes.astype(np.uint8))


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    value = (code & 0x0F) << 4
    value = np.where(segment == 0, value + 8, value + 0x108)
    value = np.where(segment > 1, value << np.maximum(segment - 1, 0), value)
    return np.where(code & 0x80, value, -value).astype(np.int16)


def _by_bit_pattern(codes_for_minus32768_up: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Reorder a table indexed by value (-32768..32767) to index by uint16 bit pattern."""
    return np.roll(codes_for_minus32768_up, -32768)


def _table(name: str) -> npt.NDArray[np.int16] | npt.NDArray[np.uint8]:
    table = _tables.get(name)
    if table is None:
        builders: dict[str, Callable[[], npt.NDArray[np.int16] | npt.NDArray[np.uint8]]] = {
            "ulaw_encode": _ulaw_encode_table,
            "ulaw_decode": _ulaw_decode_table,
            "alaw_encode": _alaw_encode_table,
            "alaw_decode": _alaw_decode_table,
        }
        table = builders[name]()
        _tables[name] = table
    return table


def _encode(data: bytes | bytearray | memoryview, table_name: str) -> bytes:
    if len(data) % 2:
        raise ValueError(f"data: pcm16 needs an even number of bytes, got {len(data)}")
    patterns = np.frombuffer(data, dtype="<u2")
    return bytes(_table(table_name)[patterns].tobytes())


def _decode(data: bytes | bytearray | memoryview, table_name: str) -> bytes:
    codes = np.frombuffer(data, dtype=np.uint8)
    return bytes(_table(table_name)[codes].astype("<i2", copy=False).tobytes())


def pcm16_to_ulaw(data: bytes | bytearray | memoryview) -> bytes:
    """Encode pcm16 to G.711 μ-law, one byte per sample."""
    return _encode(data, "ulaw_encode")


def ulaw_to_pcm16(data: bytes | bytearray | memoryview) -> bytes:
    """Decode G.711 μ-law bytes to pcm16."""
    return _decode(data, "ulaw_decode")


def pcm16_to_alaw(data: bytes | bytearray | memoryview) -> bytes:
    """Encode pcm16 to G.711 A-law, one byte per sample."""
    return _encode(data, "alaw_encode")


def alaw_to_pcm16(data: bytes | bytearray | memoryview) -> bytes:
    """Decode G.711 A-law bytes to pcm16."""
    return _decode(data, "alaw_decode")


class PcmConverter:
    """Converts a stream of pcm16 chunks from one rate/channel count to another.

    Resampling runs at the smaller of the two channel counts (mix down first,
    duplicate after), so a stereo side costs no extra resampling work. The
    filter state runs across chunks; :meth:`flush` returns the tail it holds.
    """

    def __init__(self, in_rate: int, in_channels: int, out_rate: int, out_channels: int) -> None:
        self.in_rate = in_rate
        self.in_channels = in_channels
        self.out_rate = out_rate
        self.out_channels = out_channels
        self._work_channels = min(in_channels, out_channels)
        self._resampler: Resampler | None = self._new_resampler()

    #: a converter is also a plain function of a chunk
    def __call__(self, data: bytes) -> bytes:
        return self.process(data)

    def _new_resampler(self) -> Resampler | None:
        if self.in_rate == self.out_rate:
            return None
        return Resampler(self.in_rate, self.out_rate, self._work_channels)

    @property
    def identity(self) -> bool:
        return self._resampler is None and self.in_channels == self.out_channels

    def process(self, data: bytes) -> bytes:
        """Convert one chunk of whole frames; the result may be short while the filter fills."""
        if self.identity:
            return data
        if self.in_channels != self._work_channels:
            data = to_channels(data, self.in_channels, self._work_channels)
        if self._resampler is not None:
            data = self._resampler.process(data)
        if self.out_channels != self._work_channels and data:
            data = to_channels(data, self._work_channels, self.out_channels)
        return data

    def flush(self) -> bytes:
        """The audio still held in the resampler's filter (the stream then starts afresh)."""
        if self._resampler is None:
            return b""
        data = self._resampler.flush()
        if self.out_channels != self._work_channels and data:
            data = to_channels(data, self._work_channels, self.out_channels)
        return data

    def reset(self) -> None:
        """Forget the filter state (after an interruption: no stale tail)."""
        self._resampler = self._new_resampler()


__all__ = [
    "PcmConverter",
    "Quality",
    "Resampler",
    "alaw_to_pcm16",
    "duration_ms",
    "float32_to_pcm16",
    "pcm16_to_alaw",
    "pcm16_to_float32",
    "pcm16_to_ulaw",
    "resample",
    "to_channels",
    "to_mono",
    "ulaw_to_pcm16",
]
