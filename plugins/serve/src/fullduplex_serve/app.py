"""``create_app``: the ASGI application (Starlette) that serves an agent to pages and phones.

Routes: ``GET /`` (the page and its scripts), ``WS /browser``, ``POST
/twilio/voice`` (TwiML connecting the call to the stream), ``WS /twilio``,
``GET /healthz``, ``GET /metrics``. Mount it in a larger Starlette or FastAPI
application as any ASGI app.

Every refusal (a bad signature, Origin or token) happens before the socket is
accepted, so the client gets HTTP 403 and no agent is built.

Beyond one process: browser calls are written into a session store
(:mod:`.store`; Redis with ``--session-store redis://...``), so a page whose
process died resumes its call on another one, which loads the history from
the store and replays it into a new model connection. :meth:`_Server.drain`
is the graceful way out: ``/healthz`` answers 503 and new sockets are refused
with 503 (a balancer retries them elsewhere), running calls may finish within
the grace period, the rest are handed over with a ``reconnect`` frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.resources
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from xml.sax.saxutils import quoteattr

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .browser import MAX_RATE, MIN_RATE, PROTOCOL_VERSION, BrowserSession, Page
from .calls import AgentFactory, build_agent, close_soon, logger, run_call
from .config import ServeConfig
from .metrics import CONTENT_TYPE, ServeMetrics
from .recording import CallRecorder
from .security import origin_allowed, token_matches, valid_twilio_signature
from .store import SessionStore, StoredCall, open_store
from .twilio import TwilioCall

#: how long a page has to send ``hello`` after connecting
HELLO_TIMEOUT_S = 10.0
#: how long a call's end may take before its tasks are cancelled
END_TIMEOUT_S = 5.0

_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "capture-worklet.js": "text/javascript; charset=utf-8",
    "playback-worklet.js": "text/javascript; charset=utf-8",
}


def _static_files() -> dict[str, bytes]:
    root = importlib.resources.files("fullduplex_serve") / "static"
    return {name: (root / name).read_bytes() for name in _STATIC}


class _Server:
    """The state behind one app: the factory, the settings, the live conversations."""

    def __init__(
        self,
        factory: AgentFactory,
        config: ServeConfig,
        metrics: ServeMetrics,
        store: SessionStore,
    ) -> None:
        self.factory = factory
        self.config = config
        self.metrics = metrics
        self.store = store
        #: who this process is, in the store (a call's owner)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.sessions: dict[str, BrowserSession] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.static = _static_files()
        #: set once draining began: no new calls, /healthz says 503
        self.draining = False

    # ------------------------------------------------------------- plain HTTP
    async def page(self, request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        body = self.static.get(name)
        if body is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(
            body,
            media_type=_STATIC[name],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def healthz(self, request: Request) -> Response:
        if self.draining:
            return PlainTextResponse("draining\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def metrics_page(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    # ----------------------------------------------------------------- Twilio
    def _public_url(self, path: str, scheme: str, host: str | None, query: str = "") -> str:
        """The URL Twilio used: from ``public_url`` when configured, else from the request."""
        base = self.config.public_url
        if base is not None:
            parts = urlsplit(base)
            secure = parts.scheme in ("https", "wss")
            if scheme in ("ws", "wss"):
                scheme = "wss" if secure else "ws"
            else:
                scheme = "https" if secure else "http"
            prefix = parts.path.rstrip("/")
            return urlunsplit((scheme, parts.netloc, prefix + path, query, ""))
        return urlunsplit((scheme, host or "localhost", path, query, ""))

    def _twilio_refusal(self, url: str, params: list[tuple[str, str]], sig: str | None) -> str:
        """Why a Twilio request is refused, or ``""`` when it may go on."""
        token = self.config.twilio_auth_token
        if token is None:
            if self.config.allow_unsigned_twilio:
                return ""
            return "no Twilio auth token is configured (set TWILIO_AUTH_TOKEN)"
        if not valid_twilio_signature(token, url, params, sig):
            return "X-Twilio-Signature is missing or does not match"
        return ""

    async def twilio_voice(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > self.config.max_frame_bytes:
            self.metrics.rejected.labels("oversize").inc()
            return PlainTextResponse("request too large", status_code=413)
        params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        url = self._public_url(
            request.url.path, request.url.scheme, request.headers.get("host"), request.url.query
        )
        why = self._twilio_refusal(url, params, request.headers.get("x-twilio-signature"))
        if why:
            logger.warning("twilio voice webhook refused (403): %s", why)
            self.metrics.rejected.labels("twilio_signature").inc()
            return PlainTextResponse("forbidden", status_code=403)
        stream = self._public_url("/twilio", "wss", request.headers.get("host"))
        call_sid = dict(params).get("CallSid", "")
        parameter = (
            f'\n      <Parameter name="callSid" value={quoteattr(call_sid)}/>' if call_sid else ""
        )
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Connect>\n'
            f"    <Stream url={quoteattr(stream)}>{parameter}\n    </Stream>\n"
            "  </Connect>\n</Response>\n"
        )
        return Response(twiml, media_type="text/xml")

    async def twilio_socket(self, ws: WebSocket) -> None:
        # Twilio signs the wss:// URL of <Stream url>, whatever scheme reaches us (§5)
        url = self._public_url(ws.url.path, "wss", ws.headers.get("host"), ws.url.query)
        why = self._twilio_refusal(url, [], ws.headers.get("x-twilio-signature"))
        if why:
            logger.warning("twilio stream refused (403): %s", why)
            self.metrics.rejected.labels("twilio_signature").inc()
            await ws.close(code=1008)
            return
        if self.draining:
            await self._refuse_draining(ws)
            return
        await ws.accept()
        await _TwilioSocket(self, ws).run()

    # ---------------------------------------------------------------- browser
    async def browser_socket(self, ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if not origin_allowed(origin, ws.headers.get("host"), self.config.allowed_origins):
            logger.warning("browser socket refused (403): Origin %r is not allowed", origin)
            self.metrics.rejected.labels("origin").inc()
            await ws.close(code=1008)
            return
        if not token_matches(self.config.token, ws.query_params.get("token")):
            logger.warning("browser socket refused (403): missing or wrong token")
            self.metrics.rejected.labels("token").inc()
            await ws.close(code=1008)
            return
        if self.draining:
            await self._refuse_draining(ws)
            return
        await ws.accept()
        await _BrowserSocket(self, ws).run()

    async def _refuse_draining(self, ws: WebSocket) -> None:
        """HTTP 503 to the upgrade: a balancer (nginx ``proxy_next_upstream http_503``)
        sends the socket to another process."""
        self.metrics.rejected.labels("draining").inc()
        try:
            await ws.send_denial_response(PlainTextResponse("draining\n", status_code=503))
        except RuntimeError:  # a server without the denial extension: a plain refusal
            await ws.close(code=1013)

    # -------------------------------------------------------------- lifecycle
    def spawn_call(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self, grace_s: float) -> None:
        """Stop taking calls, let running ones finish for ``grace_s``, hand the rest over.

        Browser calls are handed over (``reconnect``, close code 1012): the page
        resumes on another process from the session store. Phone calls cannot
        reconnect; they are left to finish within the grace period (after it,
        :meth:`shutdown` ends them).
        """
        if not self.draining:
            self.draining = True
            self.metrics.draining.set(1)
            logger.info("draining: no new calls; %d running, grace %gs", len(self.tasks), grace_s)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                while self.tasks:
                    await asyncio.wait(list(self.tasks))
        sessions = [s for s in self.sessions.values() if not s.ended]
        if sessions:
            logger.info(
                "draining: handing %d browser call(s) over to other processes", len(sessions)
            )
        await asyncio.gather(
            *(s.hand_over("this server is restarting") for s in sessions), return_exceptions=True
        )

    async def shutdown(self) -> None:
        """End every conversation when the server stops, in at most about 3 x END_TIMEOUT_S.

        Calls get ``END_TIMEOUT_S`` to end, then are cancelled and get as long
        again to unwind; a call whose clean-up still holds on (it swallowed the
        cancel, or waits on a dead store) is logged and left, and so is a store
        that does not close in time: a process that cannot stop is worse than
        one abandoned write (stored calls expire by themselves).
        """
        for session in list(self.sessions.values()):
            session.hang_up()
        tasks = list(self.tasks)
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=END_TIMEOUT_S)
            for task in late:
                task.cancel()
            if late:
                _done, stuck = await asyncio.wait(late, timeout=END_TIMEOUT_S)
                if stuck:
                    logger.warning(
                        "shutdown: %d call(s) did not end after being cancelled; left behind",
                        len(stuck),
                    )
        try:
            async with asyncio.timeout(END_TIMEOUT_S):
                await self.store.close()
        except TimeoutError:
            logger.warning("shutdown: the session store did not close in %gs", END_TIMEOUT_S)

    # ------------------------------------------------------------ the store
    async def load_call(self, token: str) -> StoredCall | None:
        """The call ``token`` names, taken over from the store (``None``: unknown, expired,
        or the store is unreachable)."""
        try:
            async with asyncio.timeout(3.0):
                return await self.store.claim(token, self.owner)
        except Exception:
            logger.warning("session store: could not load a call to resume", exc_info=True)
            return None

    async def record(self, session: BrowserSession, agent: Any, created: bool) -> None:
        """Write ``session``'s call into the store from now on."""
        if created:
            try:
                async with asyncio.timeout(3.0):
                    await self.store.create(session.token, self.owner)
            except Exception:
                logger.warning(
                    "session store: could not record a new call; it will not survive this process",
                    exc_info=True,
                )
                return
        recorder = CallRecorder(self.store, session.token, self.owner, session.taken_over)
        recorder.follow(agent, restored=not created)
        session.recorder = recorder

    async def forget(self, session: BrowserSession) -> None:
        """The call is over: stop writing it, and delete it unless it lives on elsewhere."""
        recorder = session.recorder
        if recorder is None:
            return
        await recorder.close()
        if session.handed_over or recorder.lost:
            return
        try:
            async with asyncio.timeout(2.0):
                await self.store.delete(session.token, self.owner)
        except Exception:  # it expires on its own
            logger.debug("session store: could not delete an ended call", exc_info=True)


