"""The session stores (in-memory and a real redis-server) behave alike, are found by URL
scheme through the ``register_session_stores`` hook, and a call outlives a Redis restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from browser_client import PageClient
from serve_kit import agent_factory, serving, wait_for
from topology import Redis

from fullduplex.errors import NotRegisteredError
from fullduplex.lookup import get_session_store
from fullduplex_openai.emulator import Emulator
from fullduplex_serve.redis_store import RedisSessionStore
from fullduplex_serve.store import (
    CallGoneError,
    HistoryEntry,
    MemorySessionStore,
    SessionStore,
)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        made: SessionStore = MemorySessionStore(idle_ttl_s=0.3)
        yield made
        return
    server = Redis(tmp_path)
    server.start()
    made = RedisSessionStore(server.url, idle_ttl_s=0.3)
    try:
        yield made
    finally:
        await made.close()
        server.stop()


def text(role: str, words: str) -> dict[str, object]:
    return {"role": role, "content": [{"text": words}]}


async def test_history_appended_in_place_owner_checked_and_expiring(store: SessionStore) -> None:
    await store.create("tok", "a")
    assert await store.append("tok", "a", [HistoryEntry(text("assistant", "Hi"), 0)])
    # a spoken turn's transcript inserted before the answer that came first
    assert await store.append("tok", "a", [HistoryEntry(text("user", "Hello"), 0)])
    assert await store.hold("tok", "a", {"id": "i1", "text": "later", "seq": 1.0})
    assert await store.first_time("tok", "i1")
    assert not await store.first_time("tok", "i1")

    taken = await store.claim("tok", "b")
    assert taken is not None
    assert [m["content"] for m in taken.messages()] == [
        [{"text": "Hello"}],
        [{"text": "Hi"}],
    ]
    assert [h["id"] for h in taken.held] == ["i1"]
    # the process that lost the call cannot write into it any more
    assert not await store.append("tok", "a", [HistoryEntry(text("user", "x"), 2)])
    await store.delete("tok", "a")
    assert await store.claim("tok", "b") is not None
    # the new owner's write releases the held input with the message it became
    assert await store.append("tok", "b", [HistoryEntry(text("user", "later"), 2)], release="i1")
    again = await store.claim("tok", "b")
    assert again is not None
    assert again.held == ()
    assert len(again.messages()) == 3

    await asyncio.sleep(0.6)  # twice the idle time: forgotten
    assert await store.claim("tok", "b") is None
    with pytest.raises(CallGoneError):
        await store.append("tok", "b", [HistoryEntry(text("user", "y"), 0)])


async def test_stores_are_found_by_url_scheme(redis_server: Redis) -> None:
    redis_store = get_session_store(redis_server.url, idle_ttl_s=5)
    assert isinstance(redis_store, RedisSessionStore)
    await redis_store.ping()
    await redis_store.close()
    assert isinstance(get_session_store("memory://"), MemorySessionStore)
    with pytest.raises(NotRegisteredError, match="memory, redis"):
        get_session_store("etcd://somewhere")


async def test_redis_restarted_mid_call_the_call_goes_on_and_the_store_catches_up(
    emulator: Emulator, redis_server: Redis
) -> None:
    async with serving(agent_factory(emulator), session_store=redis_server.url) as served:
        server = served.app.state.fullduplex
        page = PageClient(f"{served.ws}/browser")
        ready = await page.open()
        token = ready["session"]
        await page.send({"type": "text", "id": "q1", "text": "First question"})
        await wait_for(lambda: len(page.of("response")) >= 2, 20, "the first answer")
        session = server.sessions[token]
        await wait_for(lambda: session.recorder.pending == 0, 5, "the first writes")

        redis_server.stop()
        await page.send({"type": "text", "id": "q2", "text": "Second question"})
        await wait_for(lambda: len(page.of("response")) >= 4, 20, "the answer while Redis is down")
        await wait_for(lambda: session.recorder.pending > 0, 5, "writes waiting for Redis")

        redis_server.start()  # empty: it kept nothing on disk
        await wait_for(lambda: session.recorder.pending == 0, 10, "the store to catch up")
        probe = RedisSessionStore(redis_server.url)
        try:
            stored = await probe.claim(token, server.owner)  # same owner: nothing changes
        finally:
            await probe.close()
        assert stored is not None
        said = [m["content"][0]["text"] for m in stored.messages()]
        assert said == [m["content"][0]["text"] for m in served.agents[0].messages]
        assert "First question" in said
        assert "Second question" in said
        await page.send({"type": "hangup"})
        await wait_for(lambda: page.of("bye"), 10, "bye")
        await page.close()
