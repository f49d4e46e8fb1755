"""G.711 mu-law and A-law, the telephony codecs some realtime services accept.

Vectorised with numpy so a whole answer encodes at once; decoding is a table
lookup. The tables follow the ITU reference (the tests compare with ``audioop``).
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

Law: TypeAlias = Literal["ulaw", "alaw"]


def encode_ulaw(pcm: npt.NDArray[np.int16]) -> bytes:
    """16-bit samples to mu-law bytes."""
    s = pcm.astype(np.int32)
    sign = np.where(s < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(s), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return encoded


def encode_alaw(pcm: npt.NDArray[np.int16]) -> bytes:
    """16-bit samples to A-law bytes."""
    s = pcm.astype(np.int32)
    sign = np.where(s >= 0, 0x80, 0)
    ix = np.minimum(np.abs(s), 32767) >> 3
    segment = np.where(ix < 32, 0, np.floor(np.log2(np.maximum(ix, 1))).astype(np.int32) - 4)
    mantissa = np.where(ix < 32, ix >> 1, (ix >> np.maximum(segment, 0)) & 0x0F)
    return (((segment << 4) | mantissa | sign) ^ 0x55).astype(np.uint8).tobytes()


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


_TABLES: Final[dict[Law, npt.NDArray[np.int16]]] = {"ulaw": _ulaw_table(), "alaw": _alaw_table()}


def decode(data: bytes, law: Law) -> npt.NDArray[np.int16]:
    """mu-law (``"ulaw"``) or A-law (``"alaw"``) bytes to 16-bit samples."""
    return _TABLES[law][np.frombuffer(data, dtype=np.uint8)]
