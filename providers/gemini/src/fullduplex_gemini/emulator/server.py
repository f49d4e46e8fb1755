"""The Gemini Live front-end of the emulator: the websocket routes, keys, lifetime.

What is Gemini's about the transport lives here: the endpoint paths (Developer
API ``v1``/``v1beta``/``v1alpha``, the constrained ephemeral-token method,
Vertex AI; repeated slashes collapsed), the credentials (``x-goog-api-key``,
``?key=``, ``Authorization: Token|Bearer``, ``?access_token=``), binary server
frames, errors as close frames, and the connection lifetime: ``goAway`` with
``timeLeft`` at ``connection_cap_s - go_away_lead_s``, then a 1011 close
"Deadline expired before operation could complete." The kit's server base runs
the writer (pacing, faults); the protocol is in ``session.LiveSession``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import replace
from typing import Any, Final, cast

from aiohttp import WSMsgType, web

from fullduplex_emulator.clock import Clock
from fullduplex_emulator.connection import Connection
from fullduplex_emulator.faults import Faults
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import Responder
from fullduplex_emulator.server import EmulatorServer
from fullduplex_emulator.speech import SpeechWanted, load_speech
from fullduplex_emulator.thread import EmulatorThread as _KitThread

from .session import LiveSession, Snapshot

DEFAULT_API_KEY: Final = "fullduplex-gemini-emulator-key"
_DEVELOPER = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)$"
)
_VERTEX = re.compile(
    r"^/ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/BidiGenerateContent$"
)
_DEADLINE_REASON: Final = "Deadline expired before operation could complete."


class _BinaryFrames:
    """The socket as the kit's writer sees it, sending every frame binary (as the service does)."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send_frame(self, data: bytes, _type: WSMsgType) -> None:
        await self._ws.send_frame(data, WSMsgType.BINARY)

    def __aiter__(self) -> Any:
        return self._ws.__aiter__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


class _LiveConnection(Connection):
    """A connection whose session may ask for the socket to be closed (errors are closes)."""

    def enqueue(self, frames: list[Frame]) -> None:
        super().enqueue(frames)
        request = getattr(self.session, "close_request", None)
        if request is not None and self.close_request is None:
            self.close_request = request


