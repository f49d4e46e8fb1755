"""``wait_for_end``: what ends ``run()``, and the settle warning only on a real timeout."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fullduplex._outputs import OutputFanout
from fullduplex._run import wait_for_end


async def _finished() -> None:
    return None


async def test_a_stop_request_during_the_settle_wait_logs_no_timeout_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop_requested = asyncio.Event()
    settle_started = asyncio.Event()

    async def settle() -> None:
        settle_started.set()
        await asyncio.Event().wait()  # never settles on its own

    async def request_stop() -> None:
        await settle_started.wait()
        stop_requested.set()

    pump = asyncio.create_task(_finished())
    stopper = asyncio.create_task(request_stop())
    caplog.set_level(logging.WARNING, logger="fullduplex.agent")
    async with asyncio.timeout(5):
        error = await wait_for_end(
            [pump],
            OutputFanout([]),
            stop_requested=stop_requested,
            closed=asyncio.Event(),
            settle=settle,
            settle_timeout_s=30.0,
        )
    await stopper
    assert error is None
    assert settle_started.is_set()
    assert "did not settle" not in caplog.text


async def test_a_settle_timeout_is_still_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def settle() -> None:
        await asyncio.Event().wait()

    caplog.set_level(logging.WARNING, logger="fullduplex.agent")
    async with asyncio.timeout(5):
        await wait_for_end(
            [asyncio.create_task(_finished())],
            OutputFanout([]),
            stop_requested=asyncio.Event(),
            closed=asyncio.Event(),
            settle=settle,
            settle_timeout_s=0.05,
        )
    assert "did not settle within 0.05 s" in caplog.text
