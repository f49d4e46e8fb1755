"""``fullduplex chat`` in a real terminal (tmux), against the embedded emulator.

What a person sees: both sides' lines, the status line at the bottom (with
how to end), tool calls, the interruption mark with how much was heard, the
``--metrics`` lines and the summary, and the exit status.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import NOTICE, clean_env
from tmux_kit import Terminal, require_tmux

from fullduplex_openai.emulator.synth import silence_pcm16


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(require_tmux(), tmp_path)
    try:
        yield term
    finally:
        term.close()


def console_env() -> dict[str, str]:
    """A terminal as a person has it: colour allowed, no credentials (the emulator answers)."""
    env = clean_env()
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"
    return env


def test_a_typed_conversation_reads_as_one_in_the_terminal(terminal: Terminal) -> None:
    terminal.start(["chat", "--metrics", "--tool", "calculator"], console_env())
    terminal.wait_for(NOTICE)
    hint = "[listening] type and press Enter; Ctrl-D or Ctrl-C ends"
    terminal.wait_for(hint)

    terminal.type("what is 12 times 7?")
    terminal.keys("Enter")
    screen = terminal.wait_for("[metrics] turn 1:")
    lines = terminal.lines()
    # the echoed input became a labelled line: the status line did not stay in front of it
    assert "You: what is 12 times 7?" in lines
    assert not [line for line in lines if "[listening]" in line and "12 times" in line]
    assert '[tool] calculator({"expression":"12*7"})' in screen
    assert "[tool] calculator -> 84" in screen
    assert "Assistant: The answer is eighty four." in lines
    metrics = next(line for line in lines if line.startswith("[metrics] turn 1:"))
    assert "first text" in metrics
    assert "1 tool call" in metrics
    assert "tokens " in metrics
    assert " in / " in metrics
    # after the answer, the bottom line is the status line again
    assert terminal.lines()[-1] == hint.strip()
    order = [
        lines.index(x)
        for x in ("You: what is 12 times 7?", "Assistant: The answer is eighty four.")
    ]
    assert order == sorted(order)

    terminal.keys("C-d")
    screen = terminal.wait_for("EXIT=")
    assert "EXIT=0" in screen
    assert "[summary] 1 turn, 0 interruptions, 0 reconnects, 1 tool call, tokens" in screen
    # the status line was cleared on the way out
    assert "[listening]" not in terminal.lines()[-2]


def _voice(path: Path) -> None:
    """Three spoken turns; the second and third start while the answer plays.

    Spoken by the emulator kit's own voice (the ``[speech]`` extra), since the
    embedded emulator's voice detection hears speech, not tones.
    """
    from fullduplex_emulator.speech import load_speech

    speech = load_speech(True)
    assert speech is not None
    pcm = (
        speech.speak("what is nine times nine", 24000)
        + silence_pcm16(1200)
        + speech.speak("what is three plus four", 24000)
        + silence_pcm16(300)
        + speech.speak("what is twenty one times four", 24000)
        + silence_pcm16(2500)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(pcm)


def test_spoken_turns_show_both_transcripts_and_the_interruption(
    terminal: Terminal, tmp_path: Path
) -> None:
    voice = tmp_path / "voice.wav"
    _voice(voice)
    args = ["chat", "--input-wav", str(voice), "--output-wav", str(tmp_path / "answer.wav")]
    terminal.start([*args, "--metrics"], console_env())
    screen = terminal.wait_for("EXIT=", timeout_s=60)
    lines = terminal.lines()
    assert "EXIT=0" in screen
    # the user's side, transcribed (asked for by default when audio comes in)
    assert "You: what is nine times nine" in lines, screen
    assert any(line.startswith("Assistant: The answer is eighty one") for line in lines), screen
    marks = [line for line in lines if line.startswith("[interrupted")]
    assert marks, screen
    assert all(" s of " in mark and "you heard" in mark for mark in marks)
    assert any(line.startswith("[metrics] turn 1: after your input: first audio") for line in lines)
    # the cut answers' turns say so (they were complete, but still playing)
    cut_turns = [m for m in lines if m.startswith("[metrics] turn") and m.endswith("interrupted")]
    assert len(cut_turns) == len(marks)
    summary = next(line for line in lines if line.startswith("[summary]"))
    assert f"{len(marks)} interruption" in summary
