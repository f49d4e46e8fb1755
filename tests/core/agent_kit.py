"""Shared helpers for the agent tests (not a conftest: core's other tests share this dir)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from fullduplex.plugins import reset_plugins


@pytest.fixture
def only_core_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Load no third-party plugin, so their hooks cannot disturb an agent test."""
    monkeypatch.setenv("FULLDUPLEX_LOAD_PLUGINS", "")
    reset_plugins()
    yield
    reset_plugins()


def other_tasks() -> set[asyncio.Task[object]]:
    """Tasks still alive besides the test's own."""
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def settle_loop() -> None:
    """Let cancelled tasks finish their unwinding."""
    for _ in range(5):
        await asyncio.sleep(0)


async def drain(events: AsyncIterator[object], timeout: float = 3.0) -> list[object]:
    """Collect every event of an iterator, failing fast if it hangs."""
    async with asyncio.timeout(timeout):
        return [event async for event in events]
