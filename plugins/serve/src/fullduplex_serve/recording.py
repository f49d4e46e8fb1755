"""Writing one call into the session store, off the conversation's path.

The agent tells the plugin of each message it records (the ``on_message_added``
hook, see :mod:`.plugin`); the hook only queues the write, never waits on the
store. One writer task per call applies the queued writes in order, batching
consecutive messages into one append. When the store is unreachable (Redis
restarting) the writes stay queued and are retried with a growing pause, so
the call goes on and the store catches up once it is back. A write the store
refuses because another process now owns the call means the page resumed
elsewhere: the recorder stops and tells the session. A store that can watch
its calls (:class:`~.store.OwnerWatch`) tells it sooner: as soon as the other
process claims the call, not at the next write.

A message can change after it was recorded: the user cut the answer short, so
the agent marks it ``"interrupted"`` (and, for a model that cannot truncate,
keeps only the heard part, or takes it out). The ``on_interruption`` hook
makes the recorder compare the recent messages with what it wrote and append
a ``replace`` or ``remove`` entry for each that changed. To know where each
message sits in the store, the recorder keeps a mirror of the stored history
(the same message objects, each with a copy of what was written).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .store import CallGoneError, HistoryEntry, OwnerWatch, SessionStore

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent

logger = logging.getLogger("fullduplex.serve")

_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 1.0
#: how many of the latest messages an interruption may have changed (the agent marks
#: only its recent answers)
_AMEND_WINDOW = 64


@attrs.frozen(slots=True)
class _Op:
    kind: str  # append | handle | hold | release
    entries: tuple[HistoryEntry, ...] = ()
    value: Any = None


#: the recorder of each live agent (agents are built by the user's factory, so the
#: hook finds the call by its agent)
_RECORDERS: weakref.WeakKeyDictionary[object, CallRecorder] = weakref.WeakKeyDictionary()


def message_added(agent: object, message: Mapping[str, Any]) -> None:
    """The hook's body: queue ``message`` for the store of the call ``agent`` serves."""
    recorder = _RECORDERS.get(agent)
    if recorder is not None:
        recorder.message(agent, message)


def interrupted(agent: object) -> None:
    """The ``on_interruption`` hook's body: write the messages the cut changed."""
    recorder = _RECORDERS.get(agent)
    if recorder is not None:
        recorder.amend(agent)


