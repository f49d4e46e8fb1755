"""The FIFO between the agent's reader task and ``BidiAgent.receive()``.

Why not ``asyncio.Queue``: every audio chunk passes through here, and the
queue's bookkeeping (size limits, ``task_done`` counters, a getter future per
empty wait, a coroutine per ``get``) costs more than the rest of the agent's
per-chunk work together (``benchmarks/throughput.py``). This buffer is an
unbounded deque: a put is an append, and a reader that finds items takes them
without awaiting; only an empty buffer makes a reader wait on a future.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Generic, TypeVar

T = TypeVar("T")


class EventBuffer(Generic[T]):
    """An unbounded FIFO for one event loop; any number of readers may wait."""

    __slots__ = ("_waiters", "items")

    def __init__(self) -> None:
        #: The buffered items; readers may pop from it directly when it is not empty.
        self.items: collections.deque[T] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def __len__(self) -> int:
        return len(self.items)

    def empty(self) -> bool:
        return not self.items

    def put_nowait(self, item: T) -> None:
        """Append ``item``; wake one waiting reader. Never blocks."""
        self.items.append(item)
        if self._waiters:
            self._wake_one()

    def get_nowait(self) -> T:
        """The oldest item; ``IndexError`` when empty."""
        return self.items.popleft()

    async def get(self) -> T:
        """The oldest item, waiting for one when empty."""
        items = self.items
        while not items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                if items:  # woken but cancelled: pass the wake-up on
                    self._wake_one()
                raise
        return items.popleft()

    def _wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
