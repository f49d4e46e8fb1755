"""One Realtime session's protocol state machine, without I/O.

``RealtimeSession`` takes client events (JSON text or dicts) and returns the
server frames to send, in order. It never touches a socket or a clock-driven
timer, so tests drive it directly. Responses stream over time: ``handle`` only
starts them (``response.created``), and the transport calls ``pump`` to take the
next frames whenever it is ready to send, pacing audio as it likes. Barge-in,
``response.cancel`` and truncation act on that state between pumps, so the
frames sent always describe exactly what the client has seen.

Each client event type has one handler, named in ``HANDLERS`` (the dispatch
table) and kept in a module per concern: ``input_audio``, ``items``,
``responses`` (whose frames ``streaming`` produces). The state they share is
``state.SessionState``.

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

import logging
from collections.abc import Callable, Mapping
from typing import Final

import orjson

from fullduplex_emulator.frames import MALFORMED, Frame

from . import input_audio, items, responses
from .errors import RealtimeProtocolError, invalid_type, invalid_value, unknown_parameter
from .state import Json, SessionState
from .streaming import stream
from .validation import merge_session_update

MAX_EVENT_ID_CHARS: Final = 512

logger = logging.getLogger("fullduplex_openai.emulator")


def log_refusal(
    where: str, event_type: str, exc: RealtimeProtocolError, event_id: str | None = None
) -> None:
    """Log one refused client event or request: what it was, which field, and why."""
    logger.info(
        "%s refused %s: field %s: %s (code %s, event_id %s)",
        where,
        event_type,
        exc.param or "-",
        exc.message,
        exc.code,
        event_id or "-",
    )


Handler = Callable[[SessionState, Json], list[Frame]]


def _on_session_update(state: SessionState, event: Json) -> list[Frame]:
    if "session" not in event:
        raise RealtimeProtocolError(
            "missing_required_parameter", "Missing required parameter: 'session'.", "session"
        )
    state.config = merge_session_update(
        state.config, event["session"], voice_locked=state.voice_locked
    )
    state.configure_vad()
    return [state.frame("session.updated", session=state.config)]


#: client event type -> (the keys it may carry, its handler)
HANDLERS: Final[Mapping[str, tuple[frozenset[str], Handler]]] = {
    "session.update": (frozenset({"type", "event_id", "session"}), _on_session_update),
    "input_audio_buffer.append": (
        frozenset({"type", "event_id", "audio"}),
        input_audio.on_append,
    ),
    "input_audio_buffer.commit": (frozenset({"type", "event_id"}), input_audio.on_commit),
    "input_audio_buffer.clear": (frozenset({"type", "event_id"}), input_audio.on_clear),
    "conversation.item.create": (
        frozenset({"type", "event_id", "item", "previous_item_id"}),
        items.on_create,
    ),
    "conversation.item.retrieve": (
        frozenset({"type", "event_id", "item_id"}),
        items.on_retrieve,
    ),
    "conversation.item.truncate": (
        frozenset({"type", "event_id", "item_id", "content_index", "audio_end_ms"}),
        items.on_truncate,
    ),
    "conversation.item.delete": (frozenset({"type", "event_id", "item_id"}), items.on_delete),
    "response.create": (frozenset({"type", "event_id", "response"}), responses.on_create),
    "response.cancel": (frozenset({"type", "event_id", "response_id"}), responses.on_cancel),
    "output_audio_buffer.clear": (
        frozenset({"type", "event_id"}),
        input_audio.on_output_audio_buffer_clear,
    ),
}


class RealtimeSession(SessionState):
    """The protocol state of one connection. See the module docstring."""

    # ------------------------------------------------------------------ public API

    def open(self) -> list[Frame]:
        """The frames sent as soon as the connection is accepted (``session.created``)."""
        return [self.frame("session.created", session=self.config)]

    def has_pending_output(self) -> bool:
        """Whether ``pump`` has frames to give."""
        return bool(self.runs)

    def next_response_id(self) -> str | None:
        """The response whose output the next ``pump`` starts, if it has not started yet.

        The transport applies response delays (a fault) there.
        """
        if self.runs and not self.runs[0].started:
            return self.runs[0].id
        return None

    @property
    def idle_deadline(self) -> float | None:
        """The clock time at which server VAD's idle timeout fires, or ``None`` if it is not armed.

        Armed by each ``response.done`` (counting from the end of that response's audio
        playback) while ``turn_detection`` is server VAD with ``idle_timeout_ms`` set;
        disarmed by speech starting, by a new response, and while any response runs.
        """
        turn_detection = self.turn_detection
        if (
            self.runs
            or turn_detection is None
            or turn_detection["type"] != "server_vad"
            or turn_detection.get("idle_timeout_ms") is None
            or (self.vad is not None and self.vad.in_speech)
        ):
            return None
        return self.idle.deadline(int(turn_detection["idle_timeout_ms"]) / 1000)

    def tick(self, now: float | None = None) -> list[Frame]:
        """The frames due by ``now`` (default: the session's clock): an idle timeout, if any.

        When it fires: ``input_audio_buffer.timeout_triggered``, the commit of the buffered
        (silent) audio as a user item, and ``response.created`` for the model's prompt to
        the user (whose frames then come from ``pump``), as in §5 (f) of the reference.
        """
        deadline = self.idle_deadline
        if deadline is None:
            return []
        if (self.clock() if now is None else now) < deadline:
            return []
        return input_audio.idle_timeout(self)

    def pump(self, max_frames: int = 64, max_audio_ms: int | None = None) -> list[Frame]:
        """Up to ``max_frames`` further frames of the running responses, in order.

        Stops early once ``max_audio_ms`` of audio is included (for real-time pacing).
        """
        frames: list[Frame] = []
        audio_ms = 0
        while self.runs and len(frames) < max_frames:
            run = self.runs[0]
            if run.stream is None:
                run.started = True
                run.stream = stream(self, run)
            for frame in run.stream:
                frames.append(frame)
                audio_ms += frame.audio_ms
                if len(frames) >= max_frames or (
                    max_audio_ms is not None and audio_ms >= max_audio_ms
                ):
                    return frames
            # the stream ended, and finishing removed the run; make sure of it
            if self.runs and self.runs[0] is run:
                self.runs.pop(0)
            if max_audio_ms is not None and audio_ms >= max_audio_ms:
                break
        return frames

    def handle(self, message: str | bytes | Json) -> list[Frame]:
        """Process one client event; return the immediate replies (errors included).

        Every refusal is also logged (INFO on ``fullduplex_openai.emulator``) with the
        event type and the field at fault, for whoever runs the emulator: the client
        alone sees the ``error`` event otherwise.
        """
        client_event_id: str | None = None
        event_type = "<unparsed>"
        try:
            event = self._decode(message)
            event_type = str(event["type"])
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("session %s received %s", self.config["id"], event_type)
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
            keys, handler = HANDLERS[event["type"]]
            for key in event:
                if key not in keys:
                    raise unknown_parameter(key)
            return handler(self, event)
        except RealtimeProtocolError as exc:
            log_refusal(self.config["id"], event_type, exc, client_event_id)
            return [self.error_frame(exc, client_event_id)]

    @staticmethod
    def _decode(message: str | bytes | Json) -> Json:
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
        if event["type"] not in HANDLERS:
            supported = ", ".join(f"'{name}'" for name in HANDLERS)
            raise invalid_value("type", event["type"], supported)
        return event

    # ------------------------------------------------------------------ injected failures

    def server_error_frame(self, message: str) -> Frame:
        """An ``error`` event of type ``server_error`` (a transient error; the session stays)."""
        error = RealtimeProtocolError("server_error", message, error_type="server_error")
        return self.error_frame(error, None)

    def session_expired_frame(self, message: str) -> Frame:
        """The ``session_expired`` error sent when the session cap is reached."""
        return self.error_frame(RealtimeProtocolError("session_expired", message), None)

    def malformed_frame(self) -> Frame:
        """The start of an audio delta, cut off: not JSON."""
        return Frame(MALFORMED, b'{"type": "response.output_audio.delta", "delta": ')
