"""Two in-process ``fullduplex serve`` apps sharing a real redis-server: an interruption's mark
reaches the store, and a process whose call was taken over ends its side at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_client import PageClient
from serve_kit import agent_factory, serving, wait_for
from topology import Redis

from fullduplex_emulator.synth import silence_pcm16, speech_audio
from fullduplex_openai.emulator import Emulator
from fullduplex_serve.redis_store import RedisSessionStore
from fullduplex_serve.store import HistoryEntry, MemorySessionStore, StoredCall

RATE = 16000


def speech(text: str) -> bytes:
    return speech_audio(text, "pcm16", RATE) + silence_pcm16(800, RATE)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def stored(url: str, token: str, owner: str) -> StoredCall:
    """The call as Redis has it (claimed by its own owner: nothing changes)."""
    probe = RedisSessionStore(url)
    try:
        call = await probe.claim(token, owner)
    finally:
        await probe.close()
    assert call is not None
    return call


def assistant(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["role"] == "assistant"]


async def test_an_interruption_mark_reaches_redis_and_the_resumed_call(
    emulator: Emulator, redis_server: Redis
) -> None:
    factory = agent_factory(emulator)
    async with (
        serving(factory, session_store=redis_server.url) as one,
        serving(factory, session_store=redis_server.url) as two,
    ):
        first = one.app.state.fullduplex
        page = PageClient(f"{one.ws}/browser", RATE)
        token = (await page.open())["session"]
        await page.speak(speech("What time does the museum open tomorrow?"))
        agent = one.agents[0]
        session = first.sessions[token]
        await wait_for(lambda: assistant(agent.messages), 20, "the answer in the history")
        await wait_for(lambda: session.recorder.pending == 0, 5, "the answer written")
        before = assistant((await stored(redis_server.url, token, first.owner)).messages())
        assert before
        assert "interrupted" not in before[0]

        item = page.of("audio_item")[0]["item_id"]
        await page.send({"type": "played", "item_id": item, "ms": 300})
        await page.speak(speech("Sorry, never mind."))
        await wait_for(lambda: page.of("clear"), 15, "the barge-in")
        await wait_for(
            lambda: assistant(agent.messages)[0].get("interrupted"), 10, "the mark in the agent"
        )
        await wait_for(lambda: session.recorder.pending == 0, 5, "the mark written")
        after = (await stored(redis_server.url, token, first.owner)).messages()
        assert assistant(after)[0]["interrupted"] is True
        assert after == agent.messages

        # the page moves to the other process: the history it replays carries the mark
        await page.close()
        moved = PageClient(f"{two.ws}/browser", RATE)
        assert (await moved.open(resume=token))["resumed"] is True
        assert assistant(two.agents[0].messages)[0]["interrupted"] is True
        await moved.send({"type": "hangup"})
        await wait_for(lambda: moved.of("bye"), 10, "bye")
        await moved.close()


async def test_the_old_process_ends_its_side_as_soon_as_another_takes_the_call(
    emulator: Emulator, redis_server: Redis
) -> None:
    factory = agent_factory(emulator)
    async with (
        serving(factory, session_store=redis_server.url) as one,
        serving(factory, session_store=redis_server.url) as two,
    ):
        first = one.app.state.fullduplex
        old = PageClient(f"{one.ws}/browser", RATE)
        token = (await old.open())["session"]
        await old.send({"type": "text", "id": "q1", "text": "First question"})
        await wait_for(lambda: len(old.of("response")) >= 2, 20, "the first answer")
        session = first.sessions[token]
        await wait_for(lambda: session.recorder.pending == 0, 5, "the first writes")
        await asyncio.sleep(0.3)  # the owner channel subscribed

        # the page reaches the other process while this one is alive and its socket open
        new = PageClient(f"{two.ws}/browser", RATE)
        assert (await new.open(resume=token))["resumed"] is True
        # no write from the old process is needed for it to notice
        await asyncio.wait_for(old.closed.wait(), 5)
        assert old.ws.close_code == 4000
        await wait_for(lambda: token not in first.sessions, 5, "the old side ended")
        assert session.ended
        assert session.recorder.lost
        assert not old.of("bye")

        # the call lives on where it moved (the old process did not delete it)
        await new.send({"type": "text", "id": "q2", "text": "Second question"})
        await wait_for(lambda: len(new.of("response")) >= 2, 20, "the answer on the new process")
        said = [m["content"][0]["text"] for m in two.agents[0].messages]
        assert "First question" in said
        assert "Second question" in said
        await new.send({"type": "hangup"})
        await wait_for(lambda: new.of("bye"), 10, "bye")
        await new.close()


async def test_memory_store_tells_the_losing_owner_and_keeps_marks() -> None:
    store = MemorySessionStore()
    lost: list[str] = []
    await store.create("tok", "a")
    store.watch("tok", "a", lambda: lost.append("a"))
    store.watch("tok", "b", lambda: lost.append("b"))
    assert await store.append(
        "tok",
        "a",
        [
            HistoryEntry({"role": "user", "content": [{"text": "Q"}]}, 0),
            HistoryEntry({"role": "assistant", "content": [{"text": "A long answer"}]}, 1),
            HistoryEntry({"role": "user", "content": [{"text": "Q2"}]}, 2),
        ],
    )
    cut = {"role": "assistant", "content": [{"text": "A long"}], "interrupted": True}
    assert await store.append("tok", "a", [HistoryEntry(cut, 1, "replace")])
    taken = await store.claim("tok", "b")
    await asyncio.sleep(0)
    assert lost == ["a"]  # the new owner is not told about itself
    assert taken is not None
    assert taken.messages()[1] == cut
    assert await store.append("tok", "b", [HistoryEntry({}, 1, "remove")])
    again = await store.claim("tok", "b")
    assert again is not None
    assert [m["content"][0]["text"] for m in again.messages()] == ["Q", "Q2"]
    with pytest.raises(ValueError, match="op"):
        HistoryEntry.from_dict({"at": 0, "message": {}, "op": "rewrite"})


async def test_many_calls_writing_at_once_wait_for_a_connection(redis_server: Redis) -> None:
    # more writes in flight than redis-py's default pool has connections (100)
    store = RedisSessionStore(redis_server.url)
    try:
        tokens = [f"t{i}" for i in range(150)]
        await asyncio.gather(*(store.create(t, "a") for t in tokens))
        entry = HistoryEntry({"role": "user", "content": [{"text": "hi"}]}, 0)
        done = await asyncio.gather(*(store.append(t, "a", [entry]) for t in tokens))
        assert all(done)
    finally:
        await store.close()
