"""The agent's event buffer: FIFO order, waiting readers, and cancellation."""

from __future__ import annotations

import asyncio

import pytest

from fullduplex._event_buffer import EventBuffer


async def test_items_come_out_in_order_without_waiting() -> None:
    buffer: EventBuffer[int] = EventBuffer()
    for value in range(3):
        buffer.put_nowait(value)
    assert len(buffer) == 3
    assert [await buffer.get(), buffer.get_nowait(), await buffer.get()] == [0, 1, 2]
    assert buffer.empty()
    with pytest.raises(IndexError):
        buffer.get_nowait()


async def test_a_waiting_reader_is_woken_by_a_put() -> None:
    buffer: EventBuffer[str] = EventBuffer()
    reader = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    assert not reader.done()
    buffer.put_nowait("event")
    async with asyncio.timeout(1):
        assert await reader == "event"


async def test_each_item_goes_to_one_of_several_readers() -> None:
    buffer: EventBuffer[int] = EventBuffer()
    readers = [asyncio.create_task(buffer.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for value in (10, 20, 30):
        buffer.put_nowait(value)
    async with asyncio.timeout(1):
        assert sorted(await asyncio.gather(*readers)) == [10, 20, 30]


async def test_a_reader_cancelled_after_its_wake_up_passes_the_item_on() -> None:
    buffer: EventBuffer[str] = EventBuffer()
    first = asyncio.create_task(buffer.get())
    second = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    buffer.put_nowait("only")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    async with asyncio.timeout(1):
        assert await second == "only"
    assert first.cancelled()
    assert buffer.empty()