async def _receive(ws: WebSocket, limit: int) -> tuple[str | None, bytes | None] | None:
    """The next message (text or bytes), or ``None`` once the socket is closed.

    Raises ``OverflowError`` for a message larger than ``limit`` bytes.
    """
    try:
        message = await ws.receive()
    except (WebSocketDisconnect, RuntimeError):
        return None
    if message["type"] == "websocket.disconnect":
        return None
    text: str | None = message.get("text")
    data: bytes | None = message.get("bytes")
    size = len(text.encode()) if text is not None else len(data or b"")
    if size > limit:
        raise OverflowError(f"a {size}-byte message; accepted: at most {limit} bytes")
    return text, data


async def _close(ws: WebSocket, code: int = 1000, reason: str = "") -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason[:120])


class _TwilioSocket:
    """One Twilio stream: parse Twilio's messages and drive the call (summary §2)."""

    def __init__(self, server: _Server, ws: WebSocket) -> None:
        self.server = server
        self.ws = ws
        self.call: TwilioCall | None = None
        self.run_task: asyncio.Task[None] | None = None
        self._unknown: set[str] = set()

    async def run(self) -> None:
        ws, config, metrics = self.ws, self.server.config, self.server.metrics
        try:
            while True:
                try:
                    got = await _receive(ws, config.max_frame_bytes)
                except OverflowError as exc:
                    logger.warning("twilio stream: oversize frame (%s); ending the call", exc)
                    metrics.rejected.labels("oversize").inc()
                    await _close(ws, 1009, "message too big")
                    return
                if got is None:
                    return
                text, _data = got
                if text is None:
                    logger.warning("twilio stream: binary frame ignored (Twilio sends JSON text)")
                    metrics.rejected.labels("malformed").inc()
                    continue
                try:
                    message = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    logger.warning("twilio stream: malformed JSON ignored (%s)", exc)
                    metrics.rejected.labels("malformed").inc()
                    continue
                if not isinstance(message, dict) or not isinstance(message.get("event"), str):
                    logger.warning("twilio stream: a message without an 'event' field ignored")
                    metrics.rejected.labels("malformed").inc()
                    continue
                if not await self._dispatch(message):
                    return
        finally:
            await self._end()

    async def _dispatch(self, message: dict[str, Any]) -> bool:
        """Handle one message; ``False`` ends the call."""
        event = message["event"]
        if event == "connected":
            return True
        if event == "start":
            return await self._start(message)
        if event in ("media", "dtmf", "mark", "stop") and self.call is None:
            logger.warning(
                "twilio stream: %r before 'start' (no stream to belong to); ending the call", event
            )
            self.server.metrics.rejected.labels("before_start").inc()
            await _close(self.ws, 1008, f"{event} before start")
            return False
        call = self.call
        if call is None or event not in ("media", "dtmf", "mark", "stop"):
            if event not in self._unknown:
                self._unknown.add(event)
                logger.warning("twilio stream: unknown event %r ignored", event)
            return True
        body = message.get(event)
        try:
            if event == "media":
                payload = body.get("payload") if isinstance(body, dict) else None
                track = body.get("track", "inbound") if isinstance(body, dict) else None
                if not isinstance(payload, str):
                    raise ValueError("media.payload: expected base64 text")
                if track in ("inbound", "inbound_track"):
                    call.on_media(payload)
            elif event == "mark":
                name = body.get("name") if isinstance(body, dict) else None
                if not isinstance(name, str):
                    raise ValueError("mark.name: expected a string")
                call.on_mark(name)
            elif event == "dtmf":
                digit = body.get("digit") if isinstance(body, dict) else None
                if not isinstance(digit, str) or len(digit) != 1:
                    raise ValueError("dtmf.digit: expected one character")
                call.on_dtmf(digit)
            else:  # stop
                logger.info("twilio stream %s: stop, the call is over", call.stream_sid)
                call.hang_up()
                return False
        except ValueError as exc:
            logger.warning("twilio stream: bad %r message ignored: %s", event, exc)
            self.server.metrics.rejected.labels("malformed").inc()
        return True

    async def _start(self, message: dict[str, Any]) -> bool:
        if self.call is not None:
            logger.warning("twilio stream: a second 'start' ignored")
            return True
        start = message.get("start")
        sid = start.get("streamSid") if isinstance(start, dict) else None
        sid = sid or message.get("streamSid")
        media = start.get("mediaFormat", {}) if isinstance(start, dict) else {}
        if not isinstance(sid, str) or not sid:
            logger.warning("twilio stream: 'start' without start.streamSid; ending the call")
            await _close(self.ws, 1008, "start without streamSid")
            return False
        wanted = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        if isinstance(media, dict) and any(k in media and media[k] != v for k, v in wanted.items()):
            logger.warning(
                "twilio stream: mediaFormat %r; accepted: %r; ending the call", media, wanted
            )
            await _close(self.ws, 1003, "unsupported mediaFormat")
            return False
        try:
            agent = await build_agent(self.server.factory)
        except Exception:
            logger.exception("twilio stream: the agent factory failed; ending the call")
            await _close(self.ws, 1011, "agent unavailable")
            return False
        self.call = TwilioCall(sid, self.ws.send_text, self.server.config, self.server.metrics)
        logger.info("twilio stream %s: call started", sid)
        self.run_task = self.server.spawn_call(
            run_call(agent, self.call.input(), self.call.output(), self.server.metrics, "twilio"),
            name=f"fullduplex-twilio-{sid}",
        )
        self.run_task.add_done_callback(close_soon(lambda: _close(self.ws)))
        return True

    async def _end(self) -> None:
        if self.call is not None:
            self.call.hang_up()
        task = self.run_task
        if task is not None and not task.done():
            _done, late = await asyncio.wait({task}, timeout=END_TIMEOUT_S)
            for pending in late:
                pending.cancel()
        await _close(self.ws)


