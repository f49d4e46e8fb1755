"""BidiTextIO's input on a real pipe: lines, end of input, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

import pytest

from fullduplex.events import BidiTextInputEvent
from fullduplex_text import BidiTextIO


@pytest.fixture
def pipe() -> Iterator[tuple[object, int]]:
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "r")
    try:
        yield reader, write_fd
    finally:
        reader.close()
        with contextlib.suppress(OSError):  # the test may have closed it already
            os.close(write_fd)


async def next_text(source: object) -> str | None:
    async with asyncio.timeout(5):
        event = await source()  # type: ignore[operator]
    if event is None:
        return None
    assert isinstance(event, BidiTextInputEvent)
    return event.text


async def test_lines_arrive_and_end_of_input_ends(pipe: tuple[object, int]) -> None:
    reader, write_fd = pipe
    source = BidiTextIO(input_stream=reader).input()  # type: ignore[arg-type]
    await source.start(None)  # type: ignore[arg-type]
    os.write(write_fd, b"hello\nwhat is 2+2?\n")
    assert await next_text(source) == "hello"
    assert await next_text(source) == "what is 2+2?"
    os.close(write_fd)
    assert await next_text(source) is None
    await source.stop()


async def test_a_half_line_from_an_earlier_run_is_not_glued_to_the_next(
    pipe: tuple[object, int],
) -> None:
    reader, write_fd = pipe
    source = BidiTextIO(input_stream=reader).input()  # type: ignore[arg-type]
    await source.start(None)  # type: ignore[arg-type]
    os.write(write_fd, b"abandoned half li")
    await asyncio.sleep(0.2)  # let the loop read it
    await source.stop()
    await source.start(None)  # type: ignore[arg-type]
    os.write(write_fd, b"fresh line\n")
    assert await next_text(source) == "fresh line"
    await source.stop()