class GeminiEmulator(EmulatorServer):
    """A local Gemini Live server.

    ``async with GeminiEmulator(port=0) as emu:`` then point a client at
    ``emu.base_url`` with ``emu.api_key``. ``connection_cap_s`` is the
    connection lifetime (the service's is about 10 minutes) and
    ``go_away_lead_s`` how long before it the ``goAway`` comes;
    ``wait_for_playback`` holds ``turnComplete`` until the answer's audio has
    had time to play (the service does; default: when pacing in real time);
    ``speech`` (``True``, ``False`` or ``"auto"``) gives it the kit's real
    ears and voice: the transcriptions carry the recognised words and the
    spoken answer's text.
    """

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
        connection_cap_s: float = 600.0,
        go_away_lead_s: float = 50.0,
        wait_for_playback: bool | None = None,
        audio_chunk_ms: int = 40,
        record: bool = True,
        clock: Clock = time.time,
        speech: SpeechWanted = False,
    ) -> None:
        if not api_key:
            raise ValueError("GeminiEmulator(api_key=...) must be a non-empty string")
        if connection_cap_s <= 0:
            raise ValueError(
                f"GeminiEmulator(connection_cap_s=...) must be > 0, got {connection_cap_s}"
            )
        if not 0 <= go_away_lead_s <= connection_cap_s:
            raise ValueError(
                "GeminiEmulator(go_away_lead_s=...) must be 0..connection_cap_s, "
                f"got {go_away_lead_s}"
            )
        super().__init__(
            host=host,
            port=port,
            realtime=realtime,
            pace=pace,
            faults=faults,
            session_cap_s=3600.0 * 24,
            audio_chunk_ms=audio_chunk_ms,
            record=record,
            clock=clock,
        )
        #: the real voice and ears (``speech=True`` or ``"auto"`` with the kit's [speech] extra):
        #: sessions then recognise and synthesize, so they run on worker threads
        self.speech = load_speech(speech)
        self.offload = self.speech is not None
        self._api_key = api_key
        self.responder = responder
        self.connection_cap_s = connection_cap_s
        self.go_away_lead_s = go_away_lead_s
        self.wait_for_playback = wait_for_playback
        #: resumption handles given out, and the conversation each restores
        self.handles: dict[str, Snapshot] = {}
        self._tokens: set[str] = set()

    @property
    def api_key(self) -> str:
        """The key clients must present (the emulator's own, never a real Google key)."""
        return self._api_key

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the root a client appends ``/ws/...`` to."""
        return f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"GeminiEmulator(host={self.host!r}, port={self.port}, pace={self.pace})"

    def mint_token(self) -> str:
        """An ephemeral ``auth_tokens/...`` token this emulator accepts."""
        token = f"auth_tokens/{secrets.token_urlsafe(16)}"
        self._tokens.add(token)
        return token

    def start_in_thread(self) -> GeminiEmulatorThread:
        return GeminiEmulatorThread(self).start()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{path:.*}", self._live)

    def _authorized(self, request: web.Request) -> bool:
        offered = [
            request.headers.get("x-goog-api-key", ""),
            request.query.get("key", ""),
            request.query.get("access_token", ""),
        ]
        authorization = request.headers.get("Authorization", "")
        for scheme in ("token ", "bearer "):
            if authorization.lower().startswith(scheme):
                offered.append(authorization[len(scheme) :].strip())
        return any(value == self._api_key or value in self._tokens for value in offered if value)

    async def _live(self, request: web.Request) -> web.StreamResponse:
        path = re.sub("/{2,}", "/", "/" + request.match_info["path"])
        developer = _DEVELOPER.match(path)
        vertex = _VERTEX.match(path)
        if developer is None and vertex is None:
            raise web.HTTPNotFound(text="Not Found: this emulator serves the Live API websocket")
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, autoping=True)
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="Expected a WebSocket upgrade.")
        await ws.prepare(request)
        if not self._authorized(request):
            await ws.close(code=1007, message=b"API key not valid. Please pass a valid API key.")
            return ws
        version = (developer or vertex).group(1)  # type: ignore[union-attr]
        wait = self.wait_for_playback if self.wait_for_playback is not None else self.pace > 0
        session = LiveSession(
            api_version=version,
            vertex=vertex is not None,
            responder=self.responder,
            audio_chunk_ms=self.audio_chunk_ms,
            clock=self.clock,
            handles=self.handles,
            wait_for_playback=wait,
            speech=self.speech,
        )
        conn = _LiveConnection(
            len(self.connections),
            request,
            cast(web.WebSocketResponse, _BinaryFrames(ws)),
            session,
            replace(self.faults),
            "",
        )
        lifetime = self._spawn(self._lifetime(conn, session))
        try:
            await self.serve(conn)
        finally:
            lifetime.cancel()
            await asyncio.gather(lifetime, return_exceptions=True)
        return ws

    async def on_binary(self, conn: Connection, data: bytes) -> None:
        """Clients may send binary frames of UTF-8 JSON too."""
        if self.record:
            self.received.append({"<binary>": len(data)})
        await self.call(conn, conn.session.handle, data)

    async def _lifetime(self, conn: Connection, session: LiveSession) -> None:
        """``goAway`` ahead of the connection cap, then the 1011 close the service sends."""
        await asyncio.sleep(self.connection_cap_s - self.go_away_lead_s)
        conn.enqueue([session.go_away_frame(self.go_away_lead_s)])
        await asyncio.sleep(self.go_away_lead_s)
        conn.close_request = (1011, _DEADLINE_REASON)
        conn.wakeup.set()


class GeminiEmulatorThread(_KitThread[GeminiEmulator]):
    """A ``GeminiEmulator`` served from a daemon thread, for synchronous code."""

    @property
    def api_key(self) -> str:
        return self.emulator.api_key

    def start(self, timeout_s: float = 10.0) -> GeminiEmulatorThread:
        super().start(timeout_s)
        return self

    def __enter__(self) -> GeminiEmulatorThread:
        super().__enter__()
        return self
