"""The emulator's transport: HTTP and WebSocket on one port, with aiohttp.

The official ``openai`` client derives the WebSocket URL from ``base_url`` and
POSTs ``/v1/realtime/client_secrets`` to the same base, so both must share a
port; aiohttp serves both (``websockets``' server cannot read request bodies).

This module only moves frames: authentication, the beta-shape refusal, the
session cap and fault injection happen here; the protocol lives in
``session.RealtimeSession``. One writer task per connection sends everything,
so replies to client events and streamed response frames never interleave out
of order, and audio pacing (``realtime`` / ``pace``) is applied only here.
The writer also wakes at the session's ``idle_deadline`` (read on the emulator's
``clock``) to ``tick`` it; with a fake clock, call ``Emulator.wake()`` after
moving it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

import orjson
from aiohttp import WSMsgType, web

from .errors import RealtimeProtocolError
from .faults import Faults
from .frames import Frame
from .ids import new_client_secret, new_id
from .responder import Responder
from .session import RealtimeSession
from .validation import (
    DEFAULT_MODEL,
    check_client_secret_request,
    default_session,
    merge_session_update,
)

DEFAULT_API_KEY: Final = "fullduplex-emulator-key"
_INSECURE_KEY_PROTOCOL: Final = "openai-insecure-api-key."
_BETA_PROTOCOL: Final = "openai-beta.realtime-v1"
_PUMP_FRAMES: Final = 256


def _http_error(
    status: int, message: str, code: str | None, param: str | None = None
) -> web.Response:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class _Dropped(Exception):
    """The connection was dropped on purpose (a fault); stop writing."""


class Connection:
    """One WebSocket client: its session, its faults, and its writer's state."""

    def __init__(
        self,
        index: int,
        request: web.Request,
        ws: web.WebSocketResponse,
        session: RealtimeSession,
        faults: Faults,
        model: str,
    ) -> None:
        self.index = index
        self.request = request
        self.ws = ws
        self.session = session
        self.model = model
        self.headers = dict(request.headers)
        self.outbox: list[Frame] = []
        self.wakeup = asyncio.Event()
        self.close_request: tuple[int, str] | None = None
        self.sent_count = 0
        self.close_code: int | None = None
        self.paced_until = 0.0
        self._delayed_response: str | None = None
        self._malformed_sent = False
        self._server_error_sent = False
        self.faults = faults

    @property
    def faults(self) -> Faults:
        """This connection's faults; assign a new ``Faults`` to change them while it runs."""
        return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._faults = value
        self.session.fail_responses = value.fail_responses
        self.wakeup.set()

    @property
    def closed(self) -> bool:
        """Whether the socket is closed."""
        return self.ws.closed

    def enqueue(self, frames: list[Frame]) -> None:
        """Queue frames for the writer task."""
        if frames:
            self.outbox.extend(frames)
        self.wakeup.set()


