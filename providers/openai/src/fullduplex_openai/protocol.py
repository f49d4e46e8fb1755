"""The OpenAI Realtime GA protocol without I/O: JSON dicts in, events and JSON out.

Why sans-I/O: every rule of the conversation (one response at a time, one
``response.create`` after all tool results, truncation clamped to audio really
received, interruption bookkeeping) lives here, where a table of real-shaped
server events can drive it without a socket. The transport only moves frames.

Server side: :meth:`RealtimeProtocol.handle` takes one parsed server event and
returns the fullduplex output events it produces (often none). Client side:
the ``*_input`` / ``tool_result`` / ``truncate`` methods turn input events into
client events. Any client event either side needs to send (including the
deferred ``response.create``) is appended to :attr:`RealtimeProtocol.outbox`,
which the model drains and sends after every call.

Hot path: ``response.output_audio.delta`` is dispatched through a dict of
bound methods and turned into a :class:`BidiAudioStreamEvent` straight from
the base64-decoded bytes, with no validation and no copy.

Rules a user can observe:

- **Text that arrives mid-answer is queued, one turn per line.** A user line
  sent while a response streams, or is requested and not yet started, or while
  the previous turn's tool batch is still unanswered, is held here (the model
  does not see it yet). When that answer completes, the next held line goes
  out with its own ``response.create``; lines are answered one by one, in the
  order they were sent. Other items sent behind a held line (assistant text)
  keep their place. A new connection forgets held lines: the agent recorded
  them in the history, whose replay carries them.
- **A requested answer never blocks later turns.** While our
  ``response.create`` waits for ``response.created``, an ``error`` that is not
  the known race (and not a known harmless one) is taken as its refusal, with
  or without an ``event_id`` (the service does not always echo it). The wait
  is also bounded: after ``create_timeout_s`` without a reply,
  :meth:`RealtimeProtocol.expire_create` (called by the model on a timer)
  forgets the request.
- **One ``response.create`` per tool batch**, also across reconnects: an answer
  owed by a replayed history waits while calls of the batch are unanswered.
- **A malformed or wrongly shaped server event never ends the conversation.**
  :meth:`RealtimeProtocol.handle` turns it into a :class:`BidiErrorEvent`
  (code ``malformed_event``) naming the event type and the field; the audio
  hot path pays only for a ``try``. Only errors the server means as fatal
  (credentials, model, session config) raise.
- Every message built from server text passes through
  :func:`fullduplex.redaction.redact` with :attr:`RealtimeProtocol.secrets`.
"""

from __future__ import annotations

import logging
import math
import time
from binascii import a2b_base64
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from fullduplex.errors import (
    ConfigurationError,
    EventError,
    FullDuplexError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelProtocolError,
)
from fullduplex.events import (
    AudioFormat,
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiLatencyEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    StopReason,
    ToolUseStreamEvent,
)
from fullduplex.redaction import redact

logger = logging.getLogger("fullduplex_openai.protocol")

Events = list[BidiOutputEvent]
Handler = Callable[[dict[str, Any]], Events]


class AudioConverter(Protocol):
    """Turns the wire audio of one item into SDK-boundary audio, chunk by chunk."""

    def __call__(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes:
        """What the converter still holds when the item's audio ends."""
        ...


_NONE: Final[Events] = []  # shared "no events" result; never mutated

#: Server events that carry nothing a fullduplex user needs. Listed so that
#: "every GA server event is handled or deliberately ignored" can be checked.
IGNORED_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "conversation.created",
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.done",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "conversation.item.input_audio_transcription.segment",
        "input_audio_buffer.dtmf_event_received",
        "input_audio_buffer.timeout_triggered",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "rate_limits.updated",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    }
)

#: Error codes that mean the credentials or the connection shape were refused.
_AUTH_CODES: Final[frozenset[str]] = frozenset(
    {
        "invalid_api_key",
        "invalid_authentication",
        "authentication_error",
        "unauthorized",
        "insufficient_permissions",
        "permission_denied",
        "invalid_client_secret",
        "expired_client_secret",
    }
)
_MODEL_CODES: Final[frozenset[str]] = frozenset({"model_not_found", "invalid_model"})
#: Errors the lifecycle makes harmless: never shown to the user as failures.
_QUIET_CODES: Final[frozenset[str]] = frozenset({"response_cancel_not_active"})

