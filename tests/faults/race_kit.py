"""What the stop/cancel races over real sockets need: gates a server script pauses at,
and one check that a stopped conversation left nothing behind.

Each race holds the client at one await point (a server that has not answered the
HTTP upgrade, has not confirmed the session, has stopped reading so the client's
writes back up, ...), stops or cancels it there, and then checks, with everything
bounded:

- the server saw every connection closed (the client did not leave a socket open);
- the process holds no more sockets than before (``/proc/self/fd``);
- no task started by the test is still running;
- no ``ResourceWarning`` (an unclosed transport or socket) once garbage is collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from raw_server import RawServer, Script

from fullduplex import BidiAgent

#: how long stop() may take at any await point: well under the connect timeout (3 s
#: in fault_kit.make_model) and the websockets close timeout (5 s) it must not wait out
STOP_BOUND_S = 2.0
#: how long the server may take to see a closed connection, and the tasks to end
CLEANUP_BOUND_S = 3.0


class Gate:
    """A point a server script (or handshake) pauses at until the test opens it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reached = asyncio.Event()
        self._open = asyncio.Event()

    async def pause(self) -> None:
        self.reached.set()
        await self._open.wait()

    async def wait_reached(self, timeout: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.reached.wait()
        except TimeoutError:
            raise AssertionError(f"the server never reached {self.name!r}") from None

    def open(self) -> None:
        self._open.set()


class Race:
    """The server of one race, its gates, and the handshake gates by connection number."""

    def __init__(self, server: RawServer, handshake_gates: dict[int, Gate]) -> None:
        self.server = server
        self.handshake_gates = handshake_gates
        self.gates: list[Gate] = list(handshake_gates.values())

    def gate(self, name: str) -> Gate:
        gate = Gate(name)
        self.gates.append(gate)
        return gate

    def handshake(self, index: int) -> Gate:
        return self.handshake_gates[index]


def open_sockets() -> int:
    """How many sockets this process holds (Linux: ``/proc/self/fd``)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd is gone by now
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
    return count


def client_backlog(agent: BidiAgent) -> int:
    """Bytes the client's websocket has queued but the kernel did not take: above the
    transport's high-water mark the client waits in ``drain()``, i.e. inside a send."""
    conn: Any = getattr(agent.model, "_conn", None)
    if conn is None:
        return 0
    size: int = conn.ws.transport.get_write_buffer_size()
    return size


async def until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None


async def bounded_stop(agent: BidiAgent) -> None:
    """``agent.stop()``, failing (not hanging) if it takes longer than STOP_BOUND_S."""
    try:
        async with asyncio.timeout(STOP_BOUND_S):
            await agent.stop()
    except TimeoutError:
        raise AssertionError(f"stop() did not return within {STOP_BOUND_S:g} s") from None


async def settled(task: asyncio.Task[Any], what: str) -> BaseException | None:
    """Wait (bounded) for ``task``; return how it ended (None when it returned)."""
    try:
        async with asyncio.timeout(STOP_BOUND_S):
            await asyncio.wait({task})
    except TimeoutError:
        raise AssertionError(f"{what} did not end within {STOP_BOUND_S:g} s of stop()") from None
    if task.cancelled():
        return asyncio.CancelledError()
    return task.exception()


async def _server_saw_every_close(server: RawServer) -> None:
    for index, ws in enumerate(server.handshakes):
        try:
            async with asyncio.timeout(CLEANUP_BOUND_S):
                await ws.wait_closed()
        except TimeoutError:
            raise AssertionError(
                f"the server still sees connection {index} open: the client left its socket open"
            ) from None


async def _no_tasks_left(before: set[asyncio.Task[Any]]) -> None:
    current = asyncio.current_task()

    def left() -> list[asyncio.Task[Any]]:
        return [
            task
            for task in asyncio.all_tasks()
            if task is not current and task not in before and not task.done()
        ]

    try:
        async with asyncio.timeout(CLEANUP_BOUND_S):
            while left():
                await asyncio.sleep(0.01)
    except TimeoutError:
        names = [f"{t.get_name()}: {t.get_coro()!r}" for t in left()]
        raise AssertionError(f"tasks still running after stop(): {names}") from None


def _no_resource_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], leaks


@contextlib.asynccontextmanager
async def racing(
    scripts: Sequence[Script], *, hold_handshakes: Sequence[int] = ()
) -> AsyncIterator[Race]:
    """A raw server for one race; on the way out (the test has stopped or cancelled the
    agent by then) open every gate and check that nothing was left behind.

    Scripts should return after their gate rather than hold: the server then reads
    until the client leaves, and so sees the close even behind megabytes of unread
    frames (websockets stops reading a connection whose frames nobody takes).

    ``hold_handshakes``: the connection numbers whose opening handshake waits at a gate
    (``race.handshake(n)``).
    """
    gates = {
        index: Gate(f"the opening handshake of connection {index}") for index in hold_handshakes
    }

    async def handshake(index: int) -> None:
        gate = gates.get(index)
        if gate is not None:
            await gate.pause()

    tasks = set(asyncio.all_tasks())
    async with RawServer(scripts, handshake=handshake) as server:
        sockets = open_sockets()
        race = Race(server, gates)
        yield race
        for gate in race.gates:
            gate.open()
        for conn in server.conns:  # a paused reader would never see the client's close
            conn.ws.transport.resume_reading()
        await _server_saw_every_close(server)
        await _no_tasks_left(tasks)
        assert open_sockets() == sockets, "the client left a socket open"
    _no_resource_warning()


def big_history(items: int, size: int) -> list[dict[str, Any]]:
    """A history of ``items`` messages of ``size`` characters each (user and assistant
    in turn): more than loopback buffers hold, so its replay backs up when the server
    stops reading."""
    return [
        {
            "role": "user" if n % 2 == 0 else "assistant",
            "content": [{"text": f"{n:04d}" + "x" * (size - 4)}],
        }
        for n in range(items)
    ]
