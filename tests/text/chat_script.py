"""A conversation through ``BidiTextIO`` on real standard input and output.

Run by ``test_text_subprocess.py`` as a child process with a pipe for stdin:
a ``BidiAgent`` with a scripted ``FakeModel`` answers two typed lines, the
second with a tool call, and the conversation ends when stdin ends.
"""

from __future__ import annotations

import asyncio

from fullduplex import BidiAgent
from fullduplex.events import (
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.io import BidiTextIO
from fullduplex.testing import FakeModel, emit, expect
from fullduplex.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


def said(text: str, response: str, item: str) -> tuple[BidiTranscriptStreamEvent, ...]:
    """The assistant speaking ``text`` word by word, then the final transcript."""
    words = text.split()
    partials = tuple(
        BidiTranscriptStreamEvent(
            text=word + " ",
            role="assistant",
            current_transcript=" ".join(words[: i + 1]),
            response_id=response,
            item_id=item,
        )
        for i, word in enumerate(words)
    )
    final = BidiTranscriptStreamEvent(
        text=text,
        role="assistant",
        is_final=True,
        current_transcript=text,
        response_id=response,
        item_id=item,
    )
    return (*partials, final)


def script() -> list[object]:
    return [
        expect(BidiTextInputEvent, lambda e: e.text == "hello there"),
        emit(
            BidiResponseStartEvent("r1"),
            *said("Hi! How can I help?", "r1", "i1"),
            BidiResponseCompleteEvent("r1"),
        ),
        expect(BidiTextInputEvent, lambda e: e.text == "what is 2 plus 40?"),
        emit(
            BidiResponseStartEvent("r2"),
            ToolUseStreamEvent(
                call_id="c1",
                name="add",
                arguments='{"a": 2, "b": 40}',
                is_final=True,
                response_id="r2",
            ),
            BidiResponseCompleteEvent("r2", stop_reason="tool_use"),
        ),
        expect(ToolResultEvent, lambda e: e.call_id == "c1"),
        emit(
            BidiResponseStartEvent("r3"),
            *said("It is 42.", "r3", "i3"),
            BidiResponseCompleteEvent("r3"),
        ),
    ]


async def main() -> None:
    model = FakeModel(script())  # type: ignore[arg-type]
    agent = BidiAgent(model=model, tools=[add], settle_timeout_s=20)
    text_io = BidiTextIO()
    await agent.run(inputs=[text_io.input()], outputs=[text_io.output()])
    print(f"(done: {len(model.sent_of(BidiTextInputEvent))} lines sent)")


if __name__ == "__main__":
    asyncio.run(main())