_SESSION_EVENT_ID: Final[str] = "fd_session_update"
#: marks our response.create, so a refusal of it can be told from other errors
_CREATE_EVENT_ID: Final[str] = "fd_response_create"

#: Wall-clock slack after which a finished item is taken as fully played.
_PLAYBACK_SLACK_S: Final[float] = 1.0

#: Default bound on the wait for ``response.created`` after our ``response.create``.
DEFAULT_CREATE_TIMEOUT_S: Final[float] = 15.0


class _Shape(Exception):
    """A server event field has the wrong shape (internal: becomes a BidiErrorEvent)."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(field, expected)
        self.field = field
        self.expected = expected


def _obj(parent: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """``parent[key]`` as a dict (``{}`` when absent or null)."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Shape(where + key, "an object")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """``parent[key]`` as an optional string."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _Shape(where + key, "a string")


def _int(parent: Mapping[str, Any], key: str, where: str = "") -> int:
    """``parent[key]`` as an integer (0 when absent; finite numbers are truncated)."""
    value = parent.get(key)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    raise _Shape(where + key, "a number")


#: The field the hot path reads without checking, per event type, for the
#: message when it fails (the handlers of other events raise :class:`_Shape`).
_HOT_FIELDS: Final[dict[str, tuple[str, str]]] = {
    "response.output_audio.delta": ("delta", "a base64 string"),
}


def _stop_reason(response: Mapping[str, Any], had_tool_call: bool) -> StopReason:
    status = response.get("status")
    details = response.get("status_details") or {}
    reason = details.get("reason") if isinstance(details, dict) else None
    if status == "completed":
        return "tool_use" if had_tool_call else "complete"
    if status == "cancelled":
        return "interrupted" if reason == "turn_detected" else "cancelled"
    if status == "incomplete":
        if reason == "content_filter":
            return "content_filter"
        return "max_tokens"
    if status == "failed":
        return "error"
    return "complete"


