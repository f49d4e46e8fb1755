"""A scripted Realtime server on loopback for the fault matrix, built on ``websockets``.

The emulator plays a well-behaved service with a few injectable faults; the
fault matrix needs a server that misbehaves at an exact point of the protocol
(after the first replayed item, between two tool results, ...) and in ways the
emulator cannot (stop reading the socket and answering pings: a half-open
connection). Each connection runs the test's script, one per connection in
order (the last one repeats), with the helpers of :class:`RawConn`. Every
client event is recorded per connection, so tests assert on what the server
received, connection by connection.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

#: the pseudo close code for "no close frame at all" (the TCP connection is aborted)
ABORT = 1006


class RawConn:
    """One client connection as a script sees it."""

    def __init__(self, index: int, ws: ServerConnection) -> None:
        self.index = index
        self.ws = ws
        #: every client event received on this connection, decoded, in order
        self.received: list[dict[str, Any]] = []
        self._responses = 0

    # reading ---------------------------------------------------------------------
    async def recv(self) -> dict[str, Any]:
        """The next client event (recorded); raises ``ConnectionClosed`` at the end."""
        raw = await self.ws.recv()
        event: dict[str, Any] = json.loads(raw)
        self.received.append(event)
        return event

    async def until(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Read until an event matches ``predicate``; return it."""
        while True:
            event = await self.recv()
            if predicate(event):
                return event

    async def until_type(self, kind: str) -> dict[str, Any]:
        return await self.until(lambda event: event.get("type") == kind)

    def types(self) -> list[str]:
        return [str(event.get("type")) for event in self.received]

    def items(self) -> list[dict[str, Any]]:
        """The items the client created on this connection, in order."""
        return [
            event["item"]
            for event in self.received
            if event.get("type") == "conversation.item.create"
        ]

    def texts(self, role: str) -> list[str]:
        """The text of every message item of ``role`` created on this connection."""
        return [
            str(part.get("text"))
            for item in self.items()
            if item.get("type") == "message" and item.get("role") == role
            for part in item.get("content", ())
            if "text" in part
        ]

    def outputs(self, call_id: str) -> list[dict[str, Any]]:
        """Every ``function_call_output`` item for ``call_id`` on this connection."""
        return [
            item
            for item in self.items()
            if item.get("type") == "function_call_output" and item.get("call_id") == call_id
        ]

    def count(self, kind: str) -> int:
        return self.types().count(kind)

    # writing ---------------------------------------------------------------------
    async def send(self, **fields: Any) -> None:
        await self.ws.send(json.dumps(fields))

    async def confirm(self) -> None:
        """What the service does on connect: ``session.created``, then ``session.updated``
        once the client's ``session.update`` arrived."""
        await self.send(type="session.created", session={"id": f"sess_{self.index}"})
        update = await self.until_type("session.update")
        await self.send(type="session.updated", session=update.get("session", {}))

    def response_id(self) -> str:
        self._responses += 1
        return f"resp_{self.index}_{self._responses}"

    async def start_response(self) -> str:
        rid = self.response_id()
        await self.send(type="response.created", response={"id": rid, "status": "in_progress"})
        return rid

    async def answer(self, text: str) -> None:
        """A whole text response saying ``text``."""
        rid = await self.start_response()
        item = f"item_{rid}"
        await self.send(
            type="response.output_text.delta", response_id=rid, item_id=item, delta=text
        )
        await self.send(type="response.output_text.done", response_id=rid, item_id=item, text=text)
        await self.send(
            type="response.done", response={"id": rid, "status": "completed", "output": []}
        )

    async def call_tools(self, calls: Sequence[tuple[str, str, str]]) -> None:
        """A whole response that calls tools: ``(call_id, name, arguments JSON)`` each."""
        rid = await self.start_response()
        output = []
        for call_id, name, arguments in calls:
            item = f"item_{call_id}"
            await self.send(
                type="response.output_item.added",
                response_id=rid,
                item={"id": item, "type": "function_call", "call_id": call_id, "name": name},
            )
            await self.send(
                type="response.function_call_arguments.done",
                response_id=rid,
                item_id=item,
                call_id=call_id,
                name=name,
                arguments=arguments,
            )
            output.append(
                {
                    "id": item,
                    "type": "function_call",
                    "call_id": call_id,
                    "name": name,
                    "arguments": arguments,
                }
            )
        await self.send(
            type="response.done", response={"id": rid, "status": "completed", "output": output}
        )

    # failing -----------------------------------------------------------------------
    async def close(self, code: int) -> None:
        """Close with ``code``, or drop the TCP connection without a close frame (ABORT)."""
        if code == ABORT:
            self.ws.transport.abort()
            return
        await self.ws.close(code, "closed by the fault matrix")

    async def half_open(self) -> None:
        """Stop reading the socket (so no pong either) and never write again: to the client
        the peer is alive at the TCP level and silent forever."""
        self.ws.transport.pause_reading()
        await self.hold()

    async def hold(self) -> None:
        """Say nothing until the connection is gone (the server's shutdown aborts it)."""
        await self.ws.wait_closed()


Script = Callable[[RawConn], Awaitable[None]]
#: runs during the opening handshake of the n-th connection (0-based), before the
#: server answers the HTTP upgrade: a test can hold a client in the middle of connecting
Handshake = Callable[[int], Awaitable[None]]


class RawServer:
    """``async with RawServer([script0, script1, ...]) as server``; the last script repeats.

    ``handshake`` (optional) runs in each opening handshake; ``port`` 0 picks a free
    port, another number reopens a server where an earlier one was (an outage test).
    """

    def __init__(
        self, scripts: Sequence[Script], *, handshake: Handshake | None = None, port: int = 0
    ) -> None:
        if not scripts:
            raise ValueError("RawServer needs at least one script")
        self.scripts = list(scripts)
        self.conns: list[RawConn] = []
        #: every connection that reached the server, also those still in (or that never
        #: got past) the opening handshake, in the order they arrived
        self.handshakes: list[ServerConnection] = []
        self._handshake = handshake
        self._port = port
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _process_request(self, ws: ServerConnection, _request: Request) -> Response | None:
        index = len(self.handshakes)
        self.handshakes.append(ws)
        if self._handshake is not None:
            await self._handshake(index)
        return None  # go on with the upgrade

    async def _handle(self, ws: ServerConnection) -> None:
        conn = RawConn(len(self.conns), ws)
        self.conns.append(conn)
        script = self.scripts[min(conn.index, len(self.scripts) - 1)]
        try:
            await script(conn)
            while True:  # the script is done: keep recording until the client leaves
                await conn.recv()
        except ConnectionClosed:
            return

    async def __aenter__(self) -> RawServer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self._port,
            max_size=None,
            ping_interval=None,
            process_request=self._process_request,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        for ws in self.handshakes:  # half-open ones would wait out a close handshake
            ws.transport.abort()
        self._server.close()
        await self._server.wait_closed()
