"""Surviving a dropped model connection: input held meanwhile, reconnection with backoff.

A restartable failure (:class:`~fullduplex.errors.ModelConnectionError`, a
timeout) must not lose the conversation. Two pieces make that work, kept
apart from the agent's reader so each can be read on its own:

- :class:`InputHold`: while the connection is replaced, input is held, in
  order, and delivered (and only then recorded in history) once the new
  connection is up. Input that arrives while older input is still held waits
  behind it, so the model sees everything in the order it was sent.
- :class:`Reconnector`: stop the model and start it again with the history,
  waiting longer before each attempt, and give up after ``max_restarts``
  consecutive failures. Attempts count as consecutive until a connection
  carries at least one event.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

from .errors import ModelError
from .events import BidiInputEvent
from .messages import Message

logger = logging.getLogger("fullduplex.agent")

#: the longest wait between two reconnection attempts, whatever the backoff
_MAX_BACKOFF_S = 30.0


class InputHold:
    """Input waiting for a connection, and the lock that keeps sends in order."""

    __slots__ = ("lock", "pending", "restarting")

    def __init__(self) -> None:
        #: held across a send, so input reaches the model in the order it was sent
        self.lock = asyncio.Lock()
        #: (event, history message recorded once delivered) not yet sent
        self.pending: collections.deque[tuple[BidiInputEvent, Message | None]] = collections.deque()
        #: the connection is being replaced: new input must be held
        self.restarting = False

    async def flush(
        self,
        send: Callable[[BidiInputEvent], Awaitable[None]],
        record: Callable[[Message], Awaitable[None]],
    ) -> None:
        """Deliver the held input, in order (raises on failure, keeping the rest)."""
        async with self.lock:
            pending = self.pending
            while pending:
                event, message = pending[0]
                await send(event)
                pending.popleft()
                if message is not None:
                    await record(message)


class Reconnector:
    """Replaces a failed connection, with exponential backoff and a bounded count."""

    __slots__ = ("_reopen", "_stop", "attempt")

    def __init__(
        self,
        *,
        stop: Callable[[], Awaitable[None]],
        reopen: Callable[[], Awaitable[None]],
    ) -> None:
        self._stop = stop
        self._reopen = reopen
        #: consecutive attempts so far (the last successful one's number after a success)
        self.attempt = 0

    async def reconnect(
        self, failure: ModelError, *, progressed: bool, max_restarts: int, backoff_s: float
    ) -> ModelError | None:
        """Replace the connection; None once it is back, else the error to give up with.

        ``progressed``: the lost connection carried events, so this failure
        starts a new series of attempts. ``max_restarts`` and ``backoff_s`` are
        read per failure (the agent's settings may change between them).
        """
        if progressed:
            self.attempt = 0
        error: ModelError = failure
        while True:
            self.attempt += 1
            attempt = self.attempt
            if attempt > max_restarts:
                return error
            logger.warning(
                "model connection lost (%s: %s); reconnecting, attempt %d of %d",
                type(error).__name__,
                error,
                attempt,
                max_restarts,
            )
            delay = min(backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._stop()
            except Exception:
                logger.debug("model.stop() failed during a restart", exc_info=True)
            try:
                await self._reopen()
            except ModelError as exc:
                if exc.restartable:
                    error = exc
                    continue
                return exc
            return None