class RealtimeProtocol:
    """State of one conversation over (possibly several) Realtime connections.

    Per-connection state is reset by :meth:`reset`, called on every connect.
    """

    def __init__(
        self,
        *,
        model_id: str,
        base_session: Mapping[str, Any],
        wire_format: AudioFormat = "pcm16",
        output_rate: int = 24000,
        output_channels: int = 1,
        output_converter: Callable[[], AudioConverter] | None = None,
        clock: Callable[[], float] = time.monotonic,
        create_timeout_s: float = DEFAULT_CREATE_TIMEOUT_S,
    ) -> None:
        self.model_id = model_id
        #: how long a ``response.create`` may wait for ``response.created``
        self.create_timeout_s = create_timeout_s
        #: redacted from every message built from server text (the model sets the key)
        self.secrets: tuple[str, ...] = ()
        self.base_session = dict(base_session)
        self.wire_format: AudioFormat = wire_format
        #: wire bytes per millisecond of audio: PCM16 24 kHz mono or G.711 8 kHz
        self.bytes_per_ms = 48 if wire_format == "pcm16" else 8
        self.output_rate = output_rate
        self.output_channels = output_channels
        self._converter_factory = output_converter
        self._clock = clock
        self.outbox: list[dict[str, Any]] = []
        self._handlers: dict[str, Handler] = {
            "response.output_audio.delta": self._on_audio_delta,
            "response.output_audio.done": self._on_audio_done,
            "response.output_audio_transcript.delta": self._on_transcript_delta,
            "response.output_text.delta": self._on_transcript_delta,
            "response.output_audio_transcript.done": self._on_transcript_done,
            "response.output_text.done": self._on_text_done,
            "response.created": self._on_response_created,
            "response.done": self._on_response_done,
            "response.output_item.added": self._on_output_item_added,
            "response.function_call_arguments.delta": self._on_args_delta,
            "response.function_call_arguments.done": self._on_args_done,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "input_audio_buffer.cleared": self._on_buffer_cleared,
            "conversation.item.input_audio_transcription.delta": self._on_user_delta,
            "conversation.item.input_audio_transcription.completed": self._on_user_done,
            "conversation.item.input_audio_transcription.failed": self._on_user_failed,
            "session.created": self._on_session,
            "session.updated": self._on_session,
            "error": self._on_error,
        }
        for name in IGNORED_EVENTS:
            self._handlers[name] = self._ignore
        turn = (self.base_session.get("audio") or {}).get("input", {}).get("turn_detection")
        self._interrupt_response = self._reads_interrupt(turn, default=True)
        self._create_on_commit = not (
            isinstance(turn, dict) and turn.get("create_response") is False
        )
        self.reset()

    # ----------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget everything tied to one connection (called on every connect)."""
        self.outbox = []
        self.session_id: str | None = None
        self.session_created = False
        self.session_updated = False
        self._active_response: str | None = None
        self._create_inflight: str | None = None  # "user" | "tools" while awaiting created
        #: clock time by which ``response.created`` must answer the create in flight
        self.create_deadline: float | None = None
        #: user lines (and items queued behind them) held until the answer before ends;
        #: (item, wants a response)
        self._held: deque[tuple[dict[str, Any], bool]] = deque()
        self._owed_user = False
        self._owed_tools = False
        self._last_create_kind = "user"
        self._pending_calls: set[str] = set()
        self._calls: dict[str, tuple[str, str | None]] = {}  # call_id -> (name, item_id)
        self._call_args: dict[str, str] = {}
        self._response_had_call: set[str] = set()
        self._transcripts: dict[str, str] = {}
        self._user_transcripts: dict[str, str] = {}
        self._turn_open = False
        # audio bookkeeping (the hot path keeps the current item in attributes)
        self._audio_item: str | None = None
        self._audio_response: str | None = None
        self._audio_bytes = 0
        self._audio_first_t = 0.0
        self._audio_done: dict[str, int] = {}  # earlier items -> bytes received
        self._interrupted: set[str] = set()
        #: responses we cancelled because the user spoke (interrupt_response off)
        self._cancelled_for_speech: set[str] = set()
        self._convert: AudioConverter | None = None
        self._speech_stopped_t: float | None = None

    @staticmethod
    def _reads_interrupt(turn: Any, *, default: bool) -> bool:
        if isinstance(turn, dict):
            value = turn.get("interrupt_response", True)
            return bool(value) if value is not None else True
        return default

    @property
    def response_active(self) -> bool:
        """A response is streaming, or one was requested and has not started yet."""
        return self._active_response is not None or self._create_inflight is not None

    @property
    def answer_pending(self) -> bool:
        """An answer is owed but has not started: requested, or queued behind another."""
        return (
            self._create_inflight is not None
            or self._owed_user
            or self._owed_tools
            or any(wants for _, wants in self._held)
        )

    def at_pause(self) -> bool:
        """A natural pause: nothing streaming, no user turn open, no tool pending.

        The model ends a connection for ``timeout_s`` only at such a moment, so a
        restart never cuts a sentence or loses a turn in flight.
        """
        return not (
            self._active_response is not None
            or self._create_inflight is not None
            or self._turn_open
            or self._pending_calls
            or self._owed_tools
            or self._owed_user
            or self._held
        )

    def audio_received_ms(self, item_id: str) -> int:
        """Milliseconds of audio received for an assistant item (0 when unknown)."""
        if item_id == self._audio_item:
            return self._audio_bytes // self.bytes_per_ms
        return self._audio_done.get(item_id, 0) // self.bytes_per_ms

    # ---------------------------------------------------------- client side

    def session_update(
        self,
        system_prompt: str | None,
        tools: Sequence[Any] | None,
    ) -> dict[str, Any]:
        """The ``session.update`` that configures a new connection."""
        session = dict(self.base_session)
        session["type"] = "realtime"
        if system_prompt is not None:
            session["instructions"] = system_prompt
        if tools:
            specs = [
                {
                    "type": "function",
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                }
                for spec in tools
            ]
            session["tools"] = [*(session.get("tools") or []), *specs]
        return {"type": "session.update", "event_id": _SESSION_EVENT_ID, "session": session}

    def text_input(self, text: str, role: str = "user") -> None:
        """A typed message: the item, then a response of its own.

        A user line that arrives while an answer is under way (streaming,
        requested, or waiting for the turn's tool results) is held and sent
        with its own ``response.create`` once that answer completes; anything
        sent behind a held line waits with it, so the order is kept.
        """
        kind = "input_text" if role == "user" else "output_text"
        item = {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": role,
                "content": [{"type": kind, "text": text}],
            },
        }
        wants = role == "user"
        if self._held or (wants and self._turn_busy()):
            self._held.append((item, wants))
            return
        self.outbox.append(item)
        if wants:
            self._owed_user = True
            self._maybe_create_response()

    def _turn_busy(self) -> bool:
        """An answer is streaming, requested, or owed: a new line would interleave."""
        return (
            self._active_response is not None
            or self._create_inflight is not None
            or self._owed_user
            or self._owed_tools
        )

    def image_input(self, data_b64: str, mime_type: str) -> None:
        """An image the model sees with the next response (no response by itself)."""
        if mime_type not in ("image/png", "image/jpeg", "image/jpg"):
            raise EventError(
                f"mime_type: {mime_type!r} not accepted; accepted: image/png, image/jpeg"
            )
        self.outbox.append(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": f"data:{mime_type};base64,{data_b64}"}
                    ],
                },
            }
        )

    def tool_result(self, call_id: str, content: str) -> None:
        """A tool's output; one ``response.create`` once every call is answered."""
        self.outbox.append(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": content},
            }
        )
        self._pending_calls.discard(call_id)
        self._owed_tools = True
        self._maybe_create_response()

    def truncate(self, item_id: str, audio_end_ms: int) -> bool:
        """Forget the unheard end of an assistant audio item.

        Clamped to the audio received for the item; nothing is sent for an item
        without audio or when the user heard all that arrived (a needless
        truncate makes the model repeat itself). Returns whether one was sent.
        """
        received = self.audio_received_ms(item_id)
        if received <= 0:
            return False
        end = max(0, min(int(audio_end_ms), received))
        if end >= received:
            return False
        self.outbox.append(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": end,
            }
        )
        return True

    def expect_results(self, call_ids: Sequence[str]) -> None:
        """Tool calls made on an earlier connection whose results are still to come."""
        self._pending_calls.update(call_ids)

    def request_response(self) -> None:
        """Ask for a response (e.g. after replaying a history) when allowed.

        While calls of a tool batch are unanswered, the answer is the batch's
        own: it is asked for once, when the last result arrives.
        """
        if self._pending_calls:
            self._owed_tools = True
        else:
            self._owed_user = True
        self._maybe_create_response()

    def seconds_until(self, deadline: float) -> float:
        """Seconds from now (on this protocol's clock) until ``deadline``."""
        return deadline - self._clock()

    def expire_create(self) -> Events:
        """Forget a ``response.create`` the server left unanswered past its deadline.

        Called by the model on a timer; does nothing before the deadline. The
        held lines move on, and the user is told with a :class:`BidiErrorEvent`.
        """
        deadline = self.create_deadline
        if deadline is None or self._create_inflight is None or self._clock() < deadline:
            return _NONE
        self._create_inflight = None
        self.create_deadline = None
        logger.warning(
            "no response.created within %g s; not waiting any longer", self.create_timeout_s
        )
        self._maybe_create_response()
        return [
            BidiErrorEvent(
                f"the server did not start the requested response within "
                f"{self.create_timeout_s:g} s; the request was given up",
                "response_timeout",
                None,
            )
        ]

    def _maybe_create_response(self) -> None:
        if self._active_response is not None or self._create_inflight is not None:
            return
        if self._owed_tools and not self._pending_calls:
            kind = "tools"
        elif self._owed_user:
            kind = "user"
        elif self._held and not (self._pending_calls or self._owed_tools):
            kind = "user"
            while self._held:  # the next held line, with what was queued before it
                item, wants = self._held.popleft()
                self.outbox.append(item)
                if wants:
                    break
            else:
                return  # only items that want no answer were held
        else:
            return
        self._owed_user = False
        self._owed_tools = False
        self._create_inflight = kind
        self._last_create_kind = kind
        self.create_deadline = self._clock() + self.create_timeout_s
        self.outbox.append({"type": "response.create", "event_id": _CREATE_EVENT_ID})

    # ---------------------------------------------------------- server side

    def handle(self, event: Any) -> Events:
        """Events for one parsed server event; unknown types are ignored.

        A frame of the wrong shape (not an object, a field of the wrong type,
        bad base64) becomes one :class:`BidiErrorEvent` naming the event type
        and the field, and the conversation goes on. Only the errors the server
        means as fatal raise (fullduplex errors).
        """
        try:
            handler = self._handlers.get(event.get("type"))
            if handler is None:
                logger.debug("ignoring unknown server event %r", event.get("type"))
                return _NONE
            return handler(event)
        except FullDuplexError:
            raise
        except Exception as exc:  # a wrongly shaped frame: report it, carry on
            return [self._malformed(event, exc)]

    def malformed_frame(self, detail: str) -> Events:
        """The event for a frame that is not JSON at all (the model parses frames)."""
        return [
            BidiErrorEvent(
                self._clean(f"the server sent a frame that is not JSON ({detail}); it was ignored"),
                "malformed_event",
                None,
            )
        ]

    def _malformed(self, event: Any, exc: Exception) -> BidiErrorEvent:
        if not isinstance(event, dict):
            message = (
                f"the server sent a JSON frame that is not an object "
                f"({type(event).__name__}); it was ignored"
            )
            return BidiErrorEvent(message, "malformed_event", None)
        kind = event.get("type")
        if not isinstance(kind, str):
            message = f"the server sent an event whose field 'type' is not a string ({kind!r:.60})"
            return BidiErrorEvent(self._clean(message), "malformed_event", "type")
        if isinstance(exc, _Shape):
            field, expected = exc.field, exc.expected
        elif kind in _HOT_FIELDS:
            field, expected = _HOT_FIELDS[kind]
        else:
            field, expected = "?", f"a valid value ({type(exc).__name__}: {exc})"
        logger.debug("malformed %s event", kind, exc_info=True)
        message = (
            f"the server sent a malformed {kind} event: field {field!r} must be {expected}; "
            "the event was ignored"
        )
        return BidiErrorEvent(self._clean(message), "malformed_event", field)

    def _clean(self, text: str) -> str:
        """Server text made safe to show: no configured key, no key-looking token."""
        return redact(text, *self.secrets)

    def _ignore(self, event: dict[str, Any]) -> Events:
        return _NONE

    # audio ------------------------------------------------------------------

    def _on_audio_delta(self, event: dict[str, Any]) -> Events:
        audio = a2b_base64(event["delta"], strict_mode=True)
        item_id = event.get("item_id")
        response_id = event.get("response_id")
        out: Events
        out = self._new_audio_item(item_id, response_id) if item_id != self._audio_item else []
        self._audio_bytes += len(audio)
        if item_id in self._interrupted:
            return out  # in flight when the user barged in: never play it
        if self._convert is not None:
            audio = self._convert(audio)
        out.append(
            BidiAudioStreamEvent(
                audio,
                self.output_rate,
                self.output_channels,
                self.wire_format,
                response_id,
                item_id,
            )
        )
        return out

    def _on_audio_done(self, event: dict[str, Any]) -> Events:
        convert = self._convert
        item_id = event.get("item_id")
        if convert is None or item_id != self._audio_item or item_id in self._interrupted:
            return _NONE
        tail = convert.flush()
        if not tail:
            return _NONE
        return [
            BidiAudioStreamEvent(
                tail,
                self.output_rate,
                self.output_channels,
                self.wire_format,
                event.get("response_id"),
                item_id,
            )
        ]

    def _new_audio_item(self, item_id: Any, response_id: Any) -> Events:
        # once per item, not per chunk: ids are checked before they become state
        if not isinstance(item_id, str | None):
            raise _Shape("item_id", "a string")
        if not isinstance(response_id, str | None):
            raise _Shape("response_id", "a string")
        if self._audio_item is not None:
            self._audio_done[self._audio_item] = self._audio_bytes
            if len(self._audio_done) > 64:
                self._audio_done.pop(next(iter(self._audio_done)))
        self._audio_item = item_id
        self._audio_response = response_id
        self._audio_bytes = 0
        now = self._clock()
        self._audio_first_t = now
        self._convert = self._converter_factory() if self._converter_factory else None
        if self._speech_stopped_t is None:
            return []
        latency = (now - self._speech_stopped_t) * 1000.0
        self._speech_stopped_t = None
        return [BidiLatencyEvent("speech_end_to_first_audio", latency, response_id)]

    # transcripts ------------------------------------------------------------

    def _on_transcript_delta(self, event: dict[str, Any]) -> Events:
        item_id = _text(event, "item_id") or ""
        delta = _text(event, "delta") or ""
        current = self._transcripts.get(item_id, "") + delta
        self._transcripts[item_id] = current
        return [
            BidiTranscriptStreamEvent(
                delta, "assistant", False, current, event.get("response_id"), item_id or None
            )
        ]

    def _final_assistant(self, event: dict[str, Any], text: Any) -> Events:
        item_id = _text(event, "item_id") or ""
        so_far = self._transcripts.pop(item_id, "")
        final = text if isinstance(text, str) else so_far
        return [
            BidiTranscriptStreamEvent(
                final, "assistant", True, final, event.get("response_id"), item_id or None
            )
        ]

    def _on_transcript_done(self, event: dict[str, Any]) -> Events:
        return self._final_assistant(event, event.get("transcript"))

    def _on_text_done(self, event: dict[str, Any]) -> Events:
        return self._final_assistant(event, event.get("text"))

    def _on_user_delta(self, event: dict[str, Any]) -> Events:
        item_id = _text(event, "item_id") or ""
        delta = _text(event, "delta") or ""
        current = self._user_transcripts.get(item_id, "") + delta
        self._user_transcripts[item_id] = current
        return [BidiTranscriptStreamEvent(delta, "user", False, current, None, item_id or None)]

    def _on_user_done(self, event: dict[str, Any]) -> Events:
        item_id = _text(event, "item_id") or ""
        so_far = self._user_transcripts.pop(item_id, "")
        text = event.get("transcript")
        final = text if isinstance(text, str) else so_far
        return [BidiTranscriptStreamEvent(final, "user", True, final, None, item_id or None)]

    def _on_user_failed(self, event: dict[str, Any]) -> Events:
        item_id = _text(event, "item_id") or ""
        error = _obj(event, "error")
        self._user_transcripts.pop(item_id, None)
        message = str(error.get("message") or "unknown")
        code = error.get("code")
        return [
            BidiErrorEvent(
                self._clean(f"the user's speech could not be transcribed: {message}"),
                code if isinstance(code, str) and code else "transcription_failed",
                None,
            )
        ]

    # responses --------------------------------------------------------------

    def _on_response_created(self, event: dict[str, Any]) -> Events:
        response = _obj(event, "response")
        response_id = _text(response, "id", "response.") or ""
        self._active_response = response_id
        self._create_inflight = None
        self.create_deadline = None
        self._turn_open = False
        return [BidiResponseStartEvent(response_id)]

    def _on_response_done(self, event: dict[str, Any]) -> Events:
        # The response ends whatever else is wrong with the event: a malformed
        # part is reported, but never leaves the conversation waiting.
        problems: list[_Shape] = []
        response = event.get("response")
        if not isinstance(response, dict):
            if response is not None:
                problems.append(_Shape("response", "an object"))
            response = {}
        response_id = response.get("id")
        if not isinstance(response_id, str) or not response_id:
            response_id = self._active_response or ""
        # One response at a time writes to the default conversation, so its
        # end frees the conversation whatever id we thought was active.
        self._active_response = None
        had_call = response_id in self._response_had_call
        self._response_had_call.discard(response_id)
        output = response.get("output")
        if not had_call and isinstance(output, list):
            had_call = any(
                isinstance(item, dict) and item.get("type") == "function_call" for item in output
            )
        out: Events = []
        details = response.get("status_details")
        if response.get("status") == "failed" and isinstance(details, dict):
            error = details.get("error")
            error = error if isinstance(error, dict) else {}
            code = error.get("code") or error.get("type")
            out.append(
                BidiErrorEvent(
                    self._clean(str(error.get("message") or "the response failed")),
                    code if isinstance(code, str) else None,
                    None,
                    response_id or None,
                )
            )
        if response.get("usage") is not None:
            try:
                out.append(self._usage(response, response_id))
            except _Shape as exc:
                problems.append(exc)
        reason = _stop_reason(response, had_call)
        if reason == "cancelled" and response_id in self._cancelled_for_speech:
            self._cancelled_for_speech.discard(response_id)
            reason = "interrupted"  # we cancelled it for the user's barge-in
        out.append(BidiResponseCompleteEvent(response_id, reason))
        out.extend(self._malformed(event, problem) for problem in problems)
        self._maybe_create_response()
        return out

    @staticmethod
    def _usage(response: dict[str, Any], response_id: str) -> BidiUsageEvent:
        usage = _obj(response, "usage", "response.")
        counts = [
            _int(usage, name, "response.usage.")
            for name in ("input_tokens", "output_tokens", "total_tokens")
        ]
        details_out = {
            k: v
            for k, v in usage.items()
            if k not in ("input_tokens", "output_tokens", "total_tokens")
        }
        return BidiUsageEvent(counts[0], counts[1], counts[2], response_id or None, details_out)

    # tools ------------------------------------------------------------------

    def _on_output_item_added(self, event: dict[str, Any]) -> Events:
        item = _obj(event, "item")
        if item.get("type") == "function_call":
            call_id = _text(item, "call_id", "item.") or ""
            name = _text(item, "name", "item.") or ""
            self._calls[call_id] = (name, _text(item, "id", "item."))
        return _NONE

    def _on_args_delta(self, event: dict[str, Any]) -> Events:
        call_id = _text(event, "call_id") or ""
        delta = _text(event, "delta") or ""
        response_id = _text(event, "response_id")
        name, item_id = self._calls.get(call_id, ("", _text(event, "item_id")))
        args = self._call_args.get(call_id, "") + delta
        self._call_args[call_id] = args
        return [ToolUseStreamEvent(call_id, name, args, delta, False, response_id, item_id)]

    def _on_args_done(self, event: dict[str, Any]) -> Events:
        call_id = _text(event, "call_id")
        if not call_id:
            # a call nobody can answer must not hold the batch's response forever
            raise _Shape("call_id", "a non-empty string")
        response_id = _text(event, "response_id")
        event_name = _text(event, "name")
        event_item = _text(event, "item_id")
        known_name, item_id = self._calls.pop(call_id, ("", event_item))
        name = event_name or known_name
        args = event.get("arguments")
        if not isinstance(args, str):
            args = self._call_args.get(call_id, "")
        self._call_args.pop(call_id, None)
        self._pending_calls.add(call_id)
        if response_id:
            self._response_had_call.add(response_id)
        return [ToolUseStreamEvent(call_id, name, args, "", True, response_id, item_id)]

    # user speech ------------------------------------------------------------

    def _on_speech_started(self, event: dict[str, Any]) -> Events:
        speech = BidiSpeechEvent("started", _text(event, "item_id"), _int(event, "audio_start_ms"))
        self._turn_open = True
        self._speech_stopped_t = None
        out: Events = [speech]
        item_id = self._audio_item
        if item_id is None or item_id in self._interrupted or self._audio_bytes <= 0:
            return out
        streaming = (
            self._active_response is not None and self._active_response == self._audio_response
        )
        received_ms = self._audio_bytes // self.bytes_per_ms
        playing = self._clock() - self._audio_first_t < received_ms / 1000.0 + _PLAYBACK_SLACK_S
        if not (streaming or playing):
            return out
        self._interrupted.add(item_id)
        if streaming and not self._interrupt_response:
            self.outbox.append({"type": "response.cancel"})
            if self._audio_response is not None:
                self._cancelled_for_speech.add(self._audio_response)
        out.append(BidiInterruptionEvent("user_speech", self._audio_response, item_id, received_ms))
        return out

    def _on_speech_stopped(self, event: dict[str, Any]) -> Events:
        speech = BidiSpeechEvent("stopped", _text(event, "item_id"), _int(event, "audio_end_ms"))
        self._speech_stopped_t = self._clock()
        return [speech]

    def _on_committed(self, event: dict[str, Any]) -> Events:
        if not self._create_on_commit:
            self._turn_open = False
        return _NONE

    def _on_buffer_cleared(self, event: dict[str, Any]) -> Events:
        self._turn_open = False
        return _NONE

    # session and errors -----------------------------------------------------

    def _on_session(self, event: dict[str, Any]) -> Events:
        session = _obj(event, "session")
        session_id = _text(session, "id", "session.")
        if event.get("type") == "session.created":
            self.session_created = True
            self.session_id = session_id
        else:
            self.session_updated = True
        audio = session.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("input"), dict):
            turn = audio["input"].get("turn_detection")
            self._interrupt_response = self._reads_interrupt(turn, default=self._interrupt_response)
            self._create_on_commit = not (
                isinstance(turn, dict) and turn.get("create_response") is False
            )
        return _NONE

    def _on_error(self, event: dict[str, Any]) -> Events:
        error = event.get("error")
        if isinstance(error, str):  # not the documented shape, but plainly an error
            error = {"message": error}
        elif error is None:
            error = {}
        elif not isinstance(error, dict):
            raise _Shape("error", "an object")
        code = _text(error, "code", "error.")
        kind = _text(error, "type", "error.")
        message = self._clean(str(error.get("message") or "unknown error"))
        param = _text(error, "param", "error.")
        answers_our_create = error.get("event_id") in (_CREATE_EVENT_ID, None)
        if code == "conversation_already_has_active_response":
            # A response the server started by itself (VAD) raced ours: ask
            # again once it is done, and keep the user out of it.
            self._create_inflight = None
            self.create_deadline = None
            if self._last_create_kind == "tools":
                self._owed_tools = True
            else:
                self._owed_user = True
            if self._active_response is None:
                self._active_response = "?"  # a response we have not seen start
            logger.debug("response.create raced an active response; retrying after it")
            return _NONE
        if code in _QUIET_CODES:
            return _NONE
        if code == "beta_api_shape_disabled":
            raise ModelAuthenticationError(
                "the server refused the beta Realtime protocol shape; this client speaks GA "
                f"only, so a proxy in between may be adding the beta header ({message})",
                code=code,
            )
        if code in _AUTH_CODES or kind in ("authentication_error", "permission_error"):
            raise ModelAuthenticationError(
                f"the API key was refused ({message}); check client_config['api_key'] "
                "or the OPENAI_API_KEY environment variable",
                code=code,
            )
        if code in _MODEL_CODES:
            raise ModelProtocolError(
                f"model {self.model_id!r} is not available ({message}); check model_id",
                code=code,
            )
        if code == "session_expired":
            raise ModelConnectionError(
                f"the session reached the server's maximum duration ({message})",
                code=code,
                reason="session_expired",
            )
        if error.get("event_id") == _SESSION_EVENT_ID:
            raise ConfigurationError(
                f"provider_config: the server refused the session configuration: {message}"
                + (f" (field {param})" if param else "")
            )
        if code is None and "shorter than" in message:
            logger.debug("truncate past the end of the audio (the server clamps it)")
            return _NONE
        if answers_our_create and self._create_inflight is not None:
            # An error while our response.create waits for response.created is
            # its refusal (the service does not always echo the event_id): no
            # answer is coming, so stop waiting and let later turns go.
            self._create_inflight = None
            self.create_deadline = None
            self._maybe_create_response()
        return [BidiErrorEvent(message, code, param, None)]
