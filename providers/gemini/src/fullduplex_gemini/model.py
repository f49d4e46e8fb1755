"""``BidiGeminiLiveModel``: the Gemini Live protocol as a ``BidiModel``.

The pieces: :mod:`.config` validated the user's dicts once, :mod:`.transport`
opens the websocket and maps close codes, :mod:`.protocol` builds and reads
every frame, :mod:`.history` replays a conversation. ``receive()`` reads the
socket and runs the protocol inline (no queue per audio chunk).

Reconnecting is shaped by session resumption. The setup asks for it, the
protocol keeps the latest resumable handle, and ``start()`` on this same object
resumes with it (the ``messages`` are then *not* replayed: the server restored
its own state) or, without one, replays them as ``clientContent`` turns.
A connection is renewed, with a restartable :class:`ModelConnectionError`
from ``receive()`` that the agent answers with ``stop()`` + ``start()``:

- after ``goAway`` (``reason="go_away"``): at the next pause (nothing streaming,
  no answer or tool result owed), or at the latest a safety margin before
  ``timeLeft`` runs out (the socket is then closed by the client);
- at ``client_config['timeout_s']`` (``reason="timeout"``), the same way;
- after a drop or a 1011 (the server's reason kept in the message).

A 1008 while resuming means the handle is no longer known: it is dropped and
the next ``start()`` replays the history instead.
"""

from __future__ import annotations

import asyncio
import logging
from binascii import b2a_base64
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
import orjson

from fullduplex.errors import EventError, ModelConnectionError, ModelError, ModelTimeoutError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioTruncateEvent,
    BidiConnectionStartEvent,
    BidiImageInputEvent,
    BidiInputEvent,
    BidiOutputEvent,
    BidiTextInputEvent,
    ToolResultEvent,
)
from fullduplex.model import ModelCapabilities
from fullduplex.websocket_client import STOP_CLOSE_TIMEOUT_S

from . import transport
from .audio_convert import InputAudioConverter, output_converter_factory
from .config import ResolvedConfig, auth_headers, current_key, resolve
from .history import history_message, needs_answer
from .protocol import LiveProtocol
from .wire import DEFAULT_MODEL, WIRE_INPUT_RATE

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from fullduplex.messages import Message
    from fullduplex.tools import ToolSpec

logger = logging.getLogger("fullduplex_gemini.model")

_AUDIO_HEAD: Final = b'{"realtimeInput":{"audio":{"data":"'
_AUDIO_TAIL: Final = b'","mimeType":"audio/pcm;rate=16000"}}}'

#: What this provider can do, in the capability names of the phase-3 core. Fields the
#: installed ``ModelCapabilities`` does not have yet are left out (see ``_capabilities``).
CAPABILITY_FLAGS: Final[Mapping[str, Any]] = {
    "truncation": False,
    "server_turn_detection": True,
    "server_interrupts": True,
    "resumption": True,
    "mid_session_history": False,
    "input_rates": (WIRE_INPUT_RATE,),
    "response_cancel": False,
    "restartable": True,
    "image_input": True,
    # the Live API takes tools in the setup message only: a changed list waits
    # for the next connection
    "tool_update": False,
}


def _capabilities(**values: Any) -> ModelCapabilities:
    """``ModelCapabilities`` with every field it knows of ``values``."""
    known = {field.name for field in attrs.fields(ModelCapabilities)}
    return ModelCapabilities(**{k: v for k, v in values.items() if k in known})


def _renew_margin(time_left: float) -> float:
    """How long before a ``goAway`` deadline the client closes, pause or not."""
    return min(5.0, time_left / 2)


class _Connection:
    """One websocket and the flags that say how it ends."""

    __slots__ = ("closing_task", "handles", "renew", "renew_closing", "resumed", "stopping", "ws")

    def __init__(self, ws: ClientConnection, resumed: bool) -> None:
        self.ws = ws
        self.resumed = resumed
        self.stopping = False
        #: why this connection must be renewed at the next pause ("go_away", "timeout")
        self.renew: str | None = None
        self.renew_closing = False
        self.handles: list[asyncio.TimerHandle] = []
        self.closing_task: asyncio.Task[None] | None = None


