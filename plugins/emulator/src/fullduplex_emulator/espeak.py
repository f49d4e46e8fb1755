"""eSpeak NG through ctypes: the emulator's real voice (the ``[speech]`` extra).

``espeakng-loader`` ships ``libespeak-ng`` and its ``espeak-ng-data`` inside its
wheel, so nothing is fetched at run time and no system package is needed. The
library keeps global state (one voice, one callback per process), so every call
goes through one lock; synthesis is far faster than real time (about a
millisecond per second of speech here), so one lock serves many sessions.

``EspeakVoice.stream`` yields PCM16 chunks as eSpeak produces them (it calls
back every ``buffer_ms`` of audio); ``synthesize`` joins them. Audio is mono
PCM16 at ``rate`` (22050 Hz for eSpeak NG's voices).
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterator
from typing import Any, Final

#: espeak_AUDIO_OUTPUT: synthesize into the callback, return when done
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_ESPEAK_RATE: Final = 1  # espeak_PARAMETER
_ESPEAK_CHARS_UTF8: Final = 1
_POS_CHARACTER: Final = 1
_EE_OK: Final = 0
#: words per minute at speed 1.0: a calm pace that pocketsphinx also follows best
BASE_WPM: Final = 160
MIN_WPM: Final = 80
MAX_WPM: Final = 450

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """eSpeak NG could not be loaded or refused a call."""


class EspeakVoice:
    """The process's eSpeak NG engine (use ``EspeakVoice.shared()``): text in, PCM16 out."""

    _shared: EspeakVoice | None = None
    _shared_lock = threading.Lock()

    def __init__(self, buffer_ms: int = 60) -> None:
        import espeakng_loader  # type: ignore[import-untyped,import-not-found,unused-ignore]

        self._lib: Any = ctypes.CDLL(espeakng_loader.get_library_path())
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, buffer_ms, data, 0)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed ({rate})")
        self.rate: int = rate
        self._lock = threading.Lock()
        self._sink: list[bytes] = []
        # kept referenced: eSpeak holds the C pointer for the library's lifetime
        self._callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None

    @classmethod
    def shared(cls) -> EspeakVoice:
        """The one engine of this process (eSpeak's state is global), created on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._sink.append(ctypes.string_at(wav, count * 2))
        return 0

    def _select(self, variant: str, wpm: int) -> None:
        if variant != self._voice:
            if self._lib.espeak_SetVoiceByName(variant.encode()) != _EE_OK:
                raise EspeakError(f"eSpeak NG has no voice {variant!r}")
            self._voice = variant
        self._lib.espeak_SetParameter(_ESPEAK_RATE, max(MIN_WPM, min(MAX_WPM, wpm)), 0)

    def stream(self, text: str, variant: str = "en-us", speed: float = 1.0) -> Iterator[bytes]:
        """PCM16 chunks of ``text`` spoken by ``variant`` at ``speed`` (1.0 = ``BASE_WPM``).

        The text is voiced sentence by sentence, so the first chunk is ready after the
        first sentence, whatever the length of the rest.
        """
        for sentence in _sentences(text):
            yield from self._synth(sentence, variant, speed)

    def synthesize(self, text: str, variant: str = "en-us", speed: float = 1.0) -> bytes:
        """All of ``text`` as PCM16 at ``rate``."""
        return b"".join(self.stream(text, variant, speed))

    def _synth(self, sentence: str, variant: str, speed: float) -> list[bytes]:
        encoded = sentence.encode("utf-8") + b"\0"
        with self._lock:
            self._select(variant, round(BASE_WPM * speed))
            self._sink = []
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            chunks, self._sink = self._sink, []
        if status != _EE_OK:
            raise EspeakError(f"espeak_Synth failed ({status}) for {sentence[:40]!r}")
        return chunks


def _sentences(text: str) -> list[str]:

    parts = [part.strip() for part in re.split(r"(?<=[.!?])\s+", text) if part.strip()]
    return parts or [text]
