"""``BidiOpenAIRealtimeModel``: the OpenAI Realtime GA protocol as a ``BidiModel``.

It ties the pieces together: :mod:`.config` validated the user's dicts once,
:mod:`.transport` opens the websocket, :mod:`.protocol` holds every wire shape
(in and out, replay items and input audio frames included) and the response
lifecycle. This module only moves frames and runs timers: ``start()`` and
``receive()`` hand each frame to the same
:meth:`~.protocol.RealtimeProtocol.handle_frame`; ``receive()`` reads the
socket itself, with no queue or task hop per event, because that loop is the
hot path (one iteration per audio chunk).

Connection lifetime: ``client_config["timeout_s"]`` ends a connection before
the provider's session cap, at a natural pause when one comes (no response
streaming, no user turn open, no tool pending), otherwise at the deadline. It
surfaces as :class:`~fullduplex.errors.ModelTimeoutError` from ``receive()``;
the agent then calls ``stop()`` and ``start(..., messages=history)`` on this
same object, which works as many times as needed.

How a connection ends: ``stop()`` closes it at once (it waits at most
:data:`fullduplex.websocket_client.STOP_CLOSE_TIMEOUT_S` for the server's close frame, then
drops the socket). Any close the client did not ask for, even a clean 1000,
raises a restartable :class:`~fullduplex.errors.ModelConnectionError`
(``code="closed_by_server"``) from ``receive()``: the conversation was not
over, so the agent reconnects. A malformed frame is reported as a
:class:`~fullduplex.events.BidiErrorEvent` and the conversation goes on; an
incoming message over ``client_config['max_frame_bytes']`` is a
:class:`~fullduplex.errors.ModelProtocolError`.

A requested answer the server never starts is given up after
``client_config['response_start_timeout_s']`` (a timer calls
:meth:`~.protocol.RealtimeProtocol.expire_create`), so later turns are not
blocked behind it.
"""

from __future__ import annotations

import asyncio
import logging
from binascii import b2a_base64
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from fullduplex.errors import (
    EventError,
    ModelConnectionError,
    ModelError,
    ModelTimeoutError,
)
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioTruncateEvent,
    BidiConnectionStartEvent,
    BidiImageInputEvent,
    BidiInputEvent,
    BidiOutputEvent,
    BidiResponseCancelEvent,
    BidiTextInputEvent,
    ToolResultEvent,
)
from fullduplex.model import ModelCapabilities
from fullduplex.websocket_client import STOP_CLOSE_TIMEOUT_S

from . import transport
from .audio_convert import InputAudioConverter, output_converter_factory
from .config import ResolvedConfig, auth_headers, current_key, resolve
from .protocol import RealtimeProtocol

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from fullduplex.messages import Message
    from fullduplex.tools import ToolSpec

logger = logging.getLogger("fullduplex_openai.model")


def _soft_margin(timeout_s: float) -> float:
    """How long before the deadline to start looking for a pause."""
    return min(120.0, timeout_s * 0.2)


class _Connection:
    """One websocket and the flags that tell how it ended."""

    __slots__ = (
        "closing_task",
        "create_deadline",
        "create_timer",
        "flush_task",
        "handles",
        "stopping",
        "timeout_closing",
        "timeout_due",
        "ws",
    )

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.stopping = False
        self.timeout_due = False
        self.timeout_closing = False
        self.handles: list[asyncio.TimerHandle] = []
        self.closing_task: asyncio.Task[None] | None = None
        #: the response.create deadline the timer is armed for
        self.create_deadline: float | None = None
        self.create_timer: asyncio.TimerHandle | None = None
        #: sends what the create timer released (a held line), outside receive()
        self.flush_task: asyncio.Task[None] | None = None


