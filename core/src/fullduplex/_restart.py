"""Surviving a dropped model connection: input held meanwhile, reconnection with backoff.

A restartable failure (:class:`~fullduplex.errors.ModelConnectionError`, a
timeout) must not lose the conversation. Two pieces make that work, kept
apart from the agent's reader so each can be read on its own:

- :class:`InputHold`: while the connection is replaced, input is held, in
  order, and delivered (and only then recorded in history) once the new
  connection is up. Input that arrives while older input is still held waits
  behind it, so the model sees everything in the order it was sent. Input is
  held *only* while a restart is under way; input still held when the
  conversation ends never reached a server, so it is dropped (and logged),
  never recorded in history.
- :class:`Reconnector`: stop the model and start it again with the history,
  following a :class:`~fullduplex.retry.RetryPolicy` (growing, jittered
  backoff; a connection resets the count only once it was healthy; a bounded
  number of failures within a window), then give up with
  :class:`~fullduplex.errors.ModelRetriesExhaustedError`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Awaitable, Callable

from .errors import ModelError, ModelRetriesExhaustedError
from .events import BidiInputEvent
from .messages import Message
from .retry import RetryPolicy

logger = logging.getLogger("fullduplex.agent")


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

    def drop(self, why: str) -> list[BidiInputEvent]:
        """Forget the held input (it never reached a server): log and return it."""
        dropped = [event for event, _message in self.pending]
        self.pending.clear()
        self.restarting = False
        if dropped:
            logger.warning(
                "%d input event(s) not delivered (%s): %s",
                len(dropped),
                why,
                ", ".join(event.type for event in dropped),
            )
        return dropped


class Reconnector:
    """Replaces a failed connection as a :class:`RetryPolicy` says, or gives up.

    ``sleep``, ``rand`` and ``clock`` are the seams tests use to check the
    waits without taking them.
    """

    __slots__ = ("_failures", "_reopen", "_stop", "attempt", "clock", "rand", "sleep")

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
        #: when recent failures happened (``clock`` time), for the policy's window
        self._failures: collections.deque[float] = collections.deque()
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.rand: Callable[[], float] = random.random
        self.clock: Callable[[], float] = time.monotonic

    def reset(self) -> None:
        """Forget every failure (a new conversation starts)."""
        self.attempt = 0
        self._failures.clear()

    def _note_failure(self, policy: RetryPolicy) -> int:
        """Record one failure now; return how many fall within the window."""
        now = self.clock()
        failures = self._failures
        failures.append(now)
        while failures and failures[0] < now - policy.window_s:
            failures.popleft()
        return len(failures)

    async def reconnect(
        self, failure: ModelError, *, healthy: bool, policy: RetryPolicy
    ) -> ModelError | None:
        """Replace the connection; None once it is back, else the error to give up with.

        ``healthy``: the lost connection carried real traffic for
        ``policy.healthy_after_s``, so this failure starts a new series of
        attempts (it still counts towards the window).
        """
        if healthy:
            self.attempt = 0
        error: ModelError = failure
        while True:
            in_window = self._note_failure(policy)
            self.attempt += 1
            attempt = self.attempt
            if attempt > policy.max_attempts or in_window > policy.max_attempts:
                given_up = ModelRetriesExhaustedError(
                    f"gave up reconnecting to the model: {attempt - 1} reconnect(s) in a row "
                    f"failed, {in_window} failure(s) within {policy.window_s:g} s "
                    f"(retry.max_attempts={policy.max_attempts}, "
                    f"retry.window_s={policy.window_s:g}); last error: "
                    f"{type(error).__name__}: {error}",
                    code=error.code,
                    attempts=attempt - 1,
                )
                given_up.__cause__ = error
                return given_up
            delay = policy.backoff_s(attempt, self.rand())
            logger.warning(
                "model connection lost (%s: %s); reconnecting in %.2f s, attempt %d of %d",
                type(error).__name__,
                error,
                delay,
                attempt,
                policy.max_attempts,
            )
            if delay > 0:
                await self.sleep(delay)
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
