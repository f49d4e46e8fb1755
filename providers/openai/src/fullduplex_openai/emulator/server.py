"""The OpenAI Realtime front-end of the emulator: HTTP and WebSocket on one port.

The official ``openai`` client derives the WebSocket URL from ``base_url`` and
POSTs ``/v1/realtime/client_secrets`` to the same base, so both must share a
port; aiohttp serves both (``websockets``' server cannot read request bodies).

This module holds what is OpenAI's about the transport: the routes (``/v1`` and
Azure's ``/openai/v1``), the key and ``ek_`` client secrets, the refusal of the
beta protocol and of WebRTC sideband calls. The kit's server base
(``fullduplex_emulator.server``) runs the writer (pacing, faults, session cap);
the protocol lives in ``session.RealtimeSession``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from dataclasses import replace
from typing import Any, Final, Self

import orjson
from aiohttp import WSMessage, WSMsgType, web

from fullduplex_emulator.clock import Clock
from fullduplex_emulator.connection import Connection
from fullduplex_emulator.faults import Faults
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import Responder
from fullduplex_emulator.server import EmulatorServer
from fullduplex_emulator.speech import SpeechWanted, load_speech
from fullduplex_emulator.thread import EmulatorThread as _KitThread

from .errors import RealtimeProtocolError
from .ids import new_client_secret, new_id
from .session import RealtimeSession, log_refusal
from .validation import (
    DEFAULT_MODEL,
    check_client_secret_request,
    default_session,
    merge_session_update,
)
from .wiretap import WireRecorder

DEFAULT_API_KEY: Final = "fullduplex-emulator-key"
_INSECURE_KEY_PROTOCOL: Final = "openai-insecure-api-key."
_BETA_PROTOCOL: Final = "openai-beta.realtime-v1"
_BINARY_REFUSAL: Final = b"\x00 binary frames are not part of the protocol"


#: the connection whose frames the current writer task is sending (one per task)
_SENDING: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "fullduplex_openai_emulator_sending", default=None
)


def _http_error(
    request: web.Request, status: int, message: str, code: str | None, param: str | None = None
) -> web.Response:
    """The service's HTTP error body; the refusal is logged like a refused event."""
    refusal = RealtimeProtocolError(code, message, param)
    log_refusal("HTTP", f"{request.method} {request.path} ({status})", refusal)
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class Emulator(EmulatorServer):
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
        clock: Clock = time.time,
        record_file: str | os.PathLike[str] | None = None,
        speech: SpeechWanted = False,
    ) -> None:
        if not api_key:
            raise ValueError("Emulator(api_key=...) must be a non-empty string")
        super().__init__(
            host=host,
            port=port,
            realtime=realtime,
            pace=pace,
            faults=faults,
            session_cap_s=session_cap_s,
            audio_chunk_ms=audio_chunk_ms,
            record=record,
            clock=clock,
        )
        #: the real voice and ears (``speech=True`` or ``"auto"`` with the kit's [speech] extra)
        self.speech = load_speech(speech)
        self.offload = self.speech is not None
        self._api_key = api_key
        self.responder = responder
        self._secrets: dict[str, tuple[float, dict[str, Any] | None]] = {}
        #: ``--record FILE``: where both directions go as JSON lines (see ``wiretap``)
        self.record_file = record_file
        self._wiretap: WireRecorder | None = None

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

    def start_in_thread(self) -> EmulatorThread:
        """Serve from a background thread with its own event loop (for synchronous callers)."""
        return EmulatorThread(self).start()

    def mint_client_secret(self, ttl_s: int = 600, session: dict[str, Any] | None = None) -> str:
        """Mint an ``ek_`` secret directly (what ``POST /v1/realtime/client_secrets`` does)."""
        value = new_client_secret()
        self._secrets[value] = (self.clock() + ttl_s, session)
        return value

    async def start(self) -> Self:
        """Bind and serve; opens ``record_file`` first, so a bad path fails before binding."""
        if self.record_file is not None and self._wiretap is None:
            self._wiretap = WireRecorder(self.record_file)
        try:
            return await super().start()
        except BaseException:
            await self._close_wiretap()
            raise

    async def stop(self) -> None:
        """Stop serving, then finish writing ``record_file``."""
        try:
            await super().stop()
        finally:
            await self._close_wiretap()

    async def _close_wiretap(self) -> None:
        wiretap, self._wiretap = self._wiretap, None
        if wiretap is not None:
            await wiretap.close()

    # The recording hooks: the kit's server base calls these for every message read and
    # every frame sent; they add the wire recording on top.

    async def _receive(self, conn: Connection, message: WSMessage) -> None:
        if self._wiretap is not None:
            if message.type == WSMsgType.TEXT:
                data: Any = message.data
                with contextlib.suppress(orjson.JSONDecodeError):
                    data = orjson.loads(data)
                self._wiretap.client(conn.index, data if isinstance(data, dict) else message.data)
            elif message.type == WSMsgType.BINARY:
                self._wiretap.client(conn.index, bytes(message.data))
        await super()._receive(conn, message)

    async def _send_all(self, conn: Connection, frames: list[Frame]) -> None:
        token = _SENDING.set(conn)
        try:
            await super()._send_all(conn, frames)
        finally:
            _SENDING.reset(token)

    def _record(self, frame: Frame) -> None:
        super()._record(frame)
        conn = _SENDING.get()
        if self._wiretap is not None:
            self._wiretap.server(conn.index if conn is not None else -1, frame.data)

    def routes(self, app: web.Application) -> None:
        for prefix in ("/v1", "/openai/v1"):
            app.router.add_get(f"{prefix}/realtime", self._realtime)
            app.router.add_post(f"{prefix}/realtime/client_secrets", self._client_secrets)

    async def on_binary(self, conn: Connection, data: bytes) -> None:
        """Binary frames are no part of the protocol: answered with an ``invalid_json`` error."""
        conn.enqueue(conn.session.handle(_BINARY_REFUSAL))

    # ------------------------------------------------------------------ HTTP

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
                request,
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
            return _http_error(request, 400, "The request body is not valid JSON.", "invalid_json")
        except RealtimeProtocolError as exc:
            return _http_error(request, 400, exc.message, exc.code, exc.param)
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
                request,
                401,
                "Incorrect API key provided. The emulator accepts its own key or an unexpired "
                "ek_ client secret it minted.",
                "invalid_api_key",
            )
        if "call_id" in request.query:
            return _http_error(
                request,
                400,
                "The emulator does not serve WebRTC/SIP sideband calls.",
                "invalid_value",
                "call_id",
            )
        ws = web.WebSocketResponse(
            protocols=("realtime",), max_msg_size=0, compress=False, autoping=True
        )
        if not ws.can_prepare(request).ok:
            return _http_error(request, 400, "Expected a WebSocket upgrade.", "invalid_request")
        await ws.prepare(request)
        beta = "realtime=v1" in request.headers.get("OpenAI-Beta", "") or _BETA_PROTOCOL in offered
        if beta:
            await self._refuse_beta(ws)
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
            speech=self.speech,
        )
        conn = Connection(len(self.connections), request, ws, session, replace(self.faults), model)
        await self.serve(conn)
        return ws

    async def _refuse_beta(self, ws: web.WebSocketResponse) -> None:
        """The beta protocol is gone: one ``beta_api_shape_disabled`` error, then close 4000."""
        refusal = RealtimeProtocolError(
            "beta_api_shape_disabled",
            "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
        )
        log_refusal("WebSocket", "the beta protocol (OpenAI-Beta: realtime=v1)", refusal)
        error = {"type": "error", "event_id": new_id("event"), "error": refusal.to_error(None)}
        frame = Frame.of(error)
        self._record(frame)
        await ws.send_frame(frame.data, WSMsgType.TEXT)
        await ws.close(code=4000, message=b"beta_api_shape_disabled")


class EmulatorThread(_KitThread[Emulator]):
    """An ``Emulator`` served from a daemon thread, for synchronous code (the CLI chat).

    ``with Emulator(...).start_in_thread() as emu:``; the emulator itself is ``.emulator``.
    """

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
        super().start(timeout_s)
        return self

    def __enter__(self) -> EmulatorThread:
        super().__enter__()
        return self