class _BrowserSocket:
    """One page connection: the hello, then frames both ways (docs/browser-protocol.md)."""

    def __init__(self, server: _Server, ws: WebSocket) -> None:
        self.server = server
        self.ws = ws

    async def _error(self, message: str, code: int = 1008) -> None:
        logger.warning("browser socket: %s", message)
        with contextlib.suppress(Exception):
            await self.ws.send_text(orjson.dumps({"type": "error", "message": message}).decode())
        await _close(self.ws, code, message)

    async def _hello(self) -> dict[str, Any] | None:
        limit = self.server.config.max_frame_bytes
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                got = await _receive(self.ws, limit)
        except (TimeoutError, OverflowError) as exc:
            await self._error(f"no hello frame ({exc or 'timed out'})")
            return None
        if got is None:
            return None
        text, _ = got
        try:
            hello = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError:
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await self._error("the first frame must be a JSON 'hello' control frame")
            return None
        if hello.get("protocol") != PROTOCOL_VERSION:
            await self._error(
                f"hello.protocol: got {hello.get('protocol')!r}; accepted: {PROTOCOL_VERSION}"
            )
            return None
        for key in ("input_sample_rate", "output_sample_rate"):
            rate = hello.get(key)
            if (
                isinstance(rate, bool)
                or not isinstance(rate, int)
                or not (MIN_RATE <= rate <= MAX_RATE)
            ):
                await self._error(
                    f"hello.{key}: got {rate!r}; accepted: an integer from {MIN_RATE} to {MAX_RATE}"
                )
                return None
        return hello

    async def run(self) -> None:
        server, ws = self.server, self.ws
        hello = await self._hello()
        if hello is None:
            return
        page = Page(
            ws.send_text,
            ws.send_bytes,
            lambda code: _close(ws, code),
            hello["input_sample_rate"],
            hello["output_sample_rate"],
        )
        resume = hello.get("resume")
        session = server.sessions.get(resume) if isinstance(resume, str) else None
        resumed = session is not None and not session.ended
        if session is not None and resumed:
            old = session.attach(page)
            if old is not None:
                await old.close(4000)
            server.metrics.reconnects.inc()
            logger.info("browser session resumed")
        else:
            stored = None
            if isinstance(resume, str) and resume:
                stored = await server.load_call(resume)
            try:
                agent = await build_agent(server.factory)
            except Exception:
                logger.exception("browser socket: the agent factory failed")
                await self._error("the agent could not be started", 1011)
                return
            if stored is not None:
                _restore(agent, stored)
            session = BrowserSession(
                server.config, server.metrics, stored.token if stored else None
            )
            await server.record(session, agent, created=stored is None)
            if stored is not None:
                session.restore_held(list(stored.held))
                resumed = True
                server.metrics.reconnects.inc()
                server.metrics.takeovers.inc()
                logger.info(
                    "browser session taken over from the store (%d messages)",
                    len(agent.messages),
                )
            session.attach(page)
            server.sessions[session.token] = session
            task = server.spawn_call(
                run_call(agent, session.input(), session.output(), server.metrics, "browser"),
                name="fullduplex-browser",
            )
            task.add_done_callback(functools.partial(self._ended, session))
        await session.send_json(
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "session": session.token,
                "resumed": resumed,
                "resume_grace_s": server.config.resume_grace_s,
            }
        )
        await self._read(session, page)

    def _ended(self, session: BrowserSession, _task: object) -> None:
        session.hang_up()
        if self.server.sessions.get(session.token) is session:
            del self.server.sessions[session.token]
        close_soon(functools.partial(self._finish, session))(None)

    async def _finish(self, session: BrowserSession) -> None:
        """The store first (the page may reconnect at once), then ``bye`` unless handed over."""
        await self.server.forget(session)
        if not session.handed_over:
            await session.say_bye()

    async def _read(self, session: BrowserSession, page: Page) -> None:
        ws, config, metrics = self.ws, self.server.config, self.server.metrics
        try:
            while True:
                try:
                    got = await _receive(ws, config.max_frame_bytes)
                except OverflowError as exc:
                    metrics.rejected.labels("oversize").inc()
                    await self._error(f"oversize frame ({exc})", 1009)
                    return
                if got is None:
                    return
                text, data = got
                if session.ended:
                    continue  # hung up: wait for the server's close after "bye"
                try:
                    if data is not None:
                        session.on_audio(data)
                        continue
                    message = orjson.loads(text or "")
                    if not isinstance(message, dict):
                        raise ValueError("a control frame must be a JSON object")
                    await session.on_control(message)
                except (ValueError, orjson.JSONDecodeError) as exc:
                    metrics.rejected.labels("malformed").inc()
                    logger.warning("browser socket: bad frame ignored: %s", exc)
                    await session.send_json({"type": "error", "message": str(exc)})
        finally:
            session.detach(page)


