"""The Redis session store (``--session-store redis://host:6379/0``), on ``redis.asyncio``.

Four keys per call, sharing a hash tag so a Redis Cluster keeps them on one node::

    fullduplex:{TOKEN}:meta      hash   owner, handle
    fullduplex:{TOKEN}:history   list   one JSON entry per message (RPUSH, never rewritten)
    fullduplex:{TOKEN}:held      hash   input id -> JSON of an input not yet taken
    fullduplex:{TOKEN}:seen      set    ids of the inputs received

Each write is one Lua script that checks the owner first and refreshes the
idle expiry of all four keys, so a process that lost the call cannot write
into it, and a call nobody touches disappears on its own. A claim also
announces the new owner on the call's channel, so the process that lost the
call ends it at once (:mod:`.redis_watch`). Installed with the
``redis`` extra: ``pip install 'fullduplex-serve[redis]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from fullduplex.errors import ConfigurationError

from .redis_watch import OwnerWatcher, owner_channel
from .store import DEFAULT_IDLE_TTL_S, CallGoneError, HistoryEntry, StoredCall, check_ttl

if TYPE_CHECKING:
    from redis.asyncio import Redis

_WRITE = """
local owner, ttl, op = ARGV[1], ARGV[2], ARGV[3]
local holder = redis.call('HGET', KEYS[1], 'owner')
if not holder then
  if op == 'delete' then return 1 end
  return -1
end
if holder ~= owner then return 0 end
if op == 'append' then
  if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
  for i = 5, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
elseif op == 'handle' then
  if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'handle')
  else redis.call('HSET', KEYS[1], 'handle', ARGV[4]) end
elseif op == 'hold' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
elseif op == 'release' then
  redis.call('HDEL', KEYS[3], ARGV[4])
elseif op == 'delete' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return 1
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
return 1
"""

_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[1])
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[2]) end
return {redis.call('HGET', KEYS[1], 'handle') or '', redis.call('LRANGE', KEYS[2], 0, -1),
        redis.call('HVALS', KEYS[3])}
"""


#: Redis connections one process opens at most (the pub/sub one of the owner watch aside)
MAX_CONNECTIONS = 32


def _keys(token: str) -> list[str]:
    return [f"fullduplex:{{{token}}}:{part}" for part in ("meta", "history", "held", "seen")]


class RedisSessionStore:
    """Calls kept in Redis, shared by every ``fullduplex serve`` process pointed at it."""

    def __init__(self, url: str, *, idle_ttl_s: float = DEFAULT_IDLE_TTL_S) -> None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"session store: got {url.split('://', 1)[0]!r}; accepted: redis://host:port/db, "
                "rediss:// (TLS) or unix:///path/to/redis.sock"
            )
        try:
            from redis.asyncio import BlockingConnectionPool, Redis
        except ImportError as exc:
            raise ConfigurationError(
                "session store redis://: the 'redis' package is missing; install "
                "'fullduplex-serve[redis]'"
            ) from exc
        self.idle_ttl_s = check_ttl(idle_ttl_s)
        self._ttl_ms = str(int(self.idle_ttl_s * 1000))
        # A blocking pool: with hundreds of calls writing at once, a write waits (bounded)
        # for a free connection instead of failing with "Too many connections" (the
        # default pool's behaviour past its 100 connections).
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=2.0,
            decode_responses=True,
            socket_connect_timeout=2.0,
            socket_timeout=2.0,
        )
        self._redis: Redis = Redis(connection_pool=pool)
        self._write = self._redis.register_script(_WRITE)
        self._claim = self._redis.register_script(_CLAIM)
        self._watcher = OwnerWatcher(self._redis)
        #: Redis commands sent and bytes of payload written (for benchmarks/scale.py)
        self.operations = 0
        self.bytes_written = 0

    async def _run(self, token: str, owner: str, op: str, *args: str) -> bool:
        self.operations += 1
        self.bytes_written += sum(len(a) for a in args)
        done = await self._write(keys=_keys(token), args=[owner, self._ttl_ms, op, *args])
        if done == -1:
            raise CallGoneError(token)
        return bool(done)

    async def create(self, token: str, owner: str) -> None:
        meta, *_rest = _keys(token)
        self.operations += 1
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping={"owner": owner})
            pipe.pexpire(meta, int(self._ttl_ms))
            await pipe.execute()

    async def claim(self, token: str, owner: str) -> StoredCall | None:
        self.operations += 1
        got: Any = await self._claim(
            keys=_keys(token), args=[owner, self._ttl_ms, owner_channel(token)]
        )
        if not got:
            return None
        handle, history, held = got
        entries = tuple(HistoryEntry.from_dict(orjson.loads(raw)) for raw in history)
        inputs = sorted((orjson.loads(raw) for raw in held), key=lambda e: e.get("seq", 0))
        return StoredCall(token, owner, entries, handle or None, tuple(inputs))

    async def append(
        self,
        token: str,
        owner: str,
        entries: Sequence[HistoryEntry],
        release: str | None = None,
    ) -> bool:
        raws = [orjson.dumps(entry.to_dict()).decode() for entry in entries]
        return await self._run(token, owner, "append", release or "", *raws)

    async def set_handle(self, token: str, owner: str, handle: str | None) -> bool:
        return await self._run(token, owner, "handle", handle or "")

    async def hold(self, token: str, owner: str, entry: Mapping[str, Any]) -> bool:
        return await self._run(token, owner, "hold", str(entry["id"]), orjson.dumps(entry).decode())

    async def release(self, token: str, owner: str, input_id: str) -> bool:
        return await self._run(token, owner, "release", input_id)

    async def first_time(self, token: str, input_id: str) -> bool:
        seen = _keys(token)[3]
        self.operations += 1
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(seen, input_id)
            pipe.pexpire(seen, int(self._ttl_ms))
            added, _ = await pipe.execute()
        return bool(added)

    async def delete(self, token: str, owner: str) -> None:
        await self._run(token, owner, "delete")

    def watch(self, token: str, owner: str, lost: Callable[[], None]) -> None:
        self._watcher.watch(token, owner, lost)

    def unwatch(self, token: str, owner: str) -> None:
        self._watcher.unwatch(token, owner)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._watcher.close()
        await self._redis.aclose(close_connection_pool=True)


__all__ = ["RedisSessionStore"]