class BidiOpenAIRealtimeModel:
    """A speech-to-speech conversation with an OpenAI Realtime model (GA protocol).

    ``provider_config`` holds ``audio`` (voice, input/output rate, channels,
    format) and ``inference`` (any GA ``session.update`` field, deep-merged into
    the session); ``client_config`` holds the key (a string, or a sync or async
    callable returning one, called on every connect), ``organization``,
    ``project``, ``timeout_s``, ``connect_timeout_s``, ``base_url`` /
    ``websocket_base_url``, the Azure ``azure_endpoint`` / ``azure_deployment``,
    the keepalive ``ping_interval_s`` / ``ping_timeout_s`` (20 s each; ``None``
    disables), ``max_frame_bytes`` (16 MiB) and ``response_start_timeout_s``
    (15 s). Everything is validated here, once; a bad value raises
    :class:`~fullduplex.errors.ConfigurationError`.
    """

    def __init__(
        self,
        model_id: str = "gpt-realtime",
        provider_config: Mapping[str, Any] | None = None,
        client_config: Mapping[str, Any] | None = None,
    ) -> None:
        config, key = resolve(model_id, provider_config, client_config)
        self._config: ResolvedConfig = config
        self._key_source = key
        #: the key of the current connection, redacted from server text
        self._secrets: tuple[str, ...] = ()
        self._protocol = proto = RealtimeProtocol(
            model_id=model_id,
            base_session=config.base_session,
            wire_format=config.format,
            output_rate=config.output_rate,
            output_channels=config.channels,
            output_converter=output_converter_factory(
                config.wire_rate, config.output_rate, config.channels
            ),
            create_timeout_s=config.response_start_timeout_s,
        )
        self._capabilities = ModelCapabilities(
            input_sample_rate=config.input_rate,
            output_sample_rate=config.output_rate,
            channels=config.channels,
            audio_format=config.format,
            image_input=True,
            truncation=True,
            restartable=True,
            server_turn_detection=proto.server_turn_detection,
            server_interrupts=proto.server_interrupts,
            response_cancel=True,
            resumption=False,
            mid_session_history=True,
            input_rates=(config.input_rate,),
            tool_update=True,
        )
        self._input = InputAudioConverter(config.format, config.wire_rate)
        self._conn: _Connection | None = None
        self._early: list[BidiOutputEvent] = []
        #: events produced outside receive() (the create timer), yielded next
        self._late: list[BidiOutputEvent] = []
        #: the last connection died while an answer was owed or streaming
        self._cut_off = False

    def __repr__(self) -> str:
        return (
            f"BidiOpenAIRealtimeModel(model_id={self._config.model_id!r}, url={self._config.url!r})"
        )

    @property
    def model_id(self) -> str:
        """The model name sent in the connection URL."""
        return self._config.model_id

    @property
    def capabilities(self) -> ModelCapabilities:
        """Rates and format at the SDK boundary; truncation and images supported."""
        return self._capabilities

    @property
    def answer_pending(self) -> bool:
        """An answer is owed and not yet begun (read by ``BidiAgent.run()``)."""
        return self._protocol.answer_pending

    @property
    def session_config(self) -> dict[str, Any]:
        """The session sent in ``session.update`` (without tools and instructions)."""
        return dict(self._config.base_session)

    # ------------------------------------------------------------ lifecycle

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        """Connect, configure the session, replay ``messages``; wait for the server's yes."""
        if self._conn is not None:
            await self.stop()
        proto = self._protocol
        proto.reset()
        self._input.reset()
        self._early = []
        self._late = []
        config = self._config
        key = await current_key(self._key_source)
        self._secrets = (key.get_secret_value(),)
        proto.secrets = self._secrets
        ws = await transport.connect(
            config.url,
            auth_headers(config, key),
            open_timeout=config.connect_timeout_s,
            ping_interval=config.ping_interval_s,
            ping_timeout=config.ping_timeout_s,
            max_size=config.max_frame_bytes,
            secrets=self._secrets,
        )
        conn = _Connection(ws)
        self._conn = conn
        try:
            async with asyncio.timeout(config.connect_timeout_s):
                await self._send_json(conn, proto.session_update(system_prompt, tools))
                for event in proto.replay(list(messages or ()), cut_off=self._cut_off):
                    await self._send_json(conn, event)
                await self._flush(conn)
                while not (proto.session_created and proto.session_updated):
                    self._early.extend(proto.handle_frame(await ws.recv(decode=False)))
                    await self._flush(conn)
            # Only a confirmed session has taken the owed answer over: a start
            # that fails before this leaves it owed to the next attempt.
            self._cut_off = False
        except TimeoutError as exc:
            await self._abandon(conn)
            raise ModelConnectionError(
                f"the server did not confirm the session within {config.connect_timeout_s:g} s",
                code="session_timeout",
            ) from exc
        except BaseException as exc:
            await self._abandon(conn)
            mapped = self._map_closed(exc, during="start")
            if mapped is not None:
                raise mapped from exc
            raise
        self._early.insert(0, BidiConnectionStartEvent(proto.session_id or "", config.model_id))
        self._schedule_deadlines(conn)
        logger.debug("connected to %s (session %s)", config.url, proto.session_id)

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
        if conn.create_timer is not None:
            conn.create_timer.cancel()
            conn.create_timer = None
        flush = conn.flush_task
        if flush is not None and not flush.done():
            flush.cancel()
            try:
                await flush
            except BaseException:  # cancelled or failed: the socket closes anyway
                logger.debug("flush task ended", exc_info=True)
        task = conn.closing_task
        if task is not None and not task.done():
            task.cancel()
        # Do not wait the library's 5 s for a close frame a busy or stalled peer
        # may never get to (or that sits behind unread frames): close, then drop.
        conn.ws.close_timeout = STOP_CLOSE_TIMEOUT_S
        try:
            # websockets bounds only the wait for the peer's close frame, not the
            # write of ours: behind a full send buffer (a peer that stopped reading)
            # close() would wait for ever, so bound it all and drop the socket.
            async with asyncio.timeout(STOP_CLOSE_TIMEOUT_S):
                await conn.ws.close()
        except TimeoutError:
            conn.ws.transport.abort()
        except Exception:  # a broken socket is closed all the same
            logger.debug("error while closing the websocket", exc_info=True)
        if task is not None:
            try:
                await task
            except BaseException:  # cancelled or failed: either way it is over
                logger.debug("timeout close task ended", exc_info=True)
        if self._conn is conn:
            self._conn = None

    # ------------------------------------------------------- timeout_s deadlines

    def _schedule_deadlines(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        timeout = self._config.timeout_s
        now = loop.time()
        conn.handles.append(
            loop.call_at(now + timeout - _soft_margin(timeout), self._soft_deadline, conn)
        )
        conn.handles.append(loop.call_at(now + timeout, self._hard_deadline, conn))

    def _soft_deadline(self, conn: _Connection) -> None:
        conn.timeout_due = True
        if self._protocol.at_pause():
            self._close_for_timeout(conn)

    def _hard_deadline(self, conn: _Connection) -> None:
        conn.timeout_due = True
        self._close_for_timeout(conn)

    def _close_for_timeout(self, conn: _Connection) -> None:
        if conn.timeout_closing or conn.stopping:
            return
        conn.timeout_closing = True
        conn.closing_task = asyncio.ensure_future(conn.ws.close(1000, "client timeout_s"))

    def _timeout_error(self) -> ModelTimeoutError:
        return ModelTimeoutError(
            f"the connection reached client_config timeout_s={self._config.timeout_s:g} s; "
            "a new connection carries the conversation on",
            code="timeout_s",
        )

    # ------------------------------------------------------------- receive

    def _map_closed(self, exc: BaseException, *, during: str) -> ModelError | None:
        from websockets.exceptions import ConnectionClosed

        if not isinstance(exc, ConnectionClosed):
            return None
        sent = exc.sent
        if sent is not None and sent.code == 1009:  # we refused a message over the cap
            return transport.frame_too_big_error(self._config.max_frame_bytes)
        frame = exc.rcvd
        if frame is None:
            return ModelConnectionError(
                f"the connection was lost during {during} (no close frame)",
                code="connection_lost",
            )
        return transport.close_error(frame.code, frame.reason, during=during, secrets=self._secrets)

    # ------------------------------------------------- response.create deadline

    def _arm_create_timer(self, conn: _Connection) -> None:
        """Watch the response.create in flight (if any) for its deadline."""
        deadline = self._protocol.create_deadline
        if deadline == conn.create_deadline:
            return
        conn.create_deadline = deadline
        if conn.create_timer is not None:
            conn.create_timer.cancel()
            conn.create_timer = None
        if deadline is None:
            return
        delay = max(0.0, self._protocol.seconds_until(deadline))
        loop = asyncio.get_running_loop()
        conn.create_timer = loop.call_later(delay, self._create_due, conn)

    def _create_due(self, conn: _Connection) -> None:
        conn.create_timer = None
        conn.create_deadline = None
        if conn is not self._conn or conn.stopping:
            return
        proto = self._protocol
        self._late.extend(proto.expire_create())
        if proto.outbox and (conn.flush_task is None or conn.flush_task.done()):
            conn.flush_task = asyncio.ensure_future(self._flush_quietly(conn))
        else:
            self._arm_create_timer(conn)

    async def _flush_quietly(self, conn: _Connection) -> None:
        """Send what a timer released; a dead socket is receive()'s to report."""
        try:
            await self._flush(conn)
        except ModelError:
            logger.debug("could not send after the response.create deadline", exc_info=True)

    async def receive(self) -> AsyncIterator[BidiOutputEvent]:
        """Yield output events until the connection ends.

        Raises :class:`ModelConnectionError` (restartable) for a drop, the
        server's session cap or ``timeout_s``, and :class:`ModelAuthenticationError`
        / :class:`ModelProtocolError` for what a reconnect cannot fix.
        """
        from websockets.exceptions import ConnectionClosed

        conn = self._conn
        if conn is None:
            return
        early, self._early = self._early, []
        for event in early:
            yield event
        ws = conn.ws
        recv = ws.recv
        proto = self._protocol
        handle_frame = proto.handle_frame
        while True:
            try:
                raw = await recv(decode=False)  # orjson parses bytes: skip the str decode
            except ConnectionClosed as exc:
                if conn.stopping:
                    return
                self._note_cut_off()
                if conn.timeout_closing:
                    raise self._timeout_error() from None
                mapped = self._map_closed(exc, during="receive")
                raise (mapped or ModelConnectionError("the connection closed")) from exc
            if self._late:
                late, self._late = self._late, []
                for event in late:
                    yield event
            for event in handle_frame(raw):
                yield event
            if conn.stopping:
                return  # stop() ran while the consumer held an event
            if proto.outbox:
                await self._flush(conn)
            if conn.timeout_due and proto.at_pause() and not conn.stopping:
                conn.timeout_closing = True
                raise self._timeout_error()

    # ---------------------------------------------------------------- send

    async def send(self, event: BidiInputEvent) -> None:
        """Send one input event; raises :class:`EventError` for one it cannot take."""
        conn = self._conn
        if conn is None:
            raise ModelConnectionError("the model is not connected; call start() first")
        proto = self._protocol
        if isinstance(event, BidiAudioInputEvent):
            data = self._input.convert(event)
            if not data:
                return
            await self._send_raw(conn, proto.audio_append(data))
            return
        if isinstance(event, BidiTextInputEvent):
            proto.text_input(event.text, event.role)
        elif isinstance(event, ToolResultEvent):
            proto.tool_result(event.call_id, event.content)
        elif isinstance(event, BidiAudioTruncateEvent):
            proto.truncate(event.item_id, event.audio_end_ms)
        elif isinstance(event, BidiResponseCancelEvent):
            proto.cancel(event.response_id, event.reason)
        elif isinstance(event, BidiImageInputEvent):
            proto.image_input(
                b2a_base64(event.image, newline=False).decode("ascii"), event.mime_type
            )
        else:
            raise EventError(
                f"event: {type(event).__name__} cannot be sent to the model; accepted: "
                "BidiTextInputEvent, BidiAudioInputEvent, BidiImageInputEvent, "
                "ToolResultEvent, BidiAudioTruncateEvent, BidiResponseCancelEvent"
            )
        await self._flush(conn)

    async def update_tools(self, tools: Sequence[ToolSpec]) -> None:
        """Replace the live session's tools with a ``session.update`` carrying ``tools``.

        The server applies them from the next response on (a response under
        way keeps the tools it began with). Without a connection it does
        nothing: the next :meth:`start` is given the tools. A refusal arrives
        as a ``BidiErrorEvent`` from :meth:`receive`.
        """
        conn = self._conn
        if conn is None:
            return
        self._protocol.tools_update(tools)
        await self._flush(conn)

    async def _flush(self, conn: _Connection) -> None:
        proto = self._protocol
        while proto.outbox:
            pending, proto.outbox = proto.outbox, []
            for message in pending:
                await self._send_raw(conn, orjson.dumps(message))
        if proto.create_deadline != conn.create_deadline:
            self._arm_create_timer(conn)

    def _note_cut_off(self) -> None:
        """Remember, as the connection dies, whether the user was owed an answer."""
        proto = self._protocol
        self._cut_off = self._cut_off or proto.response_active or proto.answer_pending

    async def _send_json(self, conn: _Connection, message: dict[str, Any]) -> None:
        await self._send_raw(conn, orjson.dumps(message))

    async def _send_raw(self, conn: _Connection, frame: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await conn.ws.send(frame, text=True)
        except ConnectionClosed as exc:
            if conn.stopping:
                return  # stop() closed it on purpose: nothing is owed, nothing failed
            self._note_cut_off()
            if conn.timeout_closing:
                raise self._timeout_error() from exc
            mapped = self._map_closed(exc, during="send")
            raise (mapped or ModelConnectionError("the connection is closed")) from exc