class BidiGeminiLiveModel:
    """A speech-to-speech conversation with a Gemini Live model.

    ``provider_config``: ``audio`` (``voice``, ``input_rate``, ``output_rate``,
    ``channels``, ``format``), ``inference`` (setup fields merged into the
    setup: ``generationConfig`` members, ``realtimeInputConfig``,
    ``contextWindowCompression``, ``proactivity``, transcription...), ``tools``
    (``{name: {"behavior": "NON_BLOCKING", "scheduling": "WHEN_IDLE"}}``),
    ``text_input`` and ``resumption``. ``client_config``: ``api_key`` (or
    ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``), ``api_version``, ``base_url``,
    ``timeout_s``, ``connect_timeout_s``, keepalive, ``max_frame_bytes``, and
    Vertex AI's ``vertexai`` / ``project`` / ``location`` / ``access_token``.
    Everything is validated here, once (:class:`~fullduplex.errors.ConfigurationError`).
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        provider_config: Mapping[str, Any] | None = None,
        client_config: Mapping[str, Any] | None = None,
    ) -> None:
        config, key = resolve(model_id, provider_config, client_config)
        self._config: ResolvedConfig = config
        self._key_source = key
        self._secrets: tuple[str, ...] = ()
        self._capabilities = _capabilities(
            input_sample_rate=config.input_rate,
            output_sample_rate=config.output_rate,
            channels=config.channels,
            audio_format="pcm16",
            **CAPABILITY_FLAGS,
        )
        self._protocol = LiveProtocol(
            base_setup=config.base_setup,
            output_rate=config.output_rate,
            output_channels=config.channels,
            tool_options=config.tools,
            text_input=config.text_input,
            output_converter=output_converter_factory(config.output_rate, config.channels),
        )
        self._input = InputAudioConverter()
        self._conn: _Connection | None = None
        self._early: list[BidiOutputEvent] = []

    def __repr__(self) -> str:
        return f"BidiGeminiLiveModel(model_id={self._config.model_id!r}, url={self._config.url!r})"

    @property
    def model_id(self) -> str:
        """The model id given at construction."""
        return self._config.model_id

    @property
    def capabilities(self) -> ModelCapabilities:
        """16 kHz in, 24 kHz out on the wire; no truncation; the server interrupts itself."""
        return self._capabilities

    @property
    def answer_pending(self) -> bool:
        """An answer is owed and has not begun (read by ``BidiAgent.run()``)."""
        return self._protocol.answer_pending or self._protocol.tools_pending

    @property
    def resumption_handle(self) -> str | None:
        """The latest resumable handle; the next ``start()`` resumes with it."""
        return self._protocol.resumption_handle

    @resumption_handle.setter
    def resumption_handle(self, handle: str | None) -> None:
        """Resume a session saved elsewhere (or ``None`` to start afresh) at the next start."""
        if handle is not None and (not isinstance(handle, str) or not handle):
            raise EventError("resumption_handle: expected a non-empty str or None")
        self._protocol.resumption_handle = handle

    @property
    def go_away_time_left(self) -> float | None:
        """The ``timeLeft`` (seconds) of the server's last ``goAway`` on this connection."""
        return self._protocol.go_away_s

    @property
    def resumed(self) -> bool:
        """Whether the current connection resumed a session (no history was replayed)."""
        return self._conn is not None and self._conn.resumed

    @property
    def setup(self) -> dict[str, Any]:
        """The setup sent to the server (without tools, prompt and handle)."""
        return dict(self._config.base_setup)

    # ------------------------------------------------------------ lifecycle

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        """Connect and send the setup; resume with the handle, or replay ``messages``."""
        if self._conn is not None:
            await self.stop()
        proto = self._protocol
        proto.reset()
        self._input.reset()
        self._early = []
        config = self._config
        handle = proto.resumption_handle if config.resumption else None
        key = await current_key(self._key_source, vertexai=config.vertexai)
        self._secrets = (key.get_secret_value(),)
        ws = await transport.connect(
            config.url,
            auth_headers(config, key),
            open_timeout=config.connect_timeout_s,
            ping_interval=config.ping_interval_s,
            ping_timeout=config.ping_timeout_s,
            max_size=config.max_frame_bytes,
            secrets=self._secrets,
        )
        conn = _Connection(ws, resumed=handle is not None)
        self._conn = conn
        try:
            async with asyncio.timeout(config.connect_timeout_s):
                await self._send_json(
                    conn, proto.setup_message(system_prompt, tools, handle=handle)
                )
                while not proto.setup_complete:
                    raw = await ws.recv(decode=False)
                    self._early.extend(self._handle_raw(raw))
                history = list(messages or ())
                if handle is None and history:
                    replay = history_message(history)
                    if replay is not None:
                        await self._send_json(conn, replay)
                        proto.answer_pending = needs_answer(history)
                await self._flush(conn)
        except TimeoutError as exc:
            await self._abandon(conn)
            raise ModelConnectionError(
                f"the server did not complete the setup within {config.connect_timeout_s:g} s",
                code="setup_timeout",
            ) from exc
        except BaseException as exc:
            await self._abandon(conn)
            mapped = self._map_closed(exc, during="start")
            if (
                mapped is not None
                and handle is not None
                and getattr(mapped, "close_code", 0) == 1008
            ):
                # the server no longer knows the session: replay the history next time
                proto.resumption_handle = None
                raise ModelConnectionError(
                    f"the server refused the resumption handle ({mapped}); the next connection "
                    "replays the history",
                    code="resumption_rejected",
                ) from exc
            if mapped is not None:
                raise mapped from exc
            raise
        self._early.insert(
            0, BidiConnectionStartEvent(proto.session_id or proto.tag, config.model_id)
        )
        self._schedule_timeout(conn)
        logger.debug("connected to %s (resumed=%s)", config.url, conn.resumed)

    async def stop(self) -> None:
        """Close the connection; ends a running ``receive()``. Safe to call twice."""
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        conn.stopping = True
        await self._abandon(conn)

    async def _abandon(self, conn: _Connection) -> None:
        for handle in conn.handles:
            handle.cancel()
        conn.handles.clear()
        task = conn.closing_task
        if task is not None and not task.done():
            task.cancel()
        conn.ws.close_timeout = STOP_CLOSE_TIMEOUT_S
        try:
            await conn.ws.close()
        except Exception:  # a broken socket is closed all the same
            logger.debug("error while closing the websocket", exc_info=True)
        if task is not None:
            try:
                await task
            except BaseException:  # cancelled or failed: either way it is over
                logger.debug("renewal close task ended", exc_info=True)
        if self._conn is conn:
            self._conn = None

    # ------------------------------------------------------- renewals

    def _schedule_timeout(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        timeout = self._config.timeout_s
        soft = timeout - min(120.0, timeout * 0.2)
        conn.handles.append(loop.call_later(soft, self._renew_due, conn, "timeout"))
        conn.handles.append(loop.call_later(timeout, self._close_for_renewal, conn, "timeout"))

    def _renew_due(self, conn: _Connection, reason: str) -> None:
        if conn.renew is None:
            conn.renew = reason
        if self._protocol.at_pause():
            self._close_for_renewal(conn, reason)

    def _close_for_renewal(self, conn: _Connection, reason: str) -> None:
        if conn.renew_closing or conn.stopping:
            return
        conn.renew = conn.renew or reason
        conn.renew_closing = True
        conn.closing_task = asyncio.ensure_future(conn.ws.close(1000, f"client renewal: {reason}"))

    def _on_go_away(self, conn: _Connection, time_left: float) -> None:
        """Renew at the next pause; close a margin before ``timeLeft`` at the latest."""
        conn.renew = conn.renew or "go_away"
        loop = asyncio.get_running_loop()
        delay = max(0.0, time_left - _renew_margin(time_left))
        conn.handles.append(loop.call_later(delay, self._close_for_renewal, conn, "go_away"))

    def _renewal_error(self, conn: _Connection) -> ModelConnectionError:
        if conn.renew == "timeout":
            return ModelTimeoutError(
                f"the connection reached client_config timeout_s={self._config.timeout_s:g} s; "
                "a new connection resumes the session",
                code="timeout_s",
            )
        left = self._protocol.go_away_s
        return ModelConnectionError(
            f"the server announced the end of this connection (goAway, timeLeft {left:g} s); "
            "a new connection resumes the session",
            code="go_away",
            reason="go_away",
        )

    # ------------------------------------------------------------- receive

    def _handle_raw(self, raw: str | bytes) -> list[BidiOutputEvent]:
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._protocol.malformed_frame(str(exc))
        return self._protocol.handle(parsed)

    def _map_closed(self, exc: BaseException, *, during: str) -> ModelError | None:
        from websockets.exceptions import ConnectionClosed

        if not isinstance(exc, ConnectionClosed):
            return None
        sent = exc.sent
        if sent is not None and sent.code == 1009:
            return transport.frame_too_big_error(self._config.max_frame_bytes)
        frame = exc.rcvd
        if frame is None:
            return ModelConnectionError(
                f"the connection was lost during {during} (no close frame)",
                code="connection_lost",
            )
        return transport.close_error(frame.code, frame.reason, during=during, secrets=self._secrets)

    async def receive(self) -> AsyncIterator[BidiOutputEvent]:
        """Yield output events until the connection ends (see the module docstring)."""
        from websockets.exceptions import ConnectionClosed

        conn = self._conn
        if conn is None:
            return
        early, self._early = self._early, []
        for event in early:
            yield event
        proto = self._protocol
        recv = conn.ws.recv
        handle = proto.handle
        loads = orjson.loads
        go_away_seen = proto.go_away_s is not None
        if go_away_seen:
            self._on_go_away(conn, proto.go_away_s or 0.0)
        while True:
            if conn.renew is not None and proto.at_pause() and not conn.stopping:
                conn.renew_closing = True
                await self._abandon(conn)
                raise self._renewal_error(conn)
            try:
                raw = await recv(decode=False)
            except ConnectionClosed as exc:
                if conn.stopping:
                    return
                if conn.renew_closing:
                    raise self._renewal_error(conn) from None
                mapped = self._map_closed(exc, during="receive")
                raise (mapped or ModelConnectionError("the connection closed")) from exc
            try:
                parsed = loads(raw)
            except orjson.JSONDecodeError as exc:
                events = proto.malformed_frame(str(exc))
            else:
                events = handle(parsed)
            for event in events:
                yield event
            if conn.stopping:
                return
            if proto.outbox:
                await self._flush(conn)
            if not go_away_seen and proto.go_away_s is not None:
                go_away_seen = True
                self._on_go_away(conn, proto.go_away_s)

    # ---------------------------------------------------------------- send

    async def send(self, event: BidiInputEvent) -> None:
        """Send one input event; raises :class:`EventError` for one it cannot take."""
        conn = self._conn
        if conn is None:
            raise ModelConnectionError("the model is not connected; call start() first")
        proto = self._protocol
        if isinstance(event, BidiAudioInputEvent):
            data = self._input.convert(event)
            if data:
                await self._send_raw(
                    conn, _AUDIO_HEAD + b2a_base64(data, newline=False) + _AUDIO_TAIL
                )
            return
        if isinstance(event, BidiTextInputEvent):
            proto.text_input(event.text, event.role)
        elif isinstance(event, ToolResultEvent):
            if not proto.tool_result(event.call_id, event.name, event.content, event.status):
                logger.debug("result of cancelled call %s not sent", event.call_id)
        elif isinstance(event, BidiImageInputEvent):
            proto.image_input(
                b2a_base64(event.image, newline=False).decode("ascii"), event.mime_type
            )
        elif isinstance(event, BidiAudioTruncateEvent):
            # No truncation on this protocol (capabilities.truncation is False): the
            # server keeps what it sent; the agent trims its own history instead.
            logger.debug("truncation is not part of the Gemini Live protocol; ignored")
            return
        else:
            raise EventError(
                f"event: {type(event).__name__} cannot be sent to the model; accepted: "
                "BidiTextInputEvent, BidiAudioInputEvent, BidiImageInputEvent, ToolResultEvent"
            )
        await self._flush(conn)

    async def _flush(self, conn: _Connection) -> None:
        proto = self._protocol
        while proto.outbox:
            pending, proto.outbox = proto.outbox, []
            for message in pending:
                await self._send_raw(conn, orjson.dumps(message))

    async def _send_json(self, conn: _Connection, message: dict[str, Any]) -> None:
        await self._send_raw(conn, orjson.dumps(message))

    async def _send_raw(self, conn: _Connection, frame: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await conn.ws.send(frame, text=True)
        except ConnectionClosed as exc:
            if conn.stopping:
                return
            if conn.renew_closing:
                raise self._renewal_error(conn) from exc
            mapped = self._map_closed(exc, during="send")
            raise (mapped or ModelConnectionError("the connection is closed")) from exc
