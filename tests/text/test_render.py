"""How BidiTextIO shows a conversation: labels, partials in place on a terminal, colour rules."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from fullduplex.errors import ConfigurationError
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex_text import BidiTextIO, TranscriptRenderer


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def partial(text: str, role: str = "assistant", item: str = "i1") -> BidiTranscriptStreamEvent:
    return BidiTranscriptStreamEvent(
        text="",
        role=role,
        current_transcript=text,
        item_id=item,  # type: ignore[arg-type]
    )


def final(text: str, role: str = "assistant", item: str = "i1") -> BidiTranscriptStreamEvent:
    return BidiTranscriptStreamEvent(
        text=text,
        role=role,
        is_final=True,
        current_transcript=text,
        item_id=item,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_a_pipe_gets_final_lines_only_without_colour() -> None:
    out = io.StringIO()
    renderer = TranscriptRenderer(out)
    for event in (
        partial("Hel"),
        partial("Hello"),
        final("Hello there."),
        final("thanks", role="user", item="u1"),
        ToolUseStreamEvent("c1", "add", arguments='{"a": 1}', delta="", is_final=False),
        ToolUseStreamEvent("c1", "add", arguments='{"a": 1, "b": 2}', is_final=True),
        ToolResultEvent("c1", "add", "3"),
        ToolResultEvent("c2", "fetch", "timed out", status="error"),
        BidiInterruptionEvent(item_id="i2"),
        BidiErrorEvent("rate limited", code="rate_limit"),
        BidiAudioStreamEvent(b"\x00\x00"),
    ):
        renderer.render(event)
    assert out.getvalue().splitlines() == [
        "Assistant: Hello there.",
        "You: thanks",
        '[tool] add({"a": 1, "b": 2})',
        "[tool] add -> 3",
        "[tool] fetch -> error: timed out",
        "[interrupted]",
        "[error] (rate_limit) rate limited",
    ]


def test_a_terminal_redraws_partials_in_place_and_keeps_final_lines() -> None:
    out = FakeTerminal()
    renderer = TranscriptRenderer(out)
    renderer.render(partial("Hel"))
    renderer.render(partial("Hello"))
    assert out.getvalue().endswith("\r\x1b[K\x1b[1;32mAssistant:\x1b[0m Hello")
    assert "\n" not in out.getvalue()
    renderer.render(final("Hello there."))
    assert out.getvalue().endswith("\r\x1b[K\x1b[1;32mAssistant:\x1b[0m Hello there.\n")


def test_a_line_printed_during_a_partial_keeps_the_partial_below_it() -> None:
    out = FakeTerminal()
    renderer = TranscriptRenderer(out, color=False)
    renderer.render(partial("Let me check"))
    renderer.render(ToolResultEvent("c1", "clock", "12:00"))
    screen = out.getvalue()
    assert screen.endswith("\r\x1b[K[tool] clock -> 12:00\n\r\x1b[KAssistant: Let me check")


def test_an_interruption_ends_the_partial_marked_as_cut_off() -> None:
    out = FakeTerminal()
    renderer = TranscriptRenderer(out, color=False)
    renderer.render(partial("The weather tomorrow is"))
    renderer.render(BidiInterruptionEvent(item_id="i1"))
    last = out.getvalue().split("\r\x1b[K")[-1]
    assert last == "Assistant: The weather tomorrow is…\n[interrupted]\n"


def test_no_color_wins_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = FakeTerminal()
    renderer = TranscriptRenderer(out, color=True)
    renderer.render(final("hi"))
    assert out.getvalue().endswith("Assistant: hi\n")
    assert "\x1b[1;32m" not in out.getvalue()


def test_long_partials_are_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = FakeTerminal()
    TranscriptRenderer(out, color=False).render(partial("word " * 30))
    shown = out.getvalue().split("\r\x1b[K")[-1]
    assert len(shown) <= 40
    assert shown.startswith("Assistant: …")


async def test_text_input_reads_lines_from_a_stream_without_a_descriptor() -> None:
    source = BidiTextIO(input_stream=io.StringIO("first\n\n  second  \nthird")).input()
    await source.start(None)  # type: ignore[arg-type]
    async with asyncio.timeout(10):
        texts = []
        while (event := await source()) is not None:
            texts.append(event.text)
    await source.stop()
    assert texts == ["first", "second", "third"]


async def test_text_input_from_a_pipe_does_not_block_the_loop() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as reader, os.fdopen(write_fd, "w") as writer:
        source = BidiTextIO(input_stream=reader).input()
        await source.start(None)  # type: ignore[arg-type]
        pending = asyncio.ensure_future(source())
        # nothing written yet: the loop keeps running other work
        for _ in range(5):
            await asyncio.sleep(0)
        assert not pending.done()
        writer.write("héllo ")
        writer.flush()
        await asyncio.sleep(0.05)
        assert not pending.done()  # half a line is not a line
        writer.write("wörld\n")
        writer.flush()
        async with asyncio.timeout(10):
            event = await pending
        assert event is not None
        assert event.text == "héllo wörld"
        writer.close()
        async with asyncio.timeout(10):
            assert await source() is None
        await source.stop()


def test_colour_option_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="color"):
        BidiTextIO(color="always")  # type: ignore[arg-type]


def test_text_io_is_registered() -> None:
    import fullduplex
    from fullduplex.io import BidiTextIO as exported

    assert exported is BidiTextIO
    assert isinstance(fullduplex.get_io("text"), BidiTextIO)


def test_the_status_line_follows_the_conversation_on_a_terminal() -> None:
    from fullduplex.events import (
        BidiResponseCompleteEvent,
        BidiResponseStartEvent,
        BidiSpeechEvent,
        BidiTurnMetricsEvent,
    )

    out = FakeTerminal()
    renderer = TranscriptRenderer(out, color=False, status=True, metrics=True, hint="Ctrl-C ends")

    def bottom() -> str:
        return out.getvalue().split("\r\x1b[K")[-1]

    renderer.render_status()
    assert bottom() == "[listening] Ctrl-C ends "
    renderer.render(BidiSpeechEvent("started", "u1"))
    assert bottom() == "[user speaking]"
    renderer.render(BidiSpeechEvent("stopped", "u1"))
    assert bottom() == "[thinking]"
    renderer.render(BidiResponseStartEvent("r1"))
    renderer.render(ToolUseStreamEvent("c1", "clock", "{}", is_final=True))
    assert bottom() == "[calling a tool: clock]"
    renderer.render(ToolResultEvent("c1", "clock", "12:00"))
    assert bottom() == "[thinking]"
    renderer.render(BidiResponseCompleteEvent("r1", "tool_use"))
    renderer.render(BidiResponseStartEvent("r2"))
    renderer.render(BidiAudioStreamEvent(b"\x00\x00", item_id="i1"))
    assert bottom() == "[speaking]"
    renderer.render(final("It is noon."))
    renderer.render(BidiResponseCompleteEvent("r2"))
    assert bottom() == "[listening] Ctrl-C ends "
    renderer.render(BidiTurnMetricsEvent(1, "r2", 310.0, None, None, 40, 12, 1))
    renderer.summary({"turns": 1, "input_tokens": 40, "output_tokens": 12, "tool_calls": 1})
    renderer.close()
    lines = [part for part in out.getvalue().replace("\r\x1b[K", "\n").splitlines() if part]
    finished = [line for line in lines if not line.startswith("[") or line.startswith("[tool")]
    assert finished == [
        "[tool] clock({})",
        "[tool] clock -> 12:00",
        "Assistant: It is noon.",
    ]
    assert (
        "[metrics] turn 1: after your input: first audio 310 ms; tokens 40 in / 12 out; 1 tool call"
    ) in lines
    assert (
        "[summary] 1 turn, 0 interruptions, 0 reconnects, 1 tool call, tokens 40 in / 12 out"
        in (lines)
    )
    assert out.getvalue().endswith("\r\x1b[K")  # the status line is gone at the end


def test_the_interruption_mark_says_how_much_was_heard() -> None:
    out = io.StringIO()
    renderer = TranscriptRenderer(out, heard=lambda item: (1200, 3400) if item == "i1" else None)
    renderer.render(BidiInterruptionEvent(item_id="i1", audio_received_ms=3000))
    renderer.render(BidiInterruptionEvent(item_id="i9"))
    assert out.getvalue().splitlines() == [
        "[interrupted: you heard 1.2 s of 3.4 s]",
        "[interrupted]",
    ]


def test_a_pipe_gets_no_status_line() -> None:
    out = io.StringIO()
    renderer = TranscriptRenderer(out, status=True)
    renderer.render_status()
    renderer.render(BidiAudioStreamEvent(b"\x00\x00"))
    assert out.getvalue() == ""