class Emulator:
    """A local OpenAI Realtime (GA) server. See the package docstring for usage."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        realtime: bool = False,
        pace: float | None = None,
        faults: Faults | None = None,
        session_cap_s: float = 3600.0,
        audio_chunk_ms: int = 50,
        record: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key:
            raise ValueError("Emulator(api_key=...) must be a non-empty string")
        if pace is not None and pace < 0:
            raise ValueError(
                f"Emulator(pace=...) must be >= 0 (0 = as fast as possible), got {pace}"
            )
        if session_cap_s <= 0:
            raise ValueError(f"Emulator(session_cap_s=...) must be > 0, got {session_cap_s}")
        if not 1 <= audio_chunk_ms <= 1000:
            raise ValueError(f"Emulator(audio_chunk_ms=...) must be 1-1000, got {audio_chunk_ms}")
        self._api_key = api_key
        self.host = host
        self.port = port
        self.responder = responder
        #: seconds of wall time per second of audio: 1.0 real time, 0 as fast as possible
        self.pace = pace if pace is not None else (1.0 if realtime else 0.0)
        self.faults = faults if faults is not None else Faults()
        self.session_cap_s = session_cap_s
        self.audio_chunk_ms = audio_chunk_ms
        self.record = record
        self.clock = clock
        #: every client event received, decoded, in arrival order across connections
        self.received: list[dict[str, Any]] = []
        #: every server frame sent (``.type``, ``.data``, ``.event``), in order
        self.sent: list[Frame] = []
        self.connections: list[Connection] = []
        self._secrets: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_key(self) -> str:
        """The key clients must present (the emulator's own, never a real OpenAI key)."""
        return self._api_key

    def __repr__(self) -> str:
        return f"Emulator(host={self.host!r}, port={self.port}, pace={self.pace})"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: pass it as ``base_url`` to the ``openai`` client."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def websocket_url(self) -> str:
        """``ws://HOST:PORT/v1/realtime`` (add ``?model=...``)."""
        return f"ws://{self.host}:{self.port}/v1/realtime"

    @property
    def sent_events(self) -> list[dict[str, Any]]:
        """``sent`` decoded (malformed frames injected by faults are left out)."""
        return [frame.event for frame in self.sent if frame.type != "<malformed>"]

    def mint_client_secret(self, ttl_s: int = 600, session: dict[str, Any] | None = None) -> str:
        """Mint an ``ek_`` secret directly (what ``POST /v1/realtime/client_secrets`` does)."""
        value = new_client_secret()
        self._secrets[value] = (self.clock() + ttl_s, session)
        return value

    async def start(self) -> Emulator:
        """Bind and serve; ``port=0`` picks a free port (then read ``.port``)."""
        app = web.Application()
        for prefix in ("/v1", "/openai/v1"):
            app.router.add_get(f"{prefix}/realtime", self._realtime)
            app.router.add_post(f"{prefix}/realtime/client_secrets", self._client_secrets)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", ())
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every connection (1001) and stop serving. Leaves no task running."""
        for conn in self.connections:
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1001, message=b"emulator shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def wake(self) -> None:
        """Make every connection re-read the clock now (call after moving a fake ``clock``).

        Time-driven events (server VAD's idle timeout) are otherwise checked when
        their deadline passes on the real event loop, which a fake clock does not drive.
        """
        for conn in self.connections:
            conn.wakeup.set()

    def start_in_thread(self) -> EmulatorThread:
        """Serve from a background thread with its own event loop (for synchronous callers)."""
        return EmulatorThread(self).start()

    # ------------------------------------------------------------------ HTTP

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def _bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("api-key")

    def _session_for(self, token: str | None) -> tuple[bool, dict[str, Any] | None]:
        """(authorized, the session config a minted secret carries)."""
        if token is None:
            return False, None
        if token == self._api_key:
            return True, None
        secret = self._secrets.get(token)
        if secret is not None and self.clock() < secret[0]:
            return True, secret[1]
        return False, None

    async def _client_secrets(self, request: web.Request) -> web.Response:
        if self._bearer(request) != self._api_key:
            return _http_error(
                401,
                "Incorrect API key provided. Use the emulator's own key to mint client secrets.",
                "invalid_api_key",
            )
        try:
            raw = await request.read()
            body = orjson.loads(raw) if raw.strip() else {}
            ttl, session = check_client_secret_request(body)
            model = str((session or {}).get("model", DEFAULT_MODEL))
            effective = default_session(model, new_id("sess"), 0)
            if session:
                overrides = {k: v for k, v in session.items() if k != "model"}
                effective = merge_session_update(effective, overrides, voice_locked=False)
        except orjson.JSONDecodeError:
            return _http_error(400, "The request body is not valid JSON.", "invalid_json")
        except RealtimeProtocolError as exc:
            return _http_error(400, exc.message, exc.code, exc.param)
        value = new_client_secret()
        expires_at = self.clock() + ttl
        self._secrets[value] = (expires_at, session)
        return web.json_response(
            {"value": value, "expires_at": int(expires_at), "session": effective},
            dumps=lambda obj: orjson.dumps(obj).decode(),
        )

    # ------------------------------------------------------------------ WebSocket

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        offered = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p
        ]
        token = self._bearer(request)
        for protocol in offered:
            if protocol.startswith(_INSECURE_KEY_PROTOCOL):
                token = token or protocol[len(_INSECURE_KEY_PROTOCOL) :]
        authorized, secret_session = self._session_for(token)
        if not authorized:
            return _http_error(
                401,
                "Incorrect API key provided. The emulator accepts its own key or an unexpired "
                "ek_ client secret it minted.",
                "invalid_api_key",
            )
        if "call_id" in request.query:
            return _http_error(
                400,
                "The emulator does not serve WebRTC/SIP sideband calls.",
                "invalid_value",
                "call_id",
            )
        ws = web.WebSocketResponse(
            protocols=("realtime",), max_msg_size=0, compress=False, autoping=True
        )
        if not ws.can_prepare(request).ok:
            return _http_error(400, "Expected a WebSocket upgrade.", "invalid_request")
        await ws.prepare(request)
        beta = "realtime=v1" in request.headers.get("OpenAI-Beta", "") or _BETA_PROTOCOL in offered
        if beta:
            error = {
                "type": "error",
                "event_id": new_id("event"),
                "error": {
                    "type": "invalid_request_error",
                    "code": "beta_api_shape_disabled",
                    "message": "The Realtime Beta API is no longer supported. "
                    "Please use /v1/realtime for the GA API.",
                    "param": None,
                    "event_id": None,
                },
            }
            frame = Frame.of(error)
            if self.record:
                self.sent.append(frame)
            await ws.send_frame(frame.data, WSMsgType.TEXT)
            await ws.close(code=4000, message=b"beta_api_shape_disabled")
            return ws
        model = request.query.get("model") or str(
            (secret_session or {}).get("model", DEFAULT_MODEL)
        )
        session = RealtimeSession(
            model=model,
            responder=self.responder,
            initial_config=secret_session,
            audio_chunk_ms=self.audio_chunk_ms,
            session_cap_s=self.session_cap_s,
            clock=self.clock,
        )
        conn = Connection(len(self.connections), request, ws, session, replace(self.faults), model)
        self.connections.append(conn)
        conn.enqueue(session.open())
        writer = self._spawn(self._write_loop(conn))
        cap = self._spawn(self._session_cap(conn))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    data: Any = message.data
                    with contextlib.suppress(orjson.JSONDecodeError):
                        data = orjson.loads(data)
                    if self.record:
                        self.received.append(
                            data if isinstance(data, dict) else {"<unparsed>": message.data}
                        )
                    conn.enqueue(session.handle(data))
                elif message.type == WSMsgType.BINARY:
                    conn.enqueue(session.handle(b"\x00 binary frames are not part of the protocol"))
        finally:
            cap.cancel()
            writer.cancel()
            await asyncio.gather(cap, writer, return_exceptions=True)
            conn.close_code = ws.close_code
        return ws

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _session_cap(self, conn: Connection) -> None:
        await asyncio.sleep(self.session_cap_s)
        cap = self.session_cap_s
        span = f"{cap / 60:g} minutes" if cap % 60 == 0 else f"{cap:g} seconds"
        message = f"Your session hit the maximum duration of {span}."
        error = RealtimeProtocolError("session_expired", message)
        conn.enqueue([conn.session.error_frame(error, None)])
        conn.close_request = (1001, message)
        conn.wakeup.set()

    async def _write_loop(self, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        session = conn.session
        try:
            while True:
                conn.wakeup.clear()
                if conn.outbox:
                    frames, conn.outbox = conn.outbox, []
                    await self._send_all(conn, frames)
                    continue
                if conn.close_request is not None:
                    code, reason = conn.close_request
                    await conn.ws.close(code=code, message=reason.encode()[:123])
                    return
                if not session.has_pending_output():
                    due = session.tick()
                    if due:
                        await self._send_all(conn, due)
                        continue
                    deadline = session.idle_deadline
                    if deadline is None:
                        await conn.wakeup.wait()
                    else:
                        await self._wait(conn, max(0.0, deadline - self.clock()))
                    continue
                delay = conn.faults.response_delay_s
                next_id = session.next_response_id()
                if delay and next_id is not None and conn._delayed_response != next_id:
                    conn._delayed_response = next_id
                    await self._wait(conn, delay)
                    continue
                if self.pace:
                    now = loop.time()
                    if conn.paced_until > now:
                        await self._wait(conn, conn.paced_until - now)
                        continue
                    frames = session.pump(_PUMP_FRAMES, max_audio_ms=self.audio_chunk_ms)
                    audio_ms = sum(frame.audio_ms for frame in frames)
                    conn.paced_until = max(conn.paced_until, now) + audio_ms * self.pace / 1000
                else:
                    frames = session.pump(_PUMP_FRAMES)
                await self._send_all(conn, frames)
        except (_Dropped, ConnectionError):
            return

    @staticmethod
    async def _wait(conn: Connection, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.wakeup.wait(), seconds)

    async def _send_all(self, conn: Connection, frames: list[Frame]) -> None:
        ws = conn.ws
        record = self.record
        sent = self.sent
        for frame in frames:
            faults = conn.faults
            if faults.drop_at_event_type == frame.type:
                await self._drop(conn)
            if ws.closed:
                raise _Dropped
            await ws.send_frame(frame.data, WSMsgType.TEXT)
            if record:
                sent.append(frame)
            conn.sent_count += 1
            count = conn.sent_count
            if faults.server_error_after_events == count and not conn._server_error_sent:
                conn._server_error_sent = True
                error = RealtimeProtocolError(
                    "server_error",
                    "The server had an error while processing your request. "
                    "(Injected by the emulator's fault settings.)",
                    error_type="server_error",
                )
                extra = conn.session.error_frame(error, None)
                await ws.send_frame(extra.data, WSMsgType.TEXT)
                if record:
                    sent.append(extra)
            if faults.malformed_frame_after_events == count and not conn._malformed_sent:
                conn._malformed_sent = True
                garbage = b'{"type": "response.output_audio.delta", "delta": '
                await ws.send_frame(garbage, WSMsgType.TEXT)
                if record:
                    sent.append(Frame("<malformed>", garbage))
            if faults.drop_after_events is not None and count >= faults.drop_after_events:
                await self._drop(conn)

    async def _drop(self, conn: Connection) -> None:
        code = conn.faults.close_code
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            await conn.ws.close(code=code, message=b"connection dropped by emulator fault")
        raise _Dropped


class EmulatorThread:
    """An ``Emulator`` served from a daemon thread, for synchronous code (the CLI chat).

    ``with Emulator(...).start_in_thread() as emu:`` or ``EmulatorThread(Emulator(...))``;
    attributes of the emulator (``base_url``, ``api_key``, ``received``...) are reachable
    through ``.emulator``.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """The emulator's ``base_url``."""
        return self.emulator.base_url

    @property
    def websocket_url(self) -> str:
        """The emulator's ``websocket_url``."""
        return self.emulator.websocket_url

    @property
    def api_key(self) -> str:
        """The emulator's key."""
        return self.emulator.api_key

    def start(self, timeout_s: float = 10.0) -> EmulatorThread:
        """Start serving; returns once the port is bound (raises if binding failed)."""
        self._thread = threading.Thread(target=self._run, name="fullduplex-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("the emulator thread did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.emulator.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)

    def __enter__(self) -> EmulatorThread:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
