"""What one Realtime session knows: the state every handler module reads and writes.

``RealtimeSession`` (``session.py``) is this state plus the public API and the
dispatch table; the handlers (``input_audio``, ``items``, ``responses``,
``streaming``) are plain functions of a ``SessionState``, so none of them
imports the session and no module imports another in a circle.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any, Final

import orjson

from fullduplex_emulator.audio_buffer import InputAudioBuffer
from fullduplex_emulator.caps import SessionCap
from fullduplex_emulator.clock import Clock, IdleTimer
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import Reply, Responder
from fullduplex_emulator.scripted import ScriptedResponder
from fullduplex_emulator.speech import SpeechStack
from fullduplex_emulator.vad import EnergyVad, VoiceActivityDetector

from .conversation import Conversation
from .errors import RealtimeProtocolError
from .ids import EventIds, new_id
from .validation import DEFAULT_MODEL, default_session, merge_session_update

Json = dict[str, Any]

#: output audio tokens per second of speech, and input audio tokens per second
OUTPUT_AUDIO_TOKENS_PER_S: Final = 20
INPUT_AUDIO_TOKENS_PER_S: Final = 10
#: turn_detection.semantic_vad eagerness -> the silence that ends a turn
_EAGERNESS_SILENCE_MS: Final = {"low": 1000, "medium": 600, "auto": 600, "high": 300}


def split_words(text: str) -> list[str]:
    """Transcript deltas: one word each, with the space that follows it."""
    words: list[str] = []
    start = 0
    for i, char in enumerate(text):
        if char == " ":
            words.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        words.append(text[start:])
    return words


def vad_for(turn_detection: Json, speech: SpeechStack | None = None) -> VoiceActivityDetector:
    """The kit's VAD for an effective ``turn_detection`` object (server or semantic VAD).

    Silero's when the session has a speech stack, else the energy VAD.
    """
    make = speech.vad if speech is not None else EnergyVad
    if turn_detection["type"] == "semantic_vad":
        silence = _EAGERNESS_SILENCE_MS[turn_detection.get("eagerness", "auto")]
        return make(0.5, 300, silence)
    return make(
        float(turn_detection["threshold"]),
        int(turn_detection["prefix_padding_ms"]),
        int(turn_detection["silence_duration_ms"]),
    )


class ResponseRun:
    """A response in progress: its settings, its output items so far, and how far it got."""

    def __init__(self, response_id: str, settings: Json, reply: Reply) -> None:
        self.id = response_id
        self.settings = settings
        self.reply = reply
        self.in_conversation = settings["conversation"] == "auto"
        self.output: list[Json] = []
        self.output_tokens = 0.0
        self.output_text_tokens = 0
        self.output_audio_ms = 0
        self.input_tokens = 0
        self.input_audio_tokens = 0
        self.started = False
        self.trailing: list[Frame] = []  # sent after response.done (input transcription)
        # the item being streamed and what of it was sent (for closing it early)
        self.current: Json | None = None
        self.part_open = False
        self.sent_text = ""
        self.stream: Generator[Frame, None, None] | None = None

    @property
    def over_budget(self) -> bool:
        """Whether the response used up its ``max_output_tokens``."""
        limit = self.settings["max_output_tokens"]
        return bool(limit != "inf" and self.output_tokens >= limit)


class SessionState:
    """The protocol state of one connection (see ``session.RealtimeSession``)."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        responder: Responder | None = None,
        initial_config: Json | None = None,
        audio_chunk_ms: int = 50,
        session_cap_s: float = 3600.0,
        clock: Clock = time.time,
        speech: SpeechStack | None = None,
    ) -> None:
        if audio_chunk_ms < 1:
            raise ValueError(f"audio_chunk_ms must be >= 1, got {audio_chunk_ms}")
        #: the real ears, voice and VAD (the kit's ``[speech]`` extra), if on
        self.speech = speech
        self.responder = responder if responder is not None else ScriptedResponder(speech=speech)
        self.audio_chunk_ms = audio_chunk_ms
        self.fail_responses = False
        self.ids = EventIds()
        self.conversation_id = new_id("conv")
        expires_at = SessionCap(session_cap_s).expires_at(clock)
        self.config = default_session(model, new_id("sess"), expires_at)
        if initial_config:
            overrides = {k: v for k, v in initial_config.items() if k != "model"}
            self.config = merge_session_update(
                self.config, {"type": "realtime", **overrides}, voice_locked=False
            )
        self.conversation = Conversation()
        self.voice_locked = False
        self.runs: list[ResponseRun] = []
        self.finished_runs: dict[str, str] = {}
        self.transcripts: dict[str, str] = {}
        self.audio_ms: dict[str, int] = {}
        self.item_bytes_per_ms: dict[str, int] = {}
        #: assistant audio items a client truncated: their transcript is gone for good
        self.truncated_items: set[str] = set()
        #: input audio since the last commit/clear, positioned on the session's input timeline
        self.buffer = InputAudioBuffer()
        self.speech_item_id: str | None = None
        self.speech_start_ms = 0
        self.vad: VoiceActivityDetector | None = None
        self.pending_transcription: list[Frame] = []
        self.clock = clock
        #: server VAD's idle timeout counts from the end of the last answer's playback
        self.idle = IdleTimer(clock)
        self.configure_vad()

    # ------------------------------------------------------------------ encoding

    def frame(self, type_: str, **fields: Any) -> Frame:
        """A server event of ``type_`` with a fresh ``event_id``, encoded."""
        event: Json = {"type": type_, "event_id": self.ids.next()}
        event.update(fields)
        return Frame(type_, orjson.dumps(event))

    def error_frame(self, exc: RealtimeProtocolError, client_event_id: str | None) -> Frame:
        """The ``error`` event for a refused client event."""
        return self.frame("error", error=exc.to_error(client_event_id))

    # ------------------------------------------------------------------ derived state

    @property
    def turn_detection(self) -> Json | None:
        """The effective ``audio.input.turn_detection``."""
        value: Json | None = self.config["audio"]["input"]["turn_detection"]
        return value

    @property
    def input_format(self) -> str:
        """The effective input audio format type."""
        kind: str = self.config["audio"]["input"]["format"]["type"]
        return kind

    @property
    def active_response_id(self) -> str | None:
        """The response writing to the default conversation, if any."""
        for run in self.runs:
            if run.in_conversation:
                return run.id
        return None

    def configure_vad(self) -> None:
        """Rebuild the VAD after the turn detection settings changed."""
        turn_detection = self.turn_detection
        if turn_detection is None:
            self.vad = None
            return
        self.vad = vad_for(turn_detection, self.speech)
        self.vad.reset(self.buffer.written_ms)
        self.speech_item_id = None
