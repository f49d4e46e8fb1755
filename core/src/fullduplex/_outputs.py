"""Fan-out of the agent's output events to its outputs, one worker per output.

Each output gets its own queue (a deque) and worker task, so a slow output
(a terminal printing slowly, a speaker writing a blocking buffer) delays only
itself: publishing never awaits, and the model reader never stalls.

An interruption is not queued behind the audio: the output's pending audio is
dropped, and the event is handed to the output at once in a task of its own,
even while the worker is still inside a call for an earlier event (the speaker
must stop now, not after the backlog).

The same event object goes to every output: no copies.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .events import BidiAudioStreamEvent, BidiOutputEvent
from .io import BidiOutput

if TYPE_CHECKING:
    from .agent import BidiAgent

logger = logging.getLogger("fullduplex.agent")


class _OutputWorker:
    __slots__ = ("closing", "fanout", "output", "pending", "side_tasks", "task", "wake")

    def __init__(self, output: BidiOutput, fanout: OutputFanout) -> None:
        self.output = output
        self.fanout = fanout
        self.pending: collections.deque[BidiOutputEvent] = collections.deque()
        self.wake = asyncio.Event()
        self.closing = False
        self.task: asyncio.Task[None] | None = None
        self.side_tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        pending = self.pending
        try:
            while True:
                while pending:
                    await self.output(pending.popleft())
                if self.closing:
                    return
                self.wake.clear()
                await self.wake.wait()
        except Exception as exc:  # CancelledError is not an Exception: it propagates
            self.fanout.report(exc)

    def interrupt(self, event: BidiOutputEvent) -> None:
        kept = [e for e in self.pending if not isinstance(e, BidiAudioStreamEvent)]
        self.pending.clear()
        self.pending.extend(kept)
        task = asyncio.create_task(self._deliver_now(event), name="fullduplex-output-interrupt")
        self.side_tasks.add(task)
        task.add_done_callback(self.side_tasks.discard)

    async def _deliver_now(self, event: BidiOutputEvent) -> None:
        try:
            await self.output(event)
        except Exception as exc:
            self.fanout.report(exc)


class OutputFanout:
    """Delivers every output event to every output, each at its own pace."""

    def __init__(self, outputs: Sequence[BidiOutput], drain_timeout_s: float = 2.0) -> None:
        self._workers = [_OutputWorker(output, self) for output in outputs]
        self._drain_timeout_s = drain_timeout_s
        self._started: list[_OutputWorker] = []
        self.error: BaseException | None = None
        self.failed = asyncio.Event()

    async def start(self, agent: BidiAgent) -> None:
        """Start each output, then its worker."""
        for worker in self._workers:
            await worker.output.start(agent)
            self._started.append(worker)
            worker.task = asyncio.create_task(worker.run(), name="fullduplex-output")

    def publish(self, event: BidiOutputEvent) -> None:
        """Queue ``event`` for every output; never waits."""
        for worker in self._workers:
            worker.pending.append(event)
            worker.wake.set()

    def interrupt(self, event: BidiOutputEvent) -> None:
        """Drop each output's pending audio and hand it ``event`` right now."""
        for worker in self._started:
            worker.interrupt(event)

    def report(self, exc: BaseException) -> None:
        """An output failed: remember the first failure and wake whoever waits on it."""
        logger.error("output failed: %s: %s", type(exc).__name__, exc)
        if self.error is None:
            self.error = exc
        self.failed.set()

    async def stop(self) -> None:
        """Let outputs finish their backlog (bounded), then stop them. Safe twice."""
        tasks = [w.task for w in self._started if w.task is not None]
        for worker in self._started:
            worker.closing = True
            worker.wake.set()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=self._drain_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        side = [t for w in self._started for t in w.side_tasks]
        if side:
            _done, late = await asyncio.wait(side, timeout=self._drain_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
        for worker in self._started:
            worker.task = None
            try:
                await worker.output.stop()
            except Exception:
                logger.exception("output %r failed to stop", worker.output)
        self._started.clear()
