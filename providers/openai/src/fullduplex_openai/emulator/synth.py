"""The GA audio formats, mapped onto the kit's speech synthesis and codecs.

``audio/pcm`` is 24 kHz little-endian PCM16, ``audio/pcmu`` and ``audio/pcma``
are 8 kHz G.711 (mu-law, A-law). Everything else about the emulator's voice
(its sound, its pace, its caches) is the kit's (``fullduplex_emulator.synth``).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from fullduplex_emulator import synth as _kit
from fullduplex_emulator.speech import SpeechStack
from fullduplex_emulator.synth import (
    PCM_RATE,
    Encoding,
    rms_level,
    silence_pcm16,
    speech_duration_ms,
    tone_pcm16,
)

G711_RATE: Final = 8_000
#: GA format type -> (encoding, sample rate)
FORMATS: Final[dict[str, tuple[Encoding, int]]] = {
    "audio/pcm": ("pcm16", PCM_RATE),
    "audio/pcmu": ("ulaw", G711_RATE),
    "audio/pcma": ("alaw", G711_RATE),
}


def bytes_per_ms(format_type: str) -> int:
    """Bytes per millisecond of audio for a GA format type (``audio/pcm`` is 48)."""
    encoding, rate = FORMATS[format_type]
    return _kit.bytes_per_ms(encoding, rate)


def speech_audio(text: str, format_type: str = "audio/pcm") -> bytes:
    """The emulator's voice saying ``text``, in a GA output format."""
    return _kit.speech_audio(text, *FORMATS[format_type])


def speech_chunks(text: str, format_type: str, chunk_ms: int) -> tuple[bytes, ...]:
    """``speech_audio`` in ``chunk_ms`` pieces, each already base64-encoded (ASCII bytes)."""
    encoding, rate = FORMATS[format_type]
    return _kit.speech_chunks(text, encoding, rate, chunk_ms)


def voiced(
    text: str,
    format_type: str,
    chunk_ms: int,
    speech: SpeechStack | None,
    voice: str | None = None,
    speed: float = 1.0,
) -> tuple[bytes, tuple[bytes, ...]]:
    """``text`` said in a GA format: its audio and base64 chunks.

    With a speech stack it is the real voice (``voice`` at ``speed``); without, the
    kit's synthetic one.
    """
    encoding, rate = FORMATS[format_type]
    if speech is None:
        return _kit.speech_audio(text, encoding, rate), speech_chunks(text, format_type, chunk_ms)
    return _kit.encoded_chunks(speech.speak(text, rate, voice, speed), encoding, rate, chunk_ms)


def samples_of(audio: bytes, format_type: str) -> tuple[npt.NDArray[np.int16], int]:
    """Input audio in a GA format as 16-bit samples and their rate (for the VAD)."""
    encoding, rate = FORMATS[format_type]
    return _kit.decode(audio, encoding), rate


__all__ = [
    "FORMATS",
    "G711_RATE",
    "PCM_RATE",
    "bytes_per_ms",
    "rms_level",
    "samples_of",
    "silence_pcm16",
    "speech_audio",
    "speech_chunks",
    "speech_duration_ms",
    "tone_pcm16",
]
