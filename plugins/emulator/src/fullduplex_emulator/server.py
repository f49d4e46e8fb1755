"""The server base every provider's emulator builds on: aiohttp app, runner, writer.

A front-end subclasses ``EmulatorServer`` and supplies its routes (``routes``)
and, per accepted WebSocket, a sans-I/O session (see ``session.EmulatedSession``)
handed to ``serve``. The base binds the port (``port=0`` picks a free one),
stops cleanly (every socket closed with 1001, no task left running), and runs
one writer task per connection: the only task that sends on that socket, so
replies and streamed frames never interleave out of order. The writer owns what
is time-related and the same for every provider: real-time pacing of answer
audio (``pace`` seconds of wall time per second of audio), response delays,
waking the session at its idle deadline (read on ``clock``; with a fake clock,
call ``wake()`` after moving it), fault injection and the session cap.

With ``offload=True`` (an emulator that listens and speaks: recognition and
synthesis block for tens to hundreds of milliseconds) every call into a session
(``handle``, ``pump``, ``tick``) runs on a shared pool of worker threads, one
call per connection at a time and in arrival order, so the event loop keeps
serving every other connection meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import orjson
from aiohttp import WSMessage, WSMsgType, web

from .caps import CAP_CLOSE_CODE, SessionCap
from .clock import Clock
from .connection import Connection
from .faults import Faults
from .frames import Frame

if TYPE_CHECKING:
    from .thread import EmulatorThread

#: frames taken from the session per pump when not pacing
PUMP_FRAMES: Final = 256
#: worker threads for sessions that work off the loop (``offload=True``)
OFFLOAD_WORKERS: Final = 4
T = TypeVar("T")
_INJECTED_SERVER_ERROR: Final = (
    "The server had an error while processing your request. "
    "(Injected by the emulator's fault settings.)"
)


class _Dropped(Exception):
    """The connection was dropped on purpose (a fault); stop writing."""


class EmulatorServer(ABC):
    """A local emulator of one provider's realtime service; subclass per provider."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        realtime: bool = False,
        pace: float | None = None,
        faults: Faults | None = None,
        session_cap_s: float = 3600.0,
        audio_chunk_ms: int = 50,
        record: bool = True,
        clock: Clock = time.time,
        offload: bool = False,
    ) -> None:
        name = type(self).__name__
        if pace is not None and pace < 0:
            raise ValueError(f"{name}(pace=...) must be >= 0 (0 = as fast as possible), got {pace}")
        if session_cap_s <= 0:
            raise ValueError(f"{name}(session_cap_s=...) must be > 0, got {session_cap_s}")
        if not 1 <= audio_chunk_ms <= 1000:
            raise ValueError(f"{name}(audio_chunk_ms=...) must be 1-1000, got {audio_chunk_ms}")
        self.host = host
        self.port = port
        #: seconds of wall time per second of audio: 1.0 real time, 0 as fast as possible
        self.pace = pace if pace is not None else (1.0 if realtime else 0.0)
        self.faults = faults if faults is not None else Faults()
        self.session_cap_s = session_cap_s
        self.audio_chunk_ms = audio_chunk_ms
        self.record = record
        self.clock = clock
        #: run session calls on worker threads (see the module docstring)
        self.offload = offload
        self._executor: ThreadPoolExecutor | None = None
        #: every client message received, decoded, in arrival order across connections
        self.received: list[dict[str, Any]] = []
        #: every server frame sent (``.type``, ``.data``, ``.event``), in order
        self.sent: list[Frame] = []
        self.connections: list[Connection] = []
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ what a front-end adds

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the provider's HTTP and WebSocket routes to ``app``."""

    @property
    @abstractmethod
    def base_url(self) -> str:
        """The URL a client of this provider is pointed at."""

    async def on_binary(self, conn: Connection, data: bytes) -> None:
        """A binary WebSocket message arrived; by default it goes to the session as is."""
        await self.call(conn, conn.session.handle, data)

    # ------------------------------------------------------------------ lifecycle

    @property
    def session_cap(self) -> SessionCap:
        """The session length limit as a ``SessionCap``."""
        return SessionCap(self.session_cap_s)

    @property
    def sent_events(self) -> list[dict[str, Any]]:
        """``sent`` decoded (malformed frames injected by faults are left out)."""
        return [frame.event for frame in self.sent if frame.type != "<malformed>"]

    async def start(self) -> Self:
        """Bind and serve; ``port=0`` picks a free port (then read ``.port``)."""
        app = web.Application()
        self.routes(app)
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
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def wake(self) -> None:
        """Make every connection re-read the clock now (call after moving a fake ``clock``).

        Time-driven events (an idle timeout) are otherwise checked when their deadline
        passes on the real event loop, which a fake clock does not drive.
        """
        for conn in self.connections:
            conn.wakeup.set()

    def start_in_thread(self) -> EmulatorThread[Self]:
        """Serve from a background thread with its own event loop (for synchronous callers)."""
        from .thread import EmulatorThread

        return EmulatorThread(self).start()

    async def call(
        self, conn: Connection, function: Callable[..., list[Frame]], *args: Any
    ) -> None:
        """Queue the frames of ``function(*args)`` (a session call) for ``conn``'s writer.

        Inline, or on a worker thread when offloading; either way the frames are queued
        before any later call of the same connection runs (``conn.lock``), so a reply
        (``response.created``) always precedes the frames a later ``pump`` streams.
        """
        if not self.offload:
            conn.enqueue(function(*args))
            return
        async with conn.lock:
            conn.enqueue(await self._in_worker(function, *args))

    async def _in_worker(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                OFFLOAD_WORKERS, thread_name_prefix="fullduplex-emulator-session"
            )
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _produce(
        self, conn: Connection, function: Callable[..., list[Frame]], *args: Any
    ) -> list[Frame]:
        """The writer's own session call (``pump``/``tick``), after what is already queued."""
        if not self.offload:
            return function(*args)
        async with conn.lock:
            earlier, conn.outbox = conn.outbox, []
            return earlier + await self._in_worker(function, *args)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # ------------------------------------------------------------------ connections

    async def serve(self, conn: Connection) -> None:
        """Run an accepted connection until its socket closes: read, and write from a task."""
        self.connections.append(conn)
        conn.enqueue(conn.session.open())
        writer = self._spawn(self._write_loop(conn))
        cap = self._spawn(self._expire(conn, self.session_cap))
        ws = conn.ws
        try:
            async for message in ws:
                await self._receive(conn, message)
        finally:
            cap.cancel()
            writer.cancel()
            await asyncio.gather(cap, writer, return_exceptions=True)
            conn.close_code = ws.close_code

    async def _receive(self, conn: Connection, message: WSMessage) -> None:
        if message.type == WSMsgType.TEXT:
            data: Any = message.data
            with contextlib.suppress(orjson.JSONDecodeError):
                data = orjson.loads(data)
            if self.record:
                self.received.append(
                    data if isinstance(data, dict) else {"<unparsed>": message.data}
                )
            await self.call(conn, conn.session.handle, data)
        elif message.type == WSMsgType.BINARY:
            await self.on_binary(conn, message.data)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _expire(self, conn: Connection, cap: SessionCap) -> None:
        await asyncio.sleep(cap.seconds)
        message = cap.message
        conn.enqueue([conn.session.session_expired_frame(message)])
        conn.close_request = (CAP_CLOSE_CODE, message)
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
                    due = await self._produce(conn, session.tick)
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
                if delay and next_id is not None and conn.delayed_response != next_id:
                    conn.delayed_response = next_id
                    await self._wait(conn, delay)
                    continue
                if self.pace:
                    now = loop.time()
                    if conn.paced_until > now:
                        await self._wait(conn, conn.paced_until - now)
                        continue
                    frames = await self._produce(
                        conn, session.pump, PUMP_FRAMES, self.audio_chunk_ms
                    )
                    audio_ms = sum(frame.audio_ms for frame in frames)
                    conn.paced_until = max(conn.paced_until, now) + audio_ms * self.pace / 1000
                else:
                    frames = await self._produce(conn, session.pump, PUMP_FRAMES)
                await self._send_all(conn, frames)
        except (_Dropped, ConnectionError):
            return

    @staticmethod
    async def _wait(conn: Connection, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.wakeup.wait(), seconds)

    def _record(self, frame: Frame) -> None:
        if self.record:
            self.sent.append(frame)

    async def _send_all(self, conn: Connection, frames: list[Frame]) -> None:
        ws = conn.ws
        for frame in frames:
            faults = conn.faults
            if faults.drop_at_event_type == frame.type:
                await self._drop(conn)
            if ws.closed:
                raise _Dropped
            await ws.send_frame(frame.data, WSMsgType.TEXT)
            self._record(frame)
            conn.sent_count += 1
            count = conn.sent_count
            if faults.server_error_after_events == count and not conn.server_error_sent:
                conn.server_error_sent = True
                extra = conn.session.server_error_frame(_INJECTED_SERVER_ERROR)
                await ws.send_frame(extra.data, WSMsgType.TEXT)
                self._record(extra)
            if faults.malformed_frame_after_events == count and not conn.malformed_sent:
                conn.malformed_sent = True
                garbage = conn.session.malformed_frame()
                await ws.send_frame(garbage.data, WSMsgType.TEXT)
                self._record(garbage)
            if faults.drop_after_events is not None and count >= faults.drop_after_events:
                await self._drop(conn)

    @staticmethod
    async def _drop(conn: Connection) -> None:
        code = conn.faults.close_code
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            await conn.ws.close(code=code, message=b"connection dropped by emulator fault")
        raise _Dropped
