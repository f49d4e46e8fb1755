"""Drain in one process: /healthz turns 503, new sockets get HTTP 503, running browser calls
finish within the grace period or are told to reconnect (docs/browser-protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
import urllib.request
from typing import Any

import pytest
import websockets
from browser_client import PageClient
from serve_kit import agent_factory, serving, wait_for

from fullduplex_openai.emulator import Emulator


async def status(url: str) -> int:
    def get() -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    return await asyncio.to_thread(get)


async def test_drain_refuses_new_calls_and_hands_running_ones_over(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator)) as served:
        server = served.app.state.fullduplex
        assert await status(f"{served.http}/healthz") == 200
        page = PageClient(f"{served.ws}/browser")
        ready = await page.open()
        await page.send({"type": "text", "text": "Hello there"})
        await wait_for(lambda: page.of("response"), 20, "an answer")

        drain = asyncio.create_task(server.drain(0.3))
        await wait_for(lambda: server.draining, 5, "draining")
        assert await status(f"{served.http}/healthz") == 503
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{served.ws}/browser")
        assert refused.value.response.status_code == 503

        await asyncio.wait_for(drain, 10)
        await asyncio.wait_for(page.closed.wait(), 10)
        assert page.of("reconnect")[0]["reason"]
        assert not page.of("bye")
        assert page.ws.close_code == 1012
        # the call stays in the store for another process to take over
        stored = await server.store.claim(ready["session"], "another-process")
        assert stored is not None
        assert [m["role"] for m in stored.messages()][:1] == ["user"]
        metrics = server.metrics.render().decode()
        assert "fullduplex_draining 1.0" in metrics
        assert "process_cpu_seconds_total" in metrics


async def test_a_call_that_ends_within_the_grace_period_is_not_handed_over(
    emulator: Emulator,
) -> None:
    async with serving(agent_factory(emulator)) as served:
        server = served.app.state.fullduplex
        page = PageClient(f"{served.ws}/browser")
        ready = await page.open()
        drain = asyncio.create_task(server.drain(10))
        await wait_for(lambda: server.draining, 5, "draining")
        await page.send({"type": "hangup"})
        await asyncio.wait_for(drain, 10)  # returns as soon as the last call ended
        await wait_for(lambda: page.of("bye"), 5, "bye")
        assert not page.of("reconnect")
        assert await server.store.claim(ready["session"], "another-process") is None


class _StuckStore:
    """A session store whose ``close`` never returns (a Redis pool stuck on a dead server)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.closing = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def close(self) -> None:
        self.closing.set()
        await asyncio.Event().wait()


async def test_shutdown_is_bounded_by_calls_that_ignore_cancellation_and_a_stuck_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fullduplex_serve import app as app_module
    from fullduplex_serve import create_app
    from fullduplex_serve.store import open_store

    monkeypatch.setattr(app_module, "END_TIMEOUT_S", 0.2)
    store = _StuckStore(open_store(None))
    server = create_app(lambda: None, session_store=store).state.fullduplex  # type: ignore[arg-type]
    released = asyncio.Event()

    async def stubborn_call() -> None:
        """A call whose clean-up swallows the cancel and keeps waiting."""
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    task = server.spawn_call(stubborn_call(), "stubborn")
    await asyncio.sleep(0)
    shutdown = asyncio.create_task(server.shutdown())
    try:
        # (asyncio.wait, not wait_for: a timed-out wait_for would wait for the cancel too)
        finished, _ = await asyncio.wait({shutdown}, timeout=5)
        assert finished, "shutdown() hung"
        assert store.closing.is_set(), "the store was never asked to close"
        assert not task.done()  # abandoned, not awaited forever (and logged)
    finally:
        released.set()
        shutdown.cancel()
        await asyncio.wait({shutdown, task}, timeout=5)
