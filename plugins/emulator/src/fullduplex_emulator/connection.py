"""One emulated WebSocket client: its session, its faults and its writer's state.

The server base (``server.EmulatorServer``) runs one writer task per
connection; this object is what that task and the reader share.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from .faults import Faults
from .frames import Frame
from .session import EmulatedSession


class Connection:
    """One WebSocket client: its session, its faults, and its writer's state."""

    def __init__(
        self,
        index: int,
        request: web.Request,
        ws: web.WebSocketResponse,
        session: EmulatedSession,
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
        #: held while the session works off the loop, so its calls never overlap
        self.lock = asyncio.Lock()
        self.close_request: tuple[int, str] | None = None
        self.sent_count = 0
        self.close_code: int | None = None
        self.paced_until = 0.0
        self.delayed_response: str | None = None
        self.malformed_sent = False
        self.server_error_sent = False
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
