"""Every event that flows into or out of a bidi model.

Input events travel from the user's side (IO channels, ``agent.send``) to the
model; output events travel from the model to the agent and on to the outputs.

The classes are frozen, slotted attrs classes without validators: output events
are built on the hot path (one per audio chunk), so construction must cost no
more than a tuple. Audio is always ``bytes`` inside the process; base64 appears
only in :meth:`to_dict` and on the wire. Input events accept base64 ``str``
audio as a convenience, decoded once at construction.

Every event has a ``type`` string (its wire name in ``to_dict()``), and output
events carry the ``response_id`` / ``item_id`` they belong to where the model
knows them, so outputs and the agent can tie audio, transcripts and
interruptions to one another.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar, Literal, TypeAlias, cast

import attrs

from .errors import EventError

Role: TypeAlias = Literal["user", "assistant"]
AudioFormat: TypeAlias = Literal["pcm16", "g711_ulaw", "g711_alaw"]
StopReason: TypeAlias = Literal[
    "complete", "interrupted", "tool_use", "max_tokens", "content_filter", "cancelled", "error"
]
ToolStatus: TypeAlias = Literal["success", "error", "cancelled"]


def _audio_bytes(value: bytes | bytearray | memoryview | str) -> bytes:
    """Accept audio as bytes or as base64 text (as it arrives from JSON)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EventError(
                f"audio: expected bytes or base64 text, got text that is not base64 ({exc})"
            ) from exc
    raise EventError(f"audio: expected bytes or base64 text, got {type(value).__name__}")


_ROLES: tuple[str, ...] = ("user", "assistant")


def _check_text(value: object) -> None:
    """Input text is validated at construction (input is rare; history must replay it)."""
    if not isinstance(value, str):
        raise EventError(f"text: expected a string, got {type(value).__name__}")


