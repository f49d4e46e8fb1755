"""The OpenAI Realtime GA protocol without I/O: frames in, events and client events out.

Why sans-I/O: the rules of the wire (one response at a time, one
``response.create`` after all tool results, which error answers which request)
live here, where a table of real-shaped server events can drive them without
a socket. The transport only moves frames; the model only moves frames and
runs timers.

Server side: :meth:`RealtimeProtocol.handle_frame` takes one raw frame (the
model's ``start()`` and ``receive()`` both use it), :meth:`RealtimeProtocol.handle`
one parsed event; each returns the fullduplex output events it produces
(often none). Client side: the ``*_input`` / ``tool_result`` / ``truncate`` /
``cancel`` methods turn input events into client events (spelled in
:mod:`.client`), appended to :attr:`RealtimeProtocol.outbox`, which the model
drains and sends after every call. The response lifecycle is :mod:`.responses`.

Facts, not decisions: the protocol reports what the server says (the user
started or stopped speaking, audio for an item, a response's start and end
and why) and does what it is asked (truncate, cancel). Whether the user
interrupted, what they heard and how much to truncate is decided by the
agent; the protocol neither drops audio nor clamps a truncation. It keeps
only what the wire needs: a response cancelled at the agent's request for the
user's speech ends with stop reason ``"interrupted"``; the refusal of our
tagged truncate is recognised by its ``event_id`` and not shown.

Hot path: ``response.output_audio.delta`` is dispatched through a dict of
bound methods and turned into a :class:`BidiAudioStreamEvent` straight from
the base64-decoded bytes, with no validation and no copy.

A malformed or wrongly shaped server event never ends the conversation: it
becomes a :class:`BidiErrorEvent` (code ``malformed_event``) naming the event
type and the field. Only errors the server means as fatal (credentials,
model, session config) raise. Every message built from server text passes
through :func:`fullduplex.redaction.redact` with :attr:`RealtimeProtocol.secrets`.
"""

from __future__ import annotations

import logging
import time
from binascii import a2b_base64
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson

from fullduplex.errors import FullDuplexError
from fullduplex.events import (
    AudioFormat,
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiLatencyEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiUsageEvent,
)
from fullduplex.messages import Message
from fullduplex.redaction import redact

from . import client, replay
from .responses import DEFAULT_CREATE_TIMEOUT_S, ResponseFlow
from .server_errors import fatal_error
from .shapes import (
    CREATE_EVENT_ID,
    HOT_FIELDS,
    IGNORED_EVENTS,
    QUIET_CODES,
    TOOLS_EVENT_ID,
    TRUNCATE_EVENT_ID,
    Shape,
    create_on_commit,
    integer,
    interrupt_response,
    obj,
    stop_reason,
    text,
)
from .streams import CallArguments, Transcripts

logger = logging.getLogger("fullduplex_openai.protocol")

Events = list[BidiOutputEvent]
Handler = Callable[[dict[str, Any]], Events]