def _restore(agent: Any, stored: StoredCall) -> None:
    """Give a fresh agent the stored call: its history (replayed when the model starts)
    and, for a provider that resumes sessions, its handle."""
    from fullduplex.messages import validate_messages

    agent.messages = validate_messages(stored.messages())
    model = agent.model
    if stored.handle and model.capabilities.resumption and hasattr(model, "resumption_handle"):
        model.resumption_handle = stored.handle


def create_app(
    agent_factory: AgentFactory,
    config: ServeConfig | None = None,
    *,
    session_store: SessionStore | str | None = None,
    **settings: Any,
) -> Starlette:
    """The ASGI app serving ``agent_factory``'s agents (one agent per call).

    Args:
        agent_factory: returns a new ``BidiAgent`` (sync or async); called once
            per browser conversation or phone call.
        config: a :class:`ServeConfig`; or pass its fields as keyword
            arguments (``token=``, ``twilio_auth_token=``, ``public_url=`` ...).
        session_store: where calls live so another process can take them
            over: a :class:`~fullduplex_serve.store.SessionStore`, or a URL
            (``redis://host:6379/0``); default: in this process's memory.
            Its idle expiry is ``config.session_idle_s``.

    ``app.state.fullduplex.drain(grace_s)`` drains the app (what ``fullduplex
    serve`` does on SIGTERM).
    """
    if not callable(agent_factory):
        raise TypeError("agent_factory: expected a function returning a BidiAgent")
    if config is None:
        config = ServeConfig(**settings)
    elif settings:
        raise TypeError("create_app: pass either config or its fields, not both")
    if session_store is None or isinstance(session_store, str):
        store = open_store(session_store, config.session_idle_s)
    else:
        store = session_store
    server = _Server(agent_factory, config, ServeMetrics(), store)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await server.shutdown()

    routes = [
        Route("/", server.page, methods=["GET"]),
        Route("/static/{name}", server.page, methods=["GET"]),
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/metrics", server.metrics_page, methods=["GET"]),
        Route("/twilio/voice", server.twilio_voice, methods=["POST"]),
        WebSocketRoute("/browser", server.browser_socket),
        WebSocketRoute("/twilio", server.twilio_socket),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.fullduplex = server
    logging.getLogger("fullduplex.serve").debug("app created")
    return app


__all__ = ["create_app"]
