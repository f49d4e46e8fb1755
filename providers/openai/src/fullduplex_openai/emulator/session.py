"""One Realtime session's protocol state machine, without I/O.

``RealtimeSession`` takes client events (JSON text or dicts) and returns the
server frames to send, in order. It never touches a socket or a clock-driven
timer, so tests drive it directly. Responses stream over time: ``handle`` only
starts them (``response.created``), and the transport calls ``pump`` to take the
next frames whenever it is ready to send, pacing audio as it likes. Barge-in,
``response.cancel`` and truncation act on that state between pumps, so the
frames sent always describe exactly what the client has seen.

Event order follows the GA captures (§5 of the protocol reference): the user
turn's ``committed`` / ``item.added`` / ``item.done``, ``response.created``,
``output_item.added``, ``conversation.item.added``, ``content_part.added``, the
interleaved transcript and audio deltas, the ``.done`` events, ``response.done``,
then ``rate_limits.updated``. Input transcription, when enabled, arrives after
the response it triggered (clients must match it by ``item_id``).

Time enters only through the injected ``clock``: ``response.done`` stamps when
the answer's playback will end, ``idle_deadline`` says when server VAD's
``idle_timeout_ms`` would fire, and the transport calls ``tick`` at (or after)
that moment to get the timeout's frames. Tests move a fake clock instead of
sleeping.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, Final

import numpy as np
import orjson

from . import synth
from .conversation import Conversation
from .errors import RealtimeProtocolError, invalid_type, invalid_value, unknown_parameter
from .frames import Frame
from .ids import EventIds, new_call_id, new_id
from .responder import DefaultResponder, FunctionCall, Reply, Responder, TurnContext
from .vad import EnergyVad
from .validation import (
    DEFAULT_MODEL,
    check_response_params,
    default_session,
    merge_session_update,
)

Json = dict[str, Any]

MIN_COMMIT_MS: Final = 100
MAX_APPEND_BYTES: Final = 15 * 1024 * 1024
MAX_EVENT_ID_CHARS: Final = 512
#: output audio tokens per second of speech, and input audio tokens per second
_OUTPUT_AUDIO_TOKENS_PER_S: Final = 20
_INPUT_AUDIO_TOKENS_PER_S: Final = 10

_CLIENT_EVENT_KEYS: Final[dict[str, frozenset[str]]] = {
    "session.update": frozenset({"type", "event_id", "session"}),
    "input_audio_buffer.append": frozenset({"type", "event_id", "audio"}),
    "input_audio_buffer.commit": frozenset({"type", "event_id"}),
    "input_audio_buffer.clear": frozenset({"type", "event_id"}),
    "conversation.item.create": frozenset({"type", "event_id", "item", "previous_item_id"}),
    "conversation.item.retrieve": frozenset({"type", "event_id", "item_id"}),
    "conversation.item.truncate": frozenset(
        {"type", "event_id", "item_id", "content_index", "audio_end_ms"}
    ),
    "conversation.item.delete": frozenset({"type", "event_id", "item_id"}),
    "response.create": frozenset({"type", "event_id", "response"}),
    "response.cancel": frozenset({"type", "event_id", "response_id"}),
    "output_audio_buffer.clear": frozenset({"type", "event_id"}),
}


def _tokens_for_text(text: str) -> int:
    return math.ceil(len(text) / 4)


def _split_words(text: str) -> list[str]:
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


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Run:
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
        limit = self.settings["max_output_tokens"]
        return bool(limit != "inf" and self.output_tokens >= limit)


class RealtimeSession:
    """The protocol state of one connection. See the module docstring."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        responder: Responder | None = None,
        initial_config: Json | None = None,
        audio_chunk_ms: int = 50,
        session_cap_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if audio_chunk_ms < 1:
            raise ValueError(f"audio_chunk_ms must be >= 1, got {audio_chunk_ms}")
        self.responder = responder if responder is not None else DefaultResponder()
        self.audio_chunk_ms = audio_chunk_ms
        self.fail_responses = False
        self._ids = EventIds()
        self.conversation_id = new_id("conv")
        self.config = default_session(model, new_id("sess"), int(clock() + session_cap_s))
        if initial_config:
            overrides = {k: v for k, v in initial_config.items() if k != "model"}
            self.config = merge_session_update(
                self.config, {"type": "realtime", **overrides}, voice_locked=False
            )
        self.conversation = Conversation()
        self.voice_locked = False
        self._runs: list[_Run] = []
        self._finished_runs: dict[str, str] = {}
        self._transcripts: dict[str, str] = {}
        self._audio_ms: dict[str, int] = {}
        self._item_bytes_per_ms: dict[str, int] = {}
        # input audio buffer: bytes since the last commit/clear, positioned in session time
        self._buffer = bytearray()
        self._buffer_start_ms = 0
        self._written_ms = 0
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0
        self._vad: EnergyVad | None = None
        self._pending_transcription: list[Frame] = []
        self._clock = clock
        # idle timeout: clock time and input-audio offset where the last answer's playback ends
        self._idle_from: float | None = None
        self._idle_audio_ms = 0
        self._configure_vad()

    # ------------------------------------------------------------------ encoding

    def _frame(self, type_: str, **fields: Any) -> Frame:
        event: Json = {"type": type_, "event_id": self._ids.next()}
        event.update(fields)
        return Frame(type_, orjson.dumps(event))

    def error_frame(self, exc: RealtimeProtocolError, client_event_id: str | None) -> Frame:
        return self._frame("error", error=exc.to_error(client_event_id))

    # ------------------------------------------------------------------ public API

    def open(self) -> list[Frame]:
        """The frames sent as soon as the connection is accepted (``session.created``)."""
        return [self._frame("session.created", session=self.config)]

    @property
    def active_response_id(self) -> str | None:
        """The response writing to the default conversation, if any."""
        for run in self._runs:
            if run.in_conversation:
                return run.id
        return None

    def has_pending_output(self) -> bool:
        """Whether ``pump`` has frames to give."""
        return bool(self._runs)

    def next_response_id(self) -> str | None:
        """The response whose output the next ``pump`` starts, if it has not started yet.

        The transport applies response delays (a fault) there.
        """
        if self._runs and not self._runs[0].started:
            return self._runs[0].id
        return None

    @property
    def idle_deadline(self) -> float | None:
        """The clock time at which server VAD's idle timeout fires, or ``None`` if it is not armed.

        Armed by each ``response.done`` (counting from the end of that response's audio
        playback) while ``turn_detection`` is server VAD with ``idle_timeout_ms`` set;
        disarmed by speech starting, by a new response, and while any response runs.
        """
        turn_detection = self.config["audio"]["input"]["turn_detection"]
        if (
            self._idle_from is None
            or self._runs
            or turn_detection is None
            or turn_detection["type"] != "server_vad"
            or turn_detection.get("idle_timeout_ms") is None
            or (self._vad is not None and self._vad.in_speech)
        ):
            return None
        return self._idle_from + int(turn_detection["idle_timeout_ms"]) / 1000

    def tick(self, now: float | None = None) -> list[Frame]:
        """The frames due by ``now`` (default: the session's clock): an idle timeout, if any.

        When it fires: ``input_audio_buffer.timeout_triggered``, the commit of the buffered
        (silent) audio as a user item, and ``response.created`` for the model's prompt to
        the user (whose frames then come from ``pump``), as in §5 (f) of the reference.
        """
        deadline = self.idle_deadline
        if deadline is None:
            return []
        if (self._clock() if now is None else now) < deadline:
            return []
        return self._idle_timeout()

    def _idle_timeout(self) -> list[Frame]:
        self._idle_from = None
        bpm = synth.bytes_per_ms(self._input_format)
        end_ms = self._written_ms
        start_ms = min(max(self._idle_audio_ms, self._buffer_start_ms), end_ms)
        item_id = new_id("item")
        audio = bytes(self._buffer)
        self._buffer.clear()
        self._buffer_start_ms = end_ms
        if self._vad is not None:
            self._vad.reset(end_ms)
        frames = [
            self._frame(
                "input_audio_buffer.timeout_triggered",
                item_id=item_id,
                audio_start_ms=start_ms,
                audio_end_ms=end_ms,
            )
        ]
        frames.extend(self._commit_audio(item_id, audio, bpm, silent=True))
        if self.config["audio"]["input"]["turn_detection"]["create_response"]:
            frames.extend(self._start_response({}, None, idle_timeout=True))
        else:
            frames.extend(self._pending_transcription)
            self._pending_transcription = []
        return frames

    def pump(self, max_frames: int = 64, max_audio_ms: int | None = None) -> list[Frame]:
        """Up to ``max_frames`` further frames of the running responses, in order.

        Stops early once ``max_audio_ms`` of audio is included (for real-time pacing).
        """
        frames: list[Frame] = []
        audio_ms = 0
        while self._runs and len(frames) < max_frames:
            run = self._runs[0]
            if run.stream is None:
                run.started = True
                run.stream = self._stream(run)
            for frame in run.stream:
                frames.append(frame)
                audio_ms += frame.audio_ms
                if len(frames) >= max_frames or (
                    max_audio_ms is not None and audio_ms >= max_audio_ms
                ):
                    return frames
            # the stream ended, and finishing removed the run; make sure of it
            if self._runs and self._runs[0] is run:
                self._runs.pop(0)
            if max_audio_ms is not None and audio_ms >= max_audio_ms:
                break
        return frames

    def handle(self, message: str | bytes | Json) -> list[Frame]:
        """Process one client event; return the immediate replies (errors included)."""
        client_event_id: str | None = None
        try:
            event = self._decode(message)
            raw_id = event.get("event_id")
            client_event_id = raw_id if isinstance(raw_id, str) else None
            if raw_id is not None and not isinstance(raw_id, str):
                raise invalid_type("event_id", raw_id, "a string")
            if client_event_id is not None and len(client_event_id) > MAX_EVENT_ID_CHARS:
                raise RealtimeProtocolError(
                    "string_above_max_length",
                    f"Invalid 'event_id': string too long. Expected a string with maximum "
                    f"length {MAX_EVENT_ID_CHARS}, but got a string with length "
                    f"{len(client_event_id)} instead.",
                    "event_id",
                )
            kind = event["type"]
            for key in event:
                if key not in _CLIENT_EVENT_KEYS[kind]:
                    raise unknown_parameter(key)
            handler = getattr(self, "_on_" + kind.replace(".", "_"))
            frames: list[Frame] = handler(event)
            return frames
        except RealtimeProtocolError as exc:
            return [self.error_frame(exc, client_event_id)]

    def _decode(self, message: str | bytes | Json) -> Json:
        if isinstance(message, dict):
            event = message
        else:
            try:
                event = orjson.loads(message)
            except orjson.JSONDecodeError as exc:
                raise RealtimeProtocolError(
                    "invalid_json",
                    f"The server could not parse the event as JSON: {exc}.",
                ) from exc
        if not isinstance(event, dict):
            raise RealtimeProtocolError("invalid_event", "The event must be a JSON object.")
        if "type" not in event:
            raise RealtimeProtocolError("invalid_event", "The 'type' field is missing.")
        if event["type"] not in _CLIENT_EVENT_KEYS:
            supported = ", ".join(f"'{name}'" for name in _CLIENT_EVENT_KEYS)
            raise invalid_value("type", event["type"], supported)
        return event

    # ------------------------------------------------------------------ session

    def _on_session_update(self, event: Json) -> list[Frame]:
        if "session" not in event:
            raise RealtimeProtocolError(
                "missing_required_parameter", "Missing required parameter: 'session'.", "session"
            )
        self.config = merge_session_update(
            self.config, event["session"], voice_locked=self.voice_locked
        )
        self._configure_vad()
        return [self._frame("session.updated", session=self.config)]

    def _configure_vad(self) -> None:
        turn_detection = self.config["audio"]["input"]["turn_detection"]
        if turn_detection is None:
            self._vad = None
            return
        self._vad = EnergyVad.from_turn_detection(turn_detection)
        self._vad.reset(self._written_ms)
        self._speech_item_id = None

    # ------------------------------------------------------------------ input audio

    @property
    def _input_format(self) -> str:
        kind: str = self.config["audio"]["input"]["format"]["type"]
        return kind

    def _on_input_audio_buffer_append(self, event: Json) -> list[Frame]:
        audio_b64 = event.get("audio")
        if not isinstance(audio_b64, str):
            raise invalid_type("audio", audio_b64, "a base64 string")
        try:
            audio = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RealtimeProtocolError(
                "invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.", "audio"
            ) from exc
        if len(audio) > MAX_APPEND_BYTES:
            raise RealtimeProtocolError(
                "invalid_value",
                f"Invalid 'audio': at most {MAX_APPEND_BYTES} bytes per append.",
                "audio",
            )
        bpm = synth.bytes_per_ms(self._input_format)
        self._buffer.extend(audio)
        self._written_ms = self._buffer_start_ms + len(self._buffer) // bpm
        if self._vad is None:
            return []
        samples, rate = self._samples(audio)
        frames: list[Frame] = []
        for vad_event in self._vad.feed(samples, rate):
            if vad_event.kind == "started":
                frames.extend(self._speech_started(vad_event.ms))
            else:
                frames.extend(self._speech_stopped(vad_event.ms))
        return frames

    def _samples(self, audio: bytes) -> tuple[np.ndarray[Any, np.dtype[np.int16]], int]:
        kind = self._input_format
        if kind == "audio/pcm":
            return np.frombuffer(audio[: len(audio) // 2 * 2], dtype="<i2"), synth.PCM_RATE
        return synth.decode_g711(audio, kind), synth.G711_RATE

    def _speech_started(self, start_ms: int) -> list[Frame]:
        self._idle_from = None
        self._speech_item_id = new_id("item")
        self._speech_start_ms = max(start_ms, self._buffer_start_ms)
        frames = [
            self._frame(
                "input_audio_buffer.speech_started",
                audio_start_ms=self._speech_start_ms,
                item_id=self._speech_item_id,
            )
        ]
        turn_detection = self.config["audio"]["input"]["turn_detection"]
        active = self.active_response_id
        if active is not None and turn_detection and turn_detection["interrupt_response"]:
            frames.extend(self._cancel(active, "turn_detected"))
        return frames

    def _speech_stopped(self, end_ms: int) -> list[Frame]:
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        frames = [
            self._frame("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)
        ]
        bpm = synth.bytes_per_ms(self._input_format)
        start = (self._speech_start_ms - self._buffer_start_ms) * bpm
        end = (end_ms - self._buffer_start_ms) * bpm
        audio = bytes(self._buffer[max(0, start) : end])
        del self._buffer[:end]
        self._buffer_start_ms = end_ms
        frames.extend(self._commit_audio(item_id, audio, bpm))
        turn_detection = self.config["audio"]["input"]["turn_detection"]
        if turn_detection and turn_detection["create_response"] and self.active_response_id is None:
            frames.extend(self._start_response({}, None))
        elif self._pending_transcription:
            frames.extend(self._pending_transcription)
            self._pending_transcription = []
        return frames

    def _commit_audio(
        self, item_id: str, audio: bytes, bpm: int, *, silent: bool = False
    ) -> list[Frame]:
        """Turn committed audio into a user item; queue its transcription events.

        ``silent`` audio (an idle timeout's) is not shown to the responder's
        ``transcribe``, so it does not use up words scripted for a real turn.
        """
        duration_ms = len(audio) // bpm
        item: Json = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self.conversation.insert(item, None, audio)
        self._audio_ms[item_id] = duration_ms
        self._item_bytes_per_ms[item_id] = bpm
        heard = "" if silent else self.responder.transcribe(audio, duration_ms)
        if heard is not None:
            self._transcripts[item_id] = heard
        frames = [
            self._frame("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous),
            self._frame("conversation.item.added", item=item, previous_item_id=previous),
            self._frame("conversation.item.done", item=item, previous_item_id=previous),
        ]
        transcription = self.config["audio"]["input"]["transcription"]
        self._pending_transcription = []
        if transcription is not None:
            text = heard if heard is not None else f"({duration_ms / 1000:.1f} seconds of audio)"
            item["content"][0]["transcript"] = text
            self._pending_transcription = [
                *(
                    self._frame(
                        "conversation.item.input_audio_transcription.delta",
                        item_id=item_id,
                        content_index=0,
                        delta=word,
                        obfuscation="",
                    )
                    for word in _split_words(text)
                ),
                self._frame(
                    "conversation.item.input_audio_transcription.completed",
                    item_id=item_id,
                    content_index=0,
                    transcript=text,
                    usage={"type": "duration", "seconds": round(duration_ms / 1000, 3)},
                ),
            ]
        return frames

    def _on_input_audio_buffer_commit(self, event: Json) -> list[Frame]:
        bpm = synth.bytes_per_ms(self._input_format)
        buffered_ms = len(self._buffer) / bpm
        if buffered_ms < MIN_COMMIT_MS:
            raise RealtimeProtocolError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
            )
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        audio = bytes(self._buffer)
        self._buffer.clear()
        self._buffer_start_ms = self._written_ms
        if self._vad is not None:
            self._vad.reset(self._written_ms)
        frames = self._commit_audio(item_id, audio, bpm)
        frames.extend(self._pending_transcription)
        self._pending_transcription = []
        return frames

    def _on_input_audio_buffer_clear(self, event: Json) -> list[Frame]:
        self._buffer.clear()
        self._buffer_start_ms = self._written_ms
        self._speech_item_id = None
        if self._vad is not None:
            self._vad.reset(self._written_ms)
        return [self._frame("input_audio_buffer.cleared")]

    def _on_output_audio_buffer_clear(self, event: Json) -> list[Frame]:
        raise RealtimeProtocolError(
            "invalid_value",
            "output_audio_buffer.clear is only supported on WebRTC and SIP connections; over a "
            "WebSocket the client owns playback: stop it and send conversation.item.truncate.",
            "type",
        )

    # ------------------------------------------------------------------ items

    def _on_conversation_item_create(self, event: Json) -> list[Frame]:
        raw = event.get("item")
        if not isinstance(raw, dict):
            raise RealtimeProtocolError(
                "missing_required_parameter", "Missing required parameter: 'item'.", "item"
            )
        previous_item_id = event.get("previous_item_id")
        if previous_item_id is not None and not isinstance(previous_item_id, str):
            raise invalid_type("previous_item_id", previous_item_id, "a string")
        item, audio = self._check_item(raw)
        previous = self.conversation.insert(item, previous_item_id, audio)
        if audio:
            bpm = synth.bytes_per_ms(self._input_format)
            self._audio_ms[item["id"]] = len(audio) // bpm
            self._item_bytes_per_ms[item["id"]] = bpm
            heard = self.responder.transcribe(audio, len(audio) // bpm)
            if heard is not None:
                self._transcripts[item["id"]] = heard
        return [
            self._frame("conversation.item.added", item=item, previous_item_id=previous),
            self._frame("conversation.item.done", item=item, previous_item_id=previous),
        ]

    def _check_item(self, raw: Json) -> tuple[Json, bytes]:
        item = copy.deepcopy(raw)
        kind = item.get("type")
        item_id = item.get("id")
        if item_id is None:
            item_id = new_id("item")
        elif not isinstance(item_id, str) or not item_id or len(item_id) > 64:
            raise invalid_value("item.id", item_id, "a string of 1 to 64 characters")
        audio = b""
        if kind == "message":
            allowed = {"type", "id", "object", "status", "role", "content"}
            for key in item:
                if key not in allowed:
                    raise unknown_parameter(f"item.{key}")
            role = item.get("role")
            accepted = {
                "user": ("input_text", "input_audio", "input_image"),
                "system": ("input_text",),
                "assistant": ("output_text", "output_audio"),
            }
            if role not in accepted:
                raise invalid_value("item.role", role, "'user', 'system', and 'assistant'")
            content = item.get("content")
            if not isinstance(content, list):
                raise invalid_type("item.content", content, "an array")
            for i, part in enumerate(content):
                path = f"item.content[{i}]"
                if not isinstance(part, dict) or part.get("type") not in accepted[role]:
                    found = part.get("type") if isinstance(part, dict) else part
                    names = ", ".join(f"'{t}'" for t in accepted[role])
                    raise invalid_value(f"{path}.type", found, names)
                if part["type"] in ("input_text", "output_text") and not isinstance(
                    part.get("text"), str
                ):
                    raise invalid_type(f"{path}.text", part.get("text"), "a string")
                if part["type"] == "input_audio":
                    if "audio" in part:
                        try:
                            audio = base64.b64decode(part.pop("audio"), validate=True)
                        except (binascii.Error, ValueError, TypeError) as exc:
                            raise RealtimeProtocolError(
                                "invalid_value", f"Invalid '{path}.audio': not base64.", path
                            ) from exc
                    part.setdefault("transcript", None)
                if part["type"] == "output_audio" and "audio" in part:
                    raise RealtimeProtocolError(
                        "invalid_value",
                        "Assistant audio cannot be created by the client; send output_text "
                        "or an output_audio transcript instead.",
                        f"{path}.audio",
                    )
        elif kind == "function_call":
            for key in ("name", "call_id"):
                if not isinstance(item.get(key), str):
                    raise RealtimeProtocolError(
                        "missing_required_parameter",
                        f"Missing required parameter: 'item.{key}'.",
                        f"item.{key}",
                    )
            item.setdefault("arguments", "")
            if not isinstance(item["arguments"], str):
                raise invalid_type("item.arguments", item["arguments"], "a string")
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise RealtimeProtocolError(
                    "missing_required_parameter",
                    "Missing required parameter: 'item.call_id'.",
                    "item.call_id",
                )
            if not isinstance(item.get("output"), str):
                raise invalid_type("item.output", item.get("output"), "a string")
            if not any(
                existing.get("type") == "function_call" and existing.get("call_id") == call_id
                for existing in self.conversation.items
            ):
                raise RealtimeProtocolError(
                    "invalid_value",
                    f"No tool call found for function call output with call_id {call_id}.",
                    "item.call_id",
                )
        else:
            raise invalid_value(
                "item.type", kind, "'message', 'function_call', and 'function_call_output'"
            )
        item["id"] = item_id
        item["object"] = "realtime.item"
        item["status"] = "completed"
        return item, audio

    def _item_id_of(self, event: Json) -> str:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise RealtimeProtocolError(
                "missing_required_parameter", "Missing required parameter: 'item_id'.", "item_id"
            )
        return item_id

    def _on_conversation_item_retrieve(self, event: Json) -> list[Frame]:
        item = self.conversation.retrieved(self._item_id_of(event))
        return [self._frame("conversation.item.retrieved", item=item)]

    def _on_conversation_item_delete(self, event: Json) -> list[Frame]:
        item_id = self._item_id_of(event)
        self.conversation.delete(item_id)
        self._audio_ms.pop(item_id, None)
        return [self._frame("conversation.item.deleted", item_id=item_id)]

    def _on_conversation_item_truncate(self, event: Json) -> list[Frame]:
        item_id = self._item_id_of(event)
        item = self.conversation.get(item_id)
        content_index = event.get("content_index", 0)
        end_ms = event.get("audio_end_ms")
        if isinstance(end_ms, bool) or not isinstance(end_ms, int):
            raise invalid_type("audio_end_ms", end_ms, "an integer")
        if end_ms < 0:
            raise invalid_value("audio_end_ms", end_ms, "an integer >= 0")
        is_audio_answer = (
            item.get("type") == "message"
            and item.get("role") == "assistant"
            and any(part.get("type") == "output_audio" for part in item.get("content", ()))
        )
        if not is_audio_answer:
            raise RealtimeProtocolError(
                "invalid_value", "Only model output audio messages can be truncated", "item_id"
            )
        if content_index != 0:
            raise invalid_value("content_index", content_index, "0")
        bpm = self._item_bytes_per_ms.get(item_id, 48)
        available_ms = len(self.conversation.audio_of(item_id)) // bpm
        if end_ms > available_ms:
            raise RealtimeProtocolError(
                None,
                f"Audio content of {available_ms}ms is already shorter than {end_ms}ms",
                "audio_end_ms",
            )
        self.conversation.truncate_audio(item_id, end_ms, bpm)
        self._audio_ms[item_id] = end_ms
        return [
            self._frame(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=0,
                audio_end_ms=end_ms,
            )
        ]

    # ------------------------------------------------------------------ responses

    def _on_response_create(self, event: Json) -> list[Frame]:
        params = check_response_params(event.get("response"))
        out_of_band = params.get("conversation") == "none"
        active = self.active_response_id
        if active is not None and not out_of_band:
            raise RealtimeProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {active}. "
                "Wait until the response is finished before creating a new one.",
            )
        frames = self._start_response(params, event.get("event_id"))
        return frames

    def _on_response_cancel(self, event: Json) -> list[Frame]:
        wanted = event.get("response_id")
        target = wanted if isinstance(wanted, str) else self.active_response_id
        if target is None or not any(run.id == target for run in self._runs):
            raise RealtimeProtocolError(
                "response_cancel_not_active", "Cancellation failed: no active response found"
            )
        return self._cancel(target, "client_cancelled")

    def _settings(self, params: Json) -> Json:
        audio_output = self.config["audio"]["output"]
        overrides = params.get("audio_output", {})
        tools = params.get("tools", self.config["tools"])
        tool_choice = params.get("tool_choice", self.config["tool_choice"])
        return {
            "output_modalities": params.get("output_modalities", self.config["output_modalities"]),
            "instructions": params.get("instructions", self.config["instructions"]),
            "tools": [] if tool_choice == "none" else tools,
            "max_output_tokens": params.get("max_output_tokens", self.config["max_output_tokens"]),
            "format": overrides.get("format", audio_output["format"]),
            "voice": overrides.get("voice", audio_output["voice"]),
            "metadata": params.get("metadata"),
            "conversation": params.get("conversation", "auto"),
            "input": params.get("input"),
        }

    def _context_items(self, settings: Json) -> list[Json]:
        if settings["input"] is None:
            return list(self.conversation.items)
        items: list[Json] = []
        for entry in settings["input"]:
            if isinstance(entry, dict) and entry.get("type") == "item_reference":
                items.append(self.conversation.get(str(entry.get("id"))))
            elif isinstance(entry, dict):
                items.append(entry)
        return items

    def _start_response(
        self, params: Json, client_event_id: object, *, idle_timeout: bool = False
    ) -> list[Frame]:
        self._idle_from = None
        settings = self._settings(params)
        items = self._context_items(settings)
        context = TurnContext(
            items=items,
            tools=settings["tools"],
            instructions=settings["instructions"],
            transcripts=dict(self._transcripts),
            audio_ms=dict(self._audio_ms),
            idle_timeout=idle_timeout,
        )
        reply = self.responder.respond(context)
        run = _Run(new_id("resp"), settings, reply)
        for item in items:
            for part in item.get("content", ()):
                run.input_tokens += _tokens_for_text(str(part.get("text") or ""))
            run.input_audio_tokens += (
                self._audio_ms.get(str(item.get("id")), 0) * _INPUT_AUDIO_TOKENS_PER_S // 1000
            )
        run.input_tokens += _tokens_for_text(settings["instructions"])
        run.trailing = self._pending_transcription
        self._pending_transcription = []
        self._runs.append(run)
        return [self._frame("response.created", response=self._response_object(run, "in_progress"))]

    def _response_object(
        self, run: _Run, status: str, details: Json | None = None, final: bool = False
    ) -> Json:
        usage: Json | None = None
        if final:
            input_tokens = run.input_tokens + run.input_audio_tokens
            output_tokens = math.ceil(run.output_tokens)
            usage = {
                "total_tokens": input_tokens + output_tokens,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "input_token_details": {
                    "text_tokens": run.input_tokens,
                    "audio_tokens": run.input_audio_tokens,
                    "image_tokens": 0,
                    "cached_tokens": 0,
                    "cached_tokens_details": {
                        "text_tokens": 0,
                        "audio_tokens": 0,
                        "image_tokens": 0,
                    },
                },
                "output_token_details": {
                    "text_tokens": run.output_text_tokens,
                    "audio_tokens": output_tokens - run.output_text_tokens,
                },
            }
        return {
            "object": "realtime.response",
            "id": run.id,
            "status": status,
            "status_details": details,
            "output": run.output if final else [],
            "conversation_id": self.conversation_id if run.in_conversation else None,
            "output_modalities": run.settings["output_modalities"],
            "max_output_tokens": run.settings["max_output_tokens"],
            "audio": {"output": {"format": run.settings["format"], "voice": run.settings["voice"]}},
            "usage": usage,
            "metadata": run.settings["metadata"],
        }

    def _stream(self, run: _Run) -> Generator[Frame, None, None]:
        """Every frame of a response after ``response.created``, updating ``run`` as it goes."""
        if self.fail_responses:
            yield from self._finish_response(
                run,
                "failed",
                {
                    "type": "failed",
                    "error": {
                        "type": "server_error",
                        "code": "server_error",
                        "message": "The server had an error while processing your request "
                        "(injected by the emulator's fault settings).",
                    },
                },
            )
            return
        if run.reply.text or not run.reply.function_calls:
            if run.settings["output_modalities"] == ["text"]:
                yield from self._stream_text(run, run.reply.text)
            else:
                yield from self._stream_audio(run, run.reply.text or "Okay.")
            if run.over_budget:
                yield from self._end_incomplete(run)
                return
        for call in run.reply.function_calls:
            yield from self._stream_call(run, call)
            if run.over_budget:
                yield from self._end_incomplete(run)
                return
        yield from self._finish_response(run, "completed", None)

    def _end_incomplete(self, run: _Run) -> Iterator[Frame]:
        yield from self._close_item(run, "incomplete")
        yield from self._finish_response(
            run, "incomplete", {"type": "incomplete", "reason": "max_output_tokens"}
        )

    def _open_item(self, run: _Run, item: Json) -> Iterator[Frame]:
        run.output.append(item)
        run.current = item
        run.sent_text = ""
        output_index = len(run.output) - 1
        yield self._frame(
            "response.output_item.added", response_id=run.id, output_index=output_index, item=item
        )
        if run.in_conversation:
            previous = self.conversation.insert(item)
            yield self._frame("conversation.item.added", item=item, previous_item_id=previous)

    def _open_message(self, run: _Run, item_id: str, part: Json) -> Generator[Frame, None, int]:
        """Open an assistant message and its one content part; return its output index.

        Audio and text replies differ only in the part they announce and in the
        deltas that follow, so both open the item through here.
        """
        item: Json = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        yield from self._open_item(run, item)
        output_index = len(run.output) - 1
        run.part_open = True
        yield self._frame(
            "response.content_part.added",
            response_id=run.id,
            item_id=item_id,
            output_index=output_index,
            content_index=0,
            part=part,
        )
        return output_index

    @staticmethod
    def _count_sent(run: _Run, piece: str) -> None:
        """Account one streamed text piece (a word or an argument fragment) to the run."""
        run.sent_text += piece
        run.output_text_tokens += 1
        run.output_tokens += 1

    def _transcript_delta(self, run: _Run, item_id: str, output_index: int, word: str) -> Frame:
        self._count_sent(run, word)
        return self._frame(
            "response.output_audio_transcript.delta",
            response_id=run.id,
            item_id=item_id,
            output_index=output_index,
            content_index=0,
            delta=word,
            obfuscation="",
        )

    def _stream_audio(self, run: _Run, text: str) -> Iterator[Frame]:
        item_id = new_id("item")
        format_type = run.settings["format"]["type"]
        bpm = synth.bytes_per_ms(format_type)
        # Registered before the item is announced: no one knows the id earlier.
        self._item_bytes_per_ms[item_id] = bpm
        output_index = yield from self._open_message(
            run, item_id, {"type": "audio", "transcript": ""}
        )
        chunks = synth.speech_chunks(text, format_type, self.audio_chunk_ms)
        raw = memoryview(synth.speech_audio(text, format_type))
        stored = self.conversation.audio_of(item_id) if run.in_conversation else bytearray()
        words = _split_words(text)
        ids = self._ids
        head = (
            b'{"type":"response.output_audio.delta","response_id":"'
            + run.id.encode()
            + b'","item_id":"'
            + item_id.encode()
            + b'","output_index":'
            + str(output_index).encode()
            + b',"content_index":0,"event_id":"'
        )
        chunk_bytes = bpm * self.audio_chunk_ms
        tokens_per_chunk = self.audio_chunk_ms * _OUTPUT_AUDIO_TOKENS_PER_S / 1000
        n_chunks = len(chunks)
        n_words = len(words)
        word_index = 0
        for i, chunk in enumerate(chunks):
            while word_index < n_words and word_index * n_chunks <= i * n_words:
                yield self._transcript_delta(run, item_id, output_index, words[word_index])
                word_index += 1
            piece = raw[i * chunk_bytes : (i + 1) * chunk_bytes]
            stored.extend(piece)
            self.voice_locked = True
            run.output_audio_ms += len(piece) // bpm
            run.output_tokens += tokens_per_chunk
            yield Frame(
                "response.output_audio.delta",
                head + ids.next().encode() + b'","delta":"' + chunk + b'"}',
                len(piece) // bpm,
            )
            if run.over_budget:
                return
        for word in words[word_index:]:
            yield self._transcript_delta(run, item_id, output_index, word)
        yield from self._close_item(run, "completed")

    def _stream_text(self, run: _Run, text: str) -> Iterator[Frame]:
        item_id = new_id("item")
        output_index = yield from self._open_message(run, item_id, {"type": "text", "text": ""})
        for word in _split_words(text):
            self._count_sent(run, word)
            yield self._frame(
                "response.output_text.delta",
                response_id=run.id,
                item_id=item_id,
                output_index=output_index,
                content_index=0,
                delta=word,
            )
            if run.over_budget:
                return
        yield from self._close_item(run, "completed")

    def _stream_call(self, run: _Run, call: FunctionCall) -> Iterator[Frame]:
        item: Json = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": call.name,
            "call_id": new_call_id(),
            "arguments": "",
        }
        yield from self._open_item(run, item)
        output_index = len(run.output) - 1
        for piece in _pieces(call.arguments):
            self._count_sent(run, piece)
            yield self._frame(
                "response.function_call_arguments.delta",
                response_id=run.id,
                item_id=item["id"],
                output_index=output_index,
                call_id=item["call_id"],
                delta=piece,
            )
            if run.over_budget:
                return
        yield from self._close_item(run, "completed")

    def _close_item(self, run: _Run, status: str) -> Iterator[Frame]:
        """The closing events of the item being streamed, describing what was sent of it."""
        item = run.current
        if item is None:
            return
        run.current = None
        output_index = run.output.index(item)
        ids = {"response_id": run.id, "item_id": item["id"], "output_index": output_index}
        text = run.sent_text
        if item["type"] == "function_call":
            item["arguments"] = text
            yield self._frame(
                "response.function_call_arguments.done",
                **ids,
                call_id=item["call_id"],
                name=item["name"],
                arguments=text,
            )
        elif run.part_open:
            run.part_open = False
            if run.settings["output_modalities"] == ["text"]:
                yield self._frame("response.output_text.done", **ids, content_index=0, text=text)
                part: Json = {"type": "text", "text": text}
                item["content"] = [{"type": "output_text", "text": text}]
            else:
                yield self._frame("response.output_audio.done", **ids, content_index=0)
                yield self._frame(
                    "response.output_audio_transcript.done", **ids, content_index=0, transcript=text
                )
                part = {"type": "audio", "transcript": text}
                item["content"] = [{"type": "output_audio", "transcript": text}]
            yield self._frame("response.content_part.done", **ids, content_index=0, part=part)
        item["status"] = status
        yield self._frame(
            "response.output_item.done", response_id=run.id, output_index=output_index, item=item
        )
        if run.in_conversation and item["id"] in self.conversation:
            yield self._frame(
                "conversation.item.done",
                item=item,
                previous_item_id=self.conversation.previous_id(item["id"]),
            )

    def _finish_response(self, run: _Run, status: str, details: Json | None) -> Iterator[Frame]:
        if run in self._runs:
            self._runs.remove(run)
        if run.id in self._finished_runs:
            return
        self._finished_runs[run.id] = status
        # the idle timeout counts from the end of this answer's playback on the client
        self._idle_from = self._clock() + run.output_audio_ms / 1000
        self._idle_audio_ms = self._written_ms + run.output_audio_ms
        yield self._frame(
            "response.done", response=self._response_object(run, status, details, final=True)
        )
        used = math.ceil(run.output_tokens) + run.input_tokens + run.input_audio_tokens
        yield self._frame(
            "rate_limits.updated",
            rate_limits=[
                {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                {
                    "name": "tokens",
                    "limit": 40000,
                    "remaining": max(0, 40000 - used),
                    "reset_seconds": round(used * 60 / 40000, 3),
                },
            ],
        )
        yield from run.trailing
        run.trailing = []

    def _cancel(self, response_id: str, reason: str) -> list[Frame]:
        """End a running response now: close its open item, then ``response.done`` cancelled."""
        run = next(r for r in self._runs if r.id == response_id)
        if run.stream is not None:
            run.stream.close()
        run.started = True
        frames = list(self._close_item(run, "incomplete"))
        frames.extend(
            self._finish_response(run, "cancelled", {"type": "cancelled", "reason": reason})
        )
        return frames