class AudioConverter(Protocol):
    """Turns the wire audio of one item into SDK-boundary audio, chunk by chunk."""

    def __call__(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes:
        """What the converter still holds when the item's audio ends."""
        ...


_NONE: list[BidiOutputEvent] = []  # shared "no events" result; never mutated
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class RealtimeProtocol:
    """State of one conversation over (possibly several) Realtime connections.

    Per-connection state is reset by :meth:`reset`, called on every connect.
    """

    def __init__(
        self,
        *,
        model_id: str,
        base_session: dict[str, Any],
        wire_format: AudioFormat = "pcm16",
        output_rate: int = 24000,
        output_channels: int = 1,
        output_converter: Callable[[], AudioConverter] | None = None,
        clock: Callable[[], float] = time.monotonic,
        create_timeout_s: float = DEFAULT_CREATE_TIMEOUT_S,
    ) -> None:
        self.model_id = model_id
        #: redacted from every message built from server text (the model sets the key)
        self.secrets: tuple[str, ...] = ()
        self.base_session = dict(base_session)
        self.wire_format: AudioFormat = wire_format
        self.output_rate = output_rate
        self.output_channels = output_channels
        self._converter_factory = output_converter
        self._clock = clock
        self.outbox: list[dict[str, Any]] = []
        self.flow = ResponseFlow(self._send, clock, create_timeout_s)
        self._texts = Transcripts(self._clean)
        self._calls = CallArguments(self.flow)
        self._handlers: dict[str, Handler] = {
            "response.output_audio.delta": self._on_audio_delta,
            "response.output_audio.done": self._on_audio_done,
            "response.output_audio_transcript.delta": self._texts.assistant_delta,
            "response.output_text.delta": self._texts.assistant_delta,
            "response.output_audio_transcript.done": self._texts.assistant_done,
            "response.output_text.done": self._texts.text_done,
            "response.created": self._on_response_created,
            "response.done": self._on_response_done,
            "response.output_item.added": self._calls.item_added,
            "response.function_call_arguments.delta": self._calls.args_delta,
            "response.function_call_arguments.done": self._calls.args_done,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "input_audio_buffer.cleared": self._on_buffer_cleared,
            "conversation.item.input_audio_transcription.delta": self._texts.user_delta,
            "conversation.item.input_audio_transcription.completed": self._texts.user_done,
            "conversation.item.input_audio_transcription.failed": self._texts.user_failed,
            "session.created": self._on_session,
            "session.updated": self._on_session,
            "error": self._on_error,
        }
        for name in IGNORED_EVENTS:
            self._handlers[name] = self._ignore
        audio_in = (self.base_session.get("audio") or {}).get("input", {})
        # absent: the server's default (server VAD that cuts the response on speech)
        turn = audio_in.get("turn_detection", {"type": "server_vad"})
        #: the server detects the user's turns (``turn_detection`` not null)
        self.server_turn_detection = isinstance(turn, dict)
        #: the server cuts a response itself when the user speaks (``interrupt_response``)
        self.server_interrupts = interrupt_response(turn, default=False)
        self._create_on_commit = create_on_commit(turn)
        self.reset()

    def _send(self, message: dict[str, Any]) -> None:
        self.outbox.append(message)

    # ----------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget everything tied to one connection (called on every connect)."""
        self.outbox = []
        self.flow.reset()
        self.session_id: str | None = None
        self.session_created = False
        self.session_updated = False
        self._texts.reset()
        self._calls.reset()
        self._turn_open = False
        # the current audio item: its converter, and the latency measurement
        self._audio_item: str | None = None
        self._convert: AudioConverter | None = None
        self._speech_stopped_t: float | None = None

    @property
    def create_timeout_s(self) -> float:
        """How long a ``response.create`` may wait for ``response.created``."""
        return self.flow.create_timeout_s

    @property
    def create_deadline(self) -> float | None:
        """Clock time by which ``response.created`` must answer the create in flight."""
        return self.flow.deadline

    @property
    def response_active(self) -> bool:
        """A response is streaming, or one was requested and has not started yet."""
        return self.flow.response_active

    @property
    def answer_pending(self) -> bool:
        """An answer is owed but has not started: requested, or queued behind another."""
        return self.flow.answer_pending

    def at_pause(self) -> bool:
        """A natural pause: nothing streaming, no user turn open, no tool pending.

        The model ends a connection for ``timeout_s`` only at such a moment, so a
        restart never cuts a sentence or loses a turn in flight.
        """
        return not (self._turn_open or self.flow.busy())

    # ---------------------------------------------------------- client side

    def session_update(
        self, system_prompt: str | None, tools: Sequence[Any] | None
    ) -> dict[str, Any]:
        """The ``session.update`` that configures a new connection."""
        return client.session_update(self.base_session, system_prompt, tools)

    def tools_update(self, tools: Sequence[Any]) -> None:
        """Replace the live session's tools (a ``session.update`` carrying only them)."""
        self._send(client.tools_update(self.base_session, tools))

    def replay(self, messages: Sequence[Message], *, cut_off: bool) -> list[dict[str, Any]]:
        """The items recreating ``messages`` in a new connection; owes an answer if needed.

        Tool calls in ``messages`` without a result are awaited (their tools
        still run); an answer is requested when the history needs one
        (:func:`.replay.needs_answer`) and the conversation allows it.
        """
        history = list(messages)
        self.flow.expect_results(replay.unanswered_calls(history))
        items = replay.history_items(history)
        if replay.needs_answer(history, cut_off=cut_off):
            self.flow.request_response()
        return items

    def audio_append(self, wire_audio: bytes) -> bytes:
        """The frame carrying input audio already in the wire format."""
        return client.audio_append(wire_audio)

    def text_input(self, text: str, role: str = "user") -> None:
        """A typed message: the item, then a response of its own (see :mod:`.responses`)."""
        self.flow.add_item(client.text_message(text, role), role == "user")

    def image_input(self, data_b64: str, mime_type: str) -> None:
        """An image the model sees with the next response (no response by itself)."""
        self._send(client.image_message(data_b64, mime_type))

    def tool_result(self, call_id: str, content: str) -> None:
        """A tool's output; one ``response.create`` once every call is answered."""
        self.flow.tool_result(client.function_output(call_id, content), call_id)

    def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Forget the end of an assistant audio item past ``audio_end_ms``, as asked.

        The agent decided the figure (what the user heard, within what
        arrived); it is sent as it is. Should the server refuse it, the tagged
        refusal is recognised and not shown.
        """
        self._send(client.truncate(item_id, int(audio_end_ms)))

    def cancel(self, response_id: str | None, reason: str = "user_speech") -> bool:
        """Ask the server to stop a response; returns whether a cancel went out."""
        return self.flow.cancel(response_id, for_speech=reason == "user_speech")

    def expect_results(self, call_ids: Sequence[str]) -> None:
        """Tool calls made on an earlier connection whose results are still to come."""
        self.flow.expect_results(call_ids)

    def request_response(self) -> None:
        """Ask for a response (e.g. after replaying a history) when allowed."""
        self.flow.request_response()

    def seconds_until(self, deadline: float) -> float:
        """Seconds from now (on this protocol's clock) until ``deadline``."""
        return self.flow.seconds_until(deadline)

    def expire_create(self) -> Events:
        """Forget a ``response.create`` the server left unanswered past its deadline.

        Called by the model on a timer; does nothing before the deadline. The
        held lines move on, and the user is told with a :class:`BidiErrorEvent`.
        """
        if not self.flow.expire_create():
            return _NONE
        return [
            BidiErrorEvent(
                f"the server did not start the requested response within "
                f"{self.create_timeout_s:g} s; the request was given up",
                "response_timeout",
                None,
            )
        ]

    # ---------------------------------------------------------- server side

    def handle_frame(self, raw: str | bytes) -> Events:
        """Events for one raw frame (the model's ``start()`` and ``receive()`` both call it).

        A frame that is not JSON is reported, not fatal. The hot path: it parses
        and dispatches inline (the same steps as :meth:`handle`, one call fewer
        per audio chunk).
        """
        try:
            event = _loads(raw)
        except _JSONDecodeError as exc:
            return self.malformed_frame(str(exc))
        try:
            handler = self._handlers.get(event.get("type"))
        except Exception:  # not an object, or an unhashable type: the careful path
            handler = None
        if handler is None:
            return self.handle(event)
        try:
            return handler(event)
        except FullDuplexError:
            raise
        except Exception as exc:  # a wrongly shaped frame: report it, carry on
            return [self._malformed(event, exc)]

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
        """The event for a frame that is not JSON at all."""
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
        if isinstance(exc, Shape):
            field, expected = exc.field, exc.expected
        elif kind in HOT_FIELDS:
            field, expected = HOT_FIELDS[kind]
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
        if convert is None or item_id != self._audio_item:
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
            raise Shape("item_id", "a string")
        if not isinstance(response_id, str | None):
            raise Shape("response_id", "a string")
        self._audio_item = item_id
        self._convert = self._converter_factory() if self._converter_factory else None
        if self._speech_stopped_t is None:
            return []
        latency = (self._clock() - self._speech_stopped_t) * 1000.0
        self._speech_stopped_t = None
        return [BidiLatencyEvent("speech_end_to_first_audio", latency, response_id)]

    # responses --------------------------------------------------------------

    def _on_response_created(self, event: dict[str, Any]) -> Events:
        response = obj(event, "response")
        response_id = text(response, "id", "response.") or ""
        self.flow.created(response_id)
        self._turn_open = False
        return [BidiResponseStartEvent(response_id)]

    def _on_response_done(self, event: dict[str, Any]) -> Events:
        # The response ends whatever else is wrong with the event: a malformed
        # part is reported, but never leaves the conversation waiting.
        problems: list[Shape] = []
        response = event.get("response")
        if not isinstance(response, dict):
            if response is not None:
                problems.append(Shape("response", "an object"))
            response = {}
        response_id = response.get("id")
        if not isinstance(response_id, str) or not response_id:
            response_id = self.flow.active or ""
        had_call, cut = self.flow.done(response_id)
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
            except Shape as exc:
                problems.append(exc)
        reason = stop_reason(response, had_call)
        if reason == "cancelled" and cut:
            reason = "interrupted"  # cancelled at the agent's request: the user spoke
        out.append(BidiResponseCompleteEvent(response_id, reason))
        out.extend(self._malformed(event, problem) for problem in problems)
        self.flow.maybe_create()
        return out

    @staticmethod
    def _usage(response: dict[str, Any], response_id: str) -> BidiUsageEvent:
        usage = obj(response, "usage", "response.")
        counts = [
            integer(usage, name, "response.usage.")
            for name in ("input_tokens", "output_tokens", "total_tokens")
        ]
        details_out = {
            k: v
            for k, v in usage.items()
            if k not in ("input_tokens", "output_tokens", "total_tokens")
        }
        return BidiUsageEvent(counts[0], counts[1], counts[2], response_id or None, details_out)

    # user speech ------------------------------------------------------------

    def _on_speech_started(self, event: dict[str, Any]) -> Events:
        # a fact: whether it interrupts the assistant is the agent's decision
        self._turn_open = True
        self._speech_stopped_t = None
        return [
            BidiSpeechEvent("started", text(event, "item_id"), integer(event, "audio_start_ms"))
        ]

    def _on_speech_stopped(self, event: dict[str, Any]) -> Events:
        speech = BidiSpeechEvent("stopped", text(event, "item_id"), integer(event, "audio_end_ms"))
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
        session = obj(event, "session")
        session_id = text(session, "id", "session.")
        if event.get("type") == "session.created":
            self.session_created = True
            self.session_id = session_id
        else:
            self.session_updated = True
        audio = session.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("input"), dict):
            self._create_on_commit = create_on_commit(audio["input"].get("turn_detection"))
        return _NONE

    def _on_error(self, event: dict[str, Any]) -> Events:
        error = event.get("error")
        if isinstance(error, str):  # not the documented shape, but plainly an error
            error = {"message": error}
        elif error is None:
            error = {}
        elif not isinstance(error, dict):
            raise Shape("error", "an object")
        code = text(error, "code", "error.")
        kind = text(error, "type", "error.")
        message = self._clean(str(error.get("message") or "unknown error"))
        param = text(error, "param", "error.")
        event_id = error.get("event_id")
        if code == "conversation_already_has_active_response":
            # A response the server started by itself (VAD) raced ours: ask
            # again once it is done, and keep the user out of it.
            self.flow.raced()
            return _NONE
        if code in QUIET_CODES:
            return _NONE
        fatal = fatal_error(
            code=code,
            kind=kind,
            message=message,
            param=param,
            event_id=event_id,
            model_id=self.model_id,
        )
        if fatal is not None:
            raise fatal
        if event_id == TOOLS_EVENT_ID:
            # the session keeps its previous tools; say so, the conversation goes on
            message = f"the server refused the changed tool list: {message}"
            return [BidiErrorEvent(message, code, param, None)]
        if event_id == TRUNCATE_EVENT_ID:
            # e.g. the audio is already shorter than asked: the server keeps what it has
            logger.debug("the server refused our truncate: %s", message)
            return _NONE
        if event_id in (CREATE_EVENT_ID, None):
            # An error while our response.create waits for response.created is
            # its refusal (the service does not always echo the event_id): no
            # answer is coming, so stop waiting and let later turns go.
            self.flow.refused()
        return [BidiErrorEvent(message, code, param, None)]