class CallRecorder:
    """The queue of writes of one call, and the task that applies them."""

    def __init__(
        self, store: SessionStore, token: str, owner: str, on_lost: Callable[[], None]
    ) -> None:
        self.store = store
        self.token = token
        self.owner = owner
        self._on_lost = on_lost
        self._ops: collections.deque[_Op] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._handle: str | None = None
        #: the held input the agent is sending now (id, text): the message it
        #: becomes releases it in the same write, so a crash never leaves it
        #: both in the history and held
        self.taking: tuple[str, str] | None = None
        self.lost = False
        self._failing = False
        self._agent: weakref.ref[BidiAgent] | None = None
        #: inputs held and not yet released (to write again if the store lost the call)
        self._held: dict[str, dict[str, Any]] = {}
        #: the history as the store has it once the queued writes are in: each
        #: message (the agent's object) and a copy of what was written of it
        self._mirror: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="fullduplex-store-writer"
        )
        if isinstance(store, OwnerWatch):
            store.watch(token, owner, self.taken)

    def follow(self, agent: BidiAgent, restored: bool = False) -> None:
        """Record ``agent``'s messages from now on.

        ``restored``: the agent's history came from the store (a call taken
        over), so it is already stored as it is now.
        """
        _RECORDERS[agent] = self
        self._agent = weakref.ref(agent)
        if restored:
            self._mirror = [(m, copy.deepcopy(dict(m))) for m in agent.messages]

    def taken(self) -> None:
        """Another process claimed the call: stop writing and tell the session."""
        if self.lost:
            return
        self.lost = True
        self._ops.clear()
        self._idle.set()
        self._task.cancel()
        logger.info("browser session: another process took the call over; ending it here")
        self._on_lost()

    def message(self, agent: object, message: Mapping[str, Any]) -> None:
        messages: list[Any] = getattr(agent, "messages", [])
        at = len(messages) - 1
        for index in range(len(messages) - 1, -1, -1):
            if messages[index] is message:
                at = index
                break
        release = None
        taking = self.taking
        if taking is not None and message.get("role") == "user":
            content = message.get("content")
            texts = [b.get("text") for b in content or () if isinstance(b, dict)]
            if taking[1] in texts:
                release, self.taking = taking[0], None
                self._held.pop(release, None)
        written = copy.deepcopy(dict(message))
        # where the store puts it (an index past the end appends)
        self._mirror.insert(min(at, len(self._mirror)), (message, written))
        self._put(_Op("append", (HistoryEntry(written, at),), release))
        self._note_handle(agent)

    def amend(self, agent: object) -> None:
        """Write the recent messages that changed since they were written (or went).

        From the newest back, so that taking one out does not move the places
        of those still to be written.
        """
        current = {id(m) for m in getattr(agent, "messages", [])}
        changes: list[HistoryEntry] = []
        for index in range(
            len(self._mirror) - 1, max(len(self._mirror) - _AMEND_WINDOW, 0) - 1, -1
        ):
            message, written = self._mirror[index]
            if id(message) not in current:
                del self._mirror[index]
                changes.append(HistoryEntry({}, index, "remove"))
            elif message != written:
                now = copy.deepcopy(dict(message))
                self._mirror[index] = (message, now)
                changes.append(HistoryEntry(now, index, "replace"))
        if changes:
            self._put(_Op("append", tuple(changes)))

    def _note_handle(self, agent: object) -> None:
        model = getattr(agent, "model", None)
        caps = getattr(model, "capabilities", None)
        if not getattr(caps, "resumption", False):
            return
        handle = getattr(model, "resumption_handle", None)
        if isinstance(handle, str) and handle != self._handle:
            self._handle = handle
            self._put(_Op("handle", value=handle))

    def hold(self, entry: Mapping[str, Any]) -> None:
        self._held[str(entry["id"])] = dict(entry)
        self._put(_Op("hold", value=dict(entry)))

    def release(self, input_id: str) -> None:
        self._held.pop(input_id, None)
        self._put(_Op("release", value=input_id))

    def _put(self, op: _Op) -> None:
        if self.lost or self._task.done():
            return
        self._ops.append(op)
        self._idle.clear()
        self._wake.set()

    async def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until every queued write is in the store."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 1.0) -> None:
        """Write what is queued (bounded), then stop the writer."""
        await self.flush(timeout)
        if isinstance(self.store, OwnerWatch):
            self.store.unwatch(self.token, self.owner)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _rewrite(self) -> None:
        """The store lost the call (restarted empty): write all of it again, from the agent."""
        agent = self._agent() if self._agent is not None else None
        messages: list[Any] = list(getattr(agent, "messages", []))
        self._mirror = [(m, copy.deepcopy(dict(m))) for m in messages]
        await self.store.create(self.token, self.owner)
        entries = tuple(HistoryEntry(w, i) for i, (_m, w) in enumerate(self._mirror))
        if entries:
            await self.store.append(self.token, self.owner, entries)
        for entry in list(self._held.values()):
            await self.store.hold(self.token, self.owner, entry)
        if self._handle is not None:
            await self.store.set_handle(self.token, self.owner, self._handle)
        # what was queued is in the agent's history and the held set written above
        self._ops.clear()
        logger.info("session store had lost a call; wrote it again (%d messages)", len(entries))

    async def _apply(self, op: _Op) -> bool:
        store, token, owner = self.store, self.token, self.owner
        if op.kind == "append":
            return await store.append(token, owner, op.entries, release=op.value)
        if op.kind == "handle":
            return await store.set_handle(token, owner, op.value)
        if op.kind == "hold":
            return await store.hold(token, owner, op.value)
        return await store.release(token, owner, op.value)

    def _next(self) -> _Op:
        """The next write, with the appends queued right behind it merged in."""
        op = self._ops.popleft()
        if op.kind != "append":
            return op
        entries, release = list(op.entries), op.value
        while self._ops and self._ops[0].kind == "append" and len(entries) < 64:
            if release is not None and self._ops[0].value is not None:
                break
            follower = self._ops.popleft()
            entries.extend(follower.entries)
            release = release if release is not None else follower.value
        return _Op("append", tuple(entries), release)

    async def _run(self) -> None:
        pause = _RETRY_FIRST_S
        while True:
            if not self._ops:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            op = self._next()
            try:
                try:
                    kept = await self._apply(op)
                except CallGoneError:
                    await self._rewrite()
                    kept = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ops.appendleft(op)
                if not self._failing:
                    self._failing = True
                    logger.warning(
                        "session store unreachable (%s); the call goes on, writes are kept "
                        "and retried",
                        type(exc).__name__,
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_S)
                continue
            pause = _RETRY_FIRST_S
            if self._failing:
                self._failing = False
                logger.info("session store reachable again; the call's writes caught up")
            if not kept:
                self.lost = True
                self._ops.clear()
                self._idle.set()
                logger.info("browser session: another process took the call over; ending it here")
                self._on_lost()
                return

    @property
    def pending(self) -> int:
        """Writes not yet in the store."""
        return len(self._ops)


__all__ = ["CallRecorder", "interrupted", "message_added"]
