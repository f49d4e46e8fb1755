"""Telling a process at once that another one took its call over, through Redis pub/sub.

A claim (:class:`~.redis_store.RedisSessionStore`) publishes the new owner on
the call's owner channel (``fullduplex:{TOKEN}:owner``) in the same script that
sets it. Each store keeps one pub/sub connection, subscribed to the channels of
the calls this process holds; a message naming another owner ends the call
here at once, instead of on its next write (a quiet call may not write for
minutes, while its page already talks to the other process).

A message published while the connection is down is lost, so every
(re)subscription is followed by one look at the owners of the calls it covers:
a claim missed during a Redis restart is still noticed. One task per store
owns the connection (pub/sub connections are not shared between tasks); it
polls for messages with a short timeout so new subscriptions start promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("fullduplex.serve")

#: how long one wait for a message lasts (a new subscription waits at most this)
_POLL_S = 0.2
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 1.0


def owner_channel(token: str) -> str:
    """The channel a claim of ``token`` is announced on (same hash tag as its keys)."""
    return f"fullduplex:{{{token}}}:owner"


def _meta_key(token: str) -> str:
    return f"fullduplex:{{{token}}}:meta"


class OwnerWatcher:
    """The calls this process holds, watched for a claim by another process."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        #: channel -> (token, owner, what to call when the call is lost)
        self._watched: dict[str, tuple[str, str, Callable[[], None]]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: (re)subscriptions made, for tests and logs
        self.subscriptions = 0

    def watch(self, token: str, owner: str, lost: Callable[[], None]) -> None:
        self._watched[owner_channel(token)] = (token, owner, lost)
        self._changed.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="fullduplex-owner-watch"
            )

    def unwatch(self, token: str, owner: str) -> None:
        channel = owner_channel(token)
        watched = self._watched.get(channel)
        if watched is not None and watched[1] == owner:
            del self._watched[channel]
            self._changed.set()

    async def close(self) -> None:
        self._watched.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _lost(self, channel: str, holder: str | None) -> None:
        """``holder`` owns the call of ``channel`` now: if not us, we lost it."""
        watched = self._watched.get(channel)
        if watched is None or holder is None or holder == watched[1]:
            return
        del self._watched[channel]
        self._changed.set()
        watched[2]()

    async def _check(self, channels: Iterable[str]) -> None:
        """The owner of each call now (a claim announced while we were not listening)."""
        chosen = [c for c in channels if c in self._watched]
        if not chosen:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in chosen:
                pipe.hget(_meta_key(self._watched[channel][0]), "owner")
            holders: list[Any] = await pipe.execute()
        for channel, holder in zip(chosen, holders, strict=True):
            self._lost(channel, holder)

    async def _run(self) -> None:
        pause = _RETRY_FIRST_S
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            subscribed: set[str] = set()
            try:
                while True:
                    self._changed.clear()
                    wanted = set(self._watched)
                    if wanted - subscribed:
                        new = wanted - subscribed
                        await pubsub.subscribe(*new)
                        subscribed |= new
                        self.subscriptions += len(new)
                        await self._check(new)
                    if subscribed - wanted:
                        await pubsub.unsubscribe(*(subscribed - wanted))
                        subscribed &= wanted
                    pause = _RETRY_FIRST_S
                    if not subscribed:
                        await self._changed.wait()
                        continue
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_POLL_S
                    )
                    if message is not None and message.get("type") == "message":
                        self._lost(str(message["channel"]), str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.debug("owner watch: Redis unreachable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]


__all__ = ["OwnerWatcher", "owner_channel"]