def _check_role(value: object) -> None:
    if value not in _ROLES:
        raise EventError(f"role: got {value!r}; accepted: 'user' or 'assistant'")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fields_of(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    """The attrs fields of an event class (typed loosely: attrs' stubs want instances)."""
    return tuple(attrs.fields(cast(Any, cls)))


class _Event:
    """Shared behaviour: ``type``, ``to_dict()``, and the type registry."""

    __slots__ = ()
    type: ClassVar[str]
    #: Fields holding raw bytes, base64-encoded by ``to_dict``.
    _bytes_fields: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: bytes become base64 text, exceptions their message."""
        out: dict[str, Any] = {"type": self.type}
        for field in _fields_of(type(self)):
            value = getattr(self, field.name)
            if field.name in self._bytes_fields and isinstance(value, bytes):
                value = _b64(value)
            elif isinstance(value, BaseException):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out


# --------------------------------------------------------------------------- input


@attrs.frozen(slots=True)
class BidiTextInputEvent(_Event):
    """Text the user typed (or any text to say to the model as the user)."""

    type: ClassVar[str] = "bidi_text_input"
    text: str = attrs.field(validator=lambda _i, _a, v: _check_text(v))
    role: Role = attrs.field(default="user", validator=lambda _i, _a, v: _check_role(v))


@attrs.frozen(slots=True)
class BidiAudioInputEvent(_Event):
    """A chunk of the user's audio.

    ``sample_rate`` and ``channels`` describe ``audio``; the model converts to
    what its wire needs. ``format`` is PCM16 little-endian unless stated.
    """

    type: ClassVar[str] = "bidi_audio_input"
    _bytes_fields: ClassVar[tuple[str, ...]] = ("audio",)
    audio: bytes = attrs.field(converter=_audio_bytes)
    sample_rate: int = 24000
    channels: int = 1
    format: AudioFormat = "pcm16"


@attrs.frozen(slots=True)
class BidiImageInputEvent(_Event):
    """An image shown to the model (PNG or JPEG bytes)."""

    type: ClassVar[str] = "bidi_image_input"
    _bytes_fields: ClassVar[tuple[str, ...]] = ("image",)
    image: bytes = attrs.field(converter=_audio_bytes)
    mime_type: str = "image/png"


@attrs.frozen(slots=True)
class BidiAudioTruncateEvent(_Event):
    """Tells the model how much of an assistant audio item the user really heard.

    The agent sends it after an interruption, computed from the outputs'
    playback reports (or wall-clock time as a fallback). ``audio_end_ms`` is an
    integer, already clamped to the audio the model sent for that item.
    """

    type: ClassVar[str] = "bidi_audio_truncate"
    item_id: str
    audio_end_ms: int
    response_id: str | None = None


@attrs.frozen(slots=True)
class BidiResponseCancelEvent(_Event):
    """Asks the model to stop generating a response.

    The agent sends it when it decided the user interrupted and the provider's
    server does not cancel by itself on speech
    (``ModelCapabilities.server_interrupts`` false, ``response_cancel`` true).
    ``response_id`` ``None`` means the response now streaming. The provider
    reports the end as usual, with stop reason ``"interrupted"`` when
    ``reason`` is ``"user_speech"``.
    """

    type: ClassVar[str] = "bidi_response_cancel"
    response_id: str | None = None
    reason: Literal["user_speech", "client"] = "user_speech"


@attrs.frozen(slots=True)
class ToolResultEvent(_Event):
    """The result of one tool call.

    Sent to the model (which turns it into the provider's function output) and
    to the outputs (so a UI can show it). ``content`` is the text the model
    reads, usually JSON.
    """

    type: ClassVar[str] = "tool_result"
    call_id: str
    name: str
    content: str
    status: ToolStatus = "success"
    response_id: str | None = None


# -------------------------------------------------------------------------- output


@attrs.frozen(slots=True)
class BidiConnectionStartEvent(_Event):
    """The model's connection is open and configured."""

    type: ClassVar[str] = "bidi_connection_start"
    connection_id: str
    model: str = ""


@attrs.frozen(slots=True)
class BidiConnectionRestartEvent(_Event):
    """The agent replaced the model connection, replaying the history into it.

    ``reason`` says why (``timeout``, ``connection_lost``, ``session_expired``,
    ...); ``error`` holds the message of the failure that caused it, if any.
    """

    type: ClassVar[str] = "bidi_connection_restart"
    reason: str
    attempt: int = 1
    connection_id: str | None = None
    error: str | None = None


@attrs.frozen(slots=True)
class BidiConnectionCloseEvent(_Event):
    """The model's connection closed for good (the conversation is over)."""

    type: ClassVar[str] = "bidi_connection_close"
    reason: str
    connection_id: str | None = None


@attrs.frozen(slots=True)
class BidiResponseStartEvent(_Event):
    """The model began a response."""

    type: ClassVar[str] = "bidi_response_start"
    response_id: str


@attrs.frozen(slots=True)
class BidiAudioStreamEvent(_Event):
    """A chunk of the model's speech (PCM16 little-endian unless ``format`` says)."""

    type: ClassVar[str] = "bidi_audio_stream"
    _bytes_fields: ClassVar[tuple[str, ...]] = ("audio",)
    audio: bytes
    sample_rate: int = 24000
    channels: int = 1
    format: AudioFormat = "pcm16"
    response_id: str | None = None
    item_id: str | None = None


@attrs.frozen(slots=True)
class BidiTranscriptStreamEvent(_Event):
    """Words of the user or the assistant, as they are recognised or spoken.

    ``text`` is the new part (the delta); ``current_transcript`` the whole
    transcript of the item so far. ``is_final`` marks the complete transcript.
    """

    type: ClassVar[str] = "bidi_transcript_stream"
    text: str
    role: Role
    is_final: bool = False
    current_transcript: str = ""
    response_id: str | None = None
    item_id: str | None = None


@attrs.frozen(slots=True)
class BidiInterruptionEvent(_Event):
    """The user barged in: outputs must drop the assistant's pending audio now.

    ``audio_received_ms`` is how much audio of ``item_id`` had arrived, the
    upper bound for what can have been heard.
    """

    type: ClassVar[str] = "bidi_interruption"
    reason: Literal["user_speech", "client"] = "user_speech"
    response_id: str | None = None
    item_id: str | None = None
    audio_received_ms: int = 0


@attrs.frozen(slots=True)
class BidiSpeechEvent(_Event):
    """The provider's voice activity detection saw the user start or stop speaking."""

    type: ClassVar[str] = "bidi_speech"
    state: Literal["started", "stopped"]
    item_id: str | None = None
    audio_ms: int = 0


@attrs.frozen(slots=True)
class BidiResponseCompleteEvent(_Event):
    """A response ended; ``stop_reason`` says how."""

    type: ClassVar[str] = "bidi_response_complete"
    response_id: str
    stop_reason: StopReason = "complete"


@attrs.frozen(slots=True)
class BidiUsageEvent(_Event):
    """Token counts of one response (``details`` keeps the provider's breakdown)."""

    type: ClassVar[str] = "bidi_usage"
    input_tokens: int
    output_tokens: int
    total_tokens: int
    response_id: str | None = None
    details: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True)
class BidiLatencyEvent(_Event):
    """A latency figure in milliseconds, e.g. ``speech_end_to_first_audio``."""

    type: ClassVar[str] = "bidi_latency"
    metric: str
    value_ms: float
    response_id: str | None = None


@attrs.frozen(slots=True)
class BidiTurnMetricsEvent(_Event):
    """The figures of one finished turn (see :mod:`fullduplex.metrics`).

    Latencies are measured from the end of the user's input (speech stopped, or
    text sent) and are ``None`` when they do not apply (no audio in a text
    answer, no player reporting playback). ``heard_ms`` is how much of the
    answer's audio the user heard before interrupting (``None`` when not cut).
    """

    type: ClassVar[str] = "bidi_turn_metrics"
    turn: int
    response_id: str | None = None
    first_audio_ms: float | None = None
    first_played_ms: float | None = None
    first_text_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    interrupted: bool = False
    heard_ms: int | None = None


@attrs.frozen(slots=True)
class BidiErrorEvent(_Event):
    """A problem the conversation survives (the provider's ``error`` event, say).

    Fatal problems are raised as exceptions instead; see :mod:`fullduplex.errors`.
    """

    type: ClassVar[str] = "bidi_error"
    message: str
    code: str | None = None
    param: str | None = None
    response_id: str | None = None


def _call_ids(value: object) -> tuple[str, ...]:
    """Call ids as a tuple of strings (a JSON list is accepted: ``event_from_dict``)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise EventError(
            f"call_ids: expected a list of call id strings, got {type(value).__name__}"
        )
    for call_id in value:
        if not isinstance(call_id, str):
            raise EventError(
                f"call_ids: expected a list of call id strings, got a {type(call_id).__name__}"
            )
    return tuple(value)


@attrs.frozen(slots=True)
class BidiToolCancelEvent(_Event):
    """The server withdrew tool calls it had made (a fact, e.g. after the user spoke).

    The agent cancels exactly these calls if they still run, records them as
    cancelled in the history, and sends the model no result for them: the
    server no longer waits for one.
    """

    type: ClassVar[str] = "bidi_tool_cancel"
    call_ids: tuple[str, ...] = attrs.field(converter=_call_ids)
    response_id: str | None = None


@attrs.frozen(slots=True)
class ToolUseStreamEvent(_Event):
    """The model is calling a tool.

    Streams the JSON ``arguments`` as they arrive (``delta``); the final event
    (``is_final``) carries the complete ``arguments`` text, and is the one the
    agent acts on.
    """

    type: ClassVar[str] = "tool_use_stream"
    call_id: str
    name: str
    arguments: str = ""
    delta: str = ""
    is_final: bool = False
    response_id: str | None = None
    item_id: str | None = None


BidiInputEvent: TypeAlias = (
    BidiTextInputEvent
    | BidiAudioInputEvent
    | BidiImageInputEvent
    | BidiAudioTruncateEvent
    | BidiResponseCancelEvent
    | ToolResultEvent
)
BidiOutputEvent: TypeAlias = (
    BidiConnectionStartEvent
    | BidiConnectionRestartEvent
    | BidiConnectionCloseEvent
    | BidiResponseStartEvent
    | BidiAudioStreamEvent
    | BidiTranscriptStreamEvent
    | BidiInterruptionEvent
    | BidiSpeechEvent
    | BidiResponseCompleteEvent
    | BidiUsageEvent
    | BidiLatencyEvent
    | BidiTurnMetricsEvent
    | BidiErrorEvent
    | ToolUseStreamEvent
    | BidiToolCancelEvent
    | ToolResultEvent
)

INPUT_EVENT_TYPES: tuple[type[_Event], ...] = (
    BidiTextInputEvent,
    BidiAudioInputEvent,
    BidiImageInputEvent,
    BidiAudioTruncateEvent,
    BidiResponseCancelEvent,
    ToolResultEvent,
)
OUTPUT_EVENT_TYPES: tuple[type[_Event], ...] = (
    BidiConnectionStartEvent,
    BidiConnectionRestartEvent,
    BidiConnectionCloseEvent,
    BidiResponseStartEvent,
    BidiAudioStreamEvent,
    BidiTranscriptStreamEvent,
    BidiInterruptionEvent,
    BidiSpeechEvent,
    BidiResponseCompleteEvent,
    BidiUsageEvent,
    BidiLatencyEvent,
    BidiTurnMetricsEvent,
    BidiErrorEvent,
    ToolUseStreamEvent,
    BidiToolCancelEvent,
)

EVENT_CLASSES: dict[str, type[_Event]] = {
    cls.type: cls for cls in (*INPUT_EVENT_TYPES, *OUTPUT_EVENT_TYPES)
}


def event_from_dict(data: dict[str, Any]) -> BidiInputEvent | BidiOutputEvent:
    """Rebuild an event from :meth:`to_dict` output (or JSON with the same shape).

    Raises :class:`~fullduplex.errors.EventError` naming the field at fault and
    the accepted values.
    """
    if not isinstance(data, dict):
        raise EventError(f"event: expected a dict, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        accepted = ", ".join(sorted(EVENT_CLASSES))
        raise EventError(f"type: unknown event type {kind!r}; accepted: {accepted}")
    names = {f.name for f in _fields_of(cls)}
    unknown = sorted(set(data) - names - {"type"})
    if unknown:
        raise EventError(
            f"{unknown[0]}: not a field of {kind!r}; accepted: {', '.join(sorted(names))}"
        )
    kwargs = {k: v for k, v in data.items() if k != "type"}
    for name in cls._bytes_fields:
        if isinstance(kwargs.get(name), str):
            kwargs[name] = _audio_bytes(kwargs[name])
    try:
        return cls(**kwargs)  # type: ignore[return-value]
    except TypeError as exc:
        raise EventError(f"{kind}: {exc}") from exc
