"""Session stores: where a call lives so that it outlives the process that holds it.

A store keeps, per call (keyed by the browser's resume token):

- the conversation history as it grows, one entry appended per message (an
  entry says where the message goes, since a spoken turn's transcript may be
  inserted before an answer that came first), never rewritten: a message
  changed after it was stored (marked ``"interrupted"`` and shortened to what
  the user heard, or taken out when nothing was heard) is one more entry that
  replaces or removes the message at its place;
- the owner (the process holding the call now) and the provider's resumption
  handle, where the provider has one;
- the held input: text the page sent that the model has not taken yet;
- the ids of the inputs already taken, so an input sent twice (a page that
  was not sure the first copy arrived) is delivered once.

Every write names its owner: a process that lost the call to another (the
page resumed elsewhere) is told so and stops writing. Entries expire after an
idle time. Stores are found by URL scheme through the ``register_session_stores``
hook; :class:`MemorySessionStore` (one process) is the default.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from fullduplex.errors import ConfigurationError

#: how long a call nobody touches is kept (seconds), unless configured
DEFAULT_IDLE_TTL_S = 600.0


class CallGoneError(LookupError):
    """The store no longer has the call (it expired, or the store restarted empty)."""


#: what a history entry does at its index: a new message, a changed one, one taken out
HISTORY_OPS = ("add", "replace", "remove")


@attrs.frozen(slots=True)
class HistoryEntry:
    """One change of the history and where it went (``at``: the index then).

    ``op`` is ``"add"`` (a new message, inserted at ``at``), ``"replace"`` (the
    message at ``at`` changed after it was stored, e.g. marked interrupted) or
    ``"remove"`` (the message at ``at`` was taken out; ``message`` is empty).
    """

    message: dict[str, Any]
    at: int
    op: str = "add"

    def to_dict(self) -> dict[str, Any]:
        if self.op == "add":
            return {"at": self.at, "message": self.message}
        return {"at": self.at, "message": self.message, "op": self.op}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        op = str(data.get("op", "add"))
        if op not in HISTORY_OPS:
            raise ValueError(f"history entry op: got {op!r}; accepted: {', '.join(HISTORY_OPS)}")
        return cls(dict(data["message"]), int(data["at"]), op)


@attrs.frozen(slots=True)
class StoredCall:
    """What a store holds of one call."""

    token: str
    owner: str
    history: tuple[HistoryEntry, ...] = ()
    handle: str | None = None
    held: tuple[dict[str, Any], ...] = ()

    def messages(self) -> list[dict[str, Any]]:
        """The history rebuilt in order (each entry inserted where it went)."""
        rebuilt: list[dict[str, Any]] = []
        for entry in self.history:
            if entry.op != "add":
                if 0 <= entry.at < len(rebuilt):
                    if entry.op == "replace":
                        rebuilt[entry.at] = entry.message
                    else:
                        del rebuilt[entry.at]
            elif entry.at >= len(rebuilt):
                rebuilt.append(entry.message)
            else:
                rebuilt.insert(max(entry.at, 0), entry.message)
        return rebuilt


@runtime_checkable
class SessionStore(Protocol):
    """What ``fullduplex serve`` needs of a store (all methods are coroutines).

    Methods taking ``owner`` return ``False`` when the call now belongs to
    another owner: the caller has lost it and must stop. They raise
    :class:`CallGoneError` when the store has no such call any more (a Redis
    restarted without persistence): the caller writes the call again.
    """

    #: how long an untouched call is kept, in seconds
    idle_ttl_s: float

    async def claim(self, token: str, owner: str) -> StoredCall | None:
        """Make ``owner`` hold the call; the call as stored, or ``None`` if unknown.

        ``create`` starts a call; ``claim`` takes over one that exists.
        """
        ...

    async def create(self, token: str, owner: str) -> None:
        """Start a new call held by ``owner``."""
        ...

    async def append(
        self,
        token: str,
        owner: str,
        entries: Sequence[HistoryEntry],
        release: str | None = None,
    ) -> bool:
        """Append history entries (in order); in the same write, release the held input
        ``release`` (the message it became is among ``entries``)."""
        ...

    async def set_handle(self, token: str, owner: str, handle: str | None) -> bool:
        """Keep the provider's latest resumption handle."""
        ...

    async def hold(self, token: str, owner: str, entry: Mapping[str, Any]) -> bool:
        """Keep an input the model has not taken yet (``entry["id"]`` names it)."""
        ...

    async def release(self, token: str, owner: str, input_id: str) -> bool:
        """The model took the held input ``input_id``."""
        ...

    async def first_time(self, token: str, input_id: str) -> bool:
        """Note ``input_id`` as received; ``False`` when it was received before."""
        ...

    async def delete(self, token: str, owner: str) -> None:
        """The call is over: forget it (only if ``owner`` still holds it)."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class OwnerWatch(Protocol):
    """What a store offers when it can tell a process at once that it lost a call.

    Without it, a process whose call was taken over by another (the page
    resumed there while this one was still alive) finds out on its next
    write, which may be long in coming on a quiet call. A store with it calls
    ``lost`` soon after another owner claims the call. Optional: a store
    without these methods still works.
    """

    def watch(self, token: str, owner: str, lost: Callable[[], None]) -> None:
        """Call ``lost`` (once, on the event loop) when another owner claims ``token``."""
        ...

    def unwatch(self, token: str, owner: str) -> None:
        """Stop watching ``token`` for ``owner`` (the call ended here)."""
        ...


def check_ttl(idle_ttl_s: float) -> float:
    if isinstance(idle_ttl_s, bool) or not isinstance(idle_ttl_s, int | float) or idle_ttl_s <= 0:
        raise ConfigurationError(
            f"idle_ttl_s: expected a positive number of seconds, got {idle_ttl_s!r}"
        )
    return float(idle_ttl_s)


@attrs.define(slots=True)
class _Entry:
    owner: str
    history: list[HistoryEntry] = attrs.Factory(list)
    handle: str | None = None
    held: dict[str, dict[str, Any]] = attrs.Factory(dict)
    seen: set[str] = attrs.Factory(set)
    touched: float = attrs.Factory(time.monotonic)


class MemorySessionStore:
    """The default store: a dict in this process (calls survive a dropped socket, not a
    dead process). Registered as ``memory``."""

    def __init__(self, url: str = "memory://", *, idle_ttl_s: float = DEFAULT_IDLE_TTL_S) -> None:
        if url not in ("memory", "memory://"):
            raise ConfigurationError(f"session store: got {url!r}; accepted: 'memory://'")
        self.idle_ttl_s = check_ttl(idle_ttl_s)
        self._calls: dict[str, _Entry] = {}
        #: token -> owner -> what to call when another owner claims the call
        self._watchers: dict[str, dict[str, Callable[[], None]]] = {}

    def watch(self, token: str, owner: str, lost: Callable[[], None]) -> None:
        self._watchers.setdefault(token, {})[owner] = lost

    def unwatch(self, token: str, owner: str) -> None:
        watchers = self._watchers.get(token)
        if watchers is not None:
            watchers.pop(owner, None)
            if not watchers:
                del self._watchers[token]

    def _tell_losers(self, token: str, owner: str) -> None:
        watchers = self._watchers.get(token, {})
        for loser in [o for o in watchers if o != owner]:
            asyncio.get_running_loop().call_soon(watchers.pop(loser))

    def _get(self, token: str) -> _Entry | None:
        now = time.monotonic()
        for key in [k for k, e in self._calls.items() if now - e.touched > self.idle_ttl_s]:
            del self._calls[key]
        entry = self._calls.get(token)
        if entry is not None:
            entry.touched = now
        return entry

    def _owned(self, token: str, owner: str) -> _Entry | None:
        entry = self._get(token)
        if entry is None:
            raise CallGoneError(token)
        return entry if entry.owner == owner else None

    async def create(self, token: str, owner: str) -> None:
        self._get(token)
        self._calls[token] = _Entry(owner)

    async def claim(self, token: str, owner: str) -> StoredCall | None:
        entry = self._get(token)
        if entry is None:
            return None
        entry.owner = owner
        self._tell_losers(token, owner)
        return StoredCall(
            token, owner, tuple(entry.history), entry.handle, tuple(entry.held.values())
        )

    async def append(
        self,
        token: str,
        owner: str,
        entries: Sequence[HistoryEntry],
        release: str | None = None,
    ) -> bool:
        entry = self._owned(token, owner)
        if entry is None:
            return False
        entry.history.extend(entries)
        if release is not None:
            entry.held.pop(release, None)
        return True

    async def set_handle(self, token: str, owner: str, handle: str | None) -> bool:
        entry = self._owned(token, owner)
        if entry is None:
            return False
        entry.handle = handle
        return True

    async def hold(self, token: str, owner: str, held: Mapping[str, Any]) -> bool:
        entry = self._owned(token, owner)
        if entry is None:
            return False
        entry.held[str(held["id"])] = dict(held)
        return True

    async def release(self, token: str, owner: str, input_id: str) -> bool:
        entry = self._owned(token, owner)
        if entry is None:
            return False
        entry.held.pop(input_id, None)
        return True

    async def first_time(self, token: str, input_id: str) -> bool:
        entry = self._get(token)
        if entry is None:
            return True
        if input_id in entry.seen:
            return False
        entry.seen.add(input_id)
        return True

    async def delete(self, token: str, owner: str) -> None:
        entry = self._get(token)
        if entry is not None and entry.owner == owner:
            del self._calls[token]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._calls.clear()
        self._watchers.clear()


def open_store(url: str | None, idle_ttl_s: float = DEFAULT_IDLE_TTL_S) -> SessionStore:
    """The store ``url`` names, found by its scheme among the registered stores."""
    if url is None:
        return MemorySessionStore(idle_ttl_s=idle_ttl_s)
    from fullduplex.lookup import get_session_store

    store = get_session_store(url, idle_ttl_s=idle_ttl_s)
    if not isinstance(store, SessionStore):
        raise ConfigurationError(
            f"session store {url.split('://', 1)[0]!r}: built {type(store).__name__}, which "
            "lacks the SessionStore methods"
        )
    return store


__all__ = [
    "DEFAULT_IDLE_TTL_S",
    "HISTORY_OPS",
    "CallGoneError",
    "HistoryEntry",
    "MemorySessionStore",
    "OwnerWatch",
    "SessionStore",
    "StoredCall",
    "check_ttl",
    "open_store",
]
