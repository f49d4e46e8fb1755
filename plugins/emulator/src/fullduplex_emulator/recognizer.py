"""pocketsphinx: the emulator's ears (the ``[speech]`` extra).

The wheel carries the US English acoustic model, dictionary and general
language model, so nothing is fetched at run time. Recognition is two-pass:

1. against a JSGF grammar of what the responder understands (``grammar``):
   eSpeak's voice, which the general model mishears badly, is heard there;
2. only when the grammar finds nothing, against the general language model,
   so the responder can say what it heard ("I heard ...") without understanding.

Audio is trimmed to its loud part first: without filler words (which swallow
the last word of eSpeak's sentences) the grammar decoder must not be handed
long silences. A ``Decoder`` is not thread-safe and costs a few tenths of a
second to build, so each worker thread keeps its own pair, built on first use.
Calls block: run them in a worker thread (``speech.SpeechStack`` does).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from fullduplex.audio import resample

#: the acoustic model's sample rate
RATE: Final = 16_000
_FRAME: Final = RATE // 100  # 10 ms
#: frames within this many dB of the loudest frame (and above the floor) are speech
_TRIM_DB: Final = 35.0
_FLOOR: Final = 80.0  # RMS in PCM16 units (about -52 dBFS)
_MARGIN_FRAMES: Final = 0


@dataclass(frozen=True, slots=True)
class Heard:
    """What a turn said: ``text``, and whether the responder's grammar ``understood`` it."""

    text: str
    understood: bool


def trim(pcm16: bytes) -> bytes:
    """The loud part of 16 kHz PCM16 audio, with a few frames of margin (empty if silent)."""
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float64)
    n_frames = len(samples) // _FRAME
    if n_frames == 0:
        return b""
    frames = samples[: n_frames * _FRAME].reshape(n_frames, _FRAME)
    levels = np.sqrt(np.mean(frames * frames, axis=1))
    threshold = max(_FLOOR, float(levels.max()) * 10 ** (-_TRIM_DB / 20))
    loud = np.nonzero(levels > threshold)[0]
    if len(loud) == 0:
        return b""
    first = max(0, int(loud[0]) - _MARGIN_FRAMES)
    last = min(n_frames, int(loud[-1]) + 1 + _MARGIN_FRAMES)
    return pcm16[first * _FRAME * 2 : last * _FRAME * 2]


class Recognizer:
    """Speech to text against ``grammar`` (JSGF), falling back to the general model."""

    def __init__(self, grammar: str, *, fallback: bool = True) -> None:
        self.grammar = grammar
        self.fallback = fallback
        self._local = threading.local()

    def _decoder(self, kind: str) -> Any:
        decoder = getattr(self._local, kind, None)
        if decoder is None:
            from pocketsphinx import Decoder  # type: ignore[import-untyped,import-not-found,unused-ignore]

            if kind == "grammar":
                decoder = Decoder(lm=None, fsgusefiller=False, loglevel="FATAL")
                decoder.add_jsgf_string("responder", self.grammar)
                decoder.activate_search("responder")
            else:
                decoder = Decoder(loglevel="FATAL")
            setattr(self._local, kind, decoder)
        return decoder

    def warm_up(self) -> None:
        """Build this thread's decoders now rather than on the first turn."""
        self._decoder("grammar")
        if self.fallback:
            self._decoder("general")

    def _decode(self, kind: str, audio: bytes) -> str:
        decoder = self._decoder(kind)
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        text = str(hypothesis.hypstr).strip() if hypothesis is not None else ""
        # the dictionary spells the farewell both ways; one spelling for the responder
        return text.replace("good bye", "goodbye")

    def recognize(self, pcm16: bytes, rate: int) -> Heard | None:
        """What mono PCM16 audio at ``rate`` Hz says, or ``None`` when nothing was heard."""
        audio = resample(pcm16, rate, RATE) if rate != RATE else pcm16
        audio = trim(audio)
        if len(audio) < RATE // 10 * 2:  # under 100 ms of sound
            return None
        text = self._decode("grammar", audio)
        if text:
            return Heard(text, True)
        if not self.fallback:
            return None
        text = self._decode("general", audio)
        return Heard(text, False) if text else None
