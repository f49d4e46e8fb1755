"""``fullduplex chat`` on the paths issue 10 found broken: piped lines answered in order,
``--max-restarts``, text-only sessions for text chats, and an output that cannot be written."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_kit import FAKE_KEY, clean_env, fullduplex_command, run, stderr_lines
from click.testing import CliRunner

import fullduplex_openai.emulator as emulator_package
from fullduplex.cli import _Options, build_cli
from fullduplex_openai.emulator import Emulator, Faults

PIPED = "hello\nwhat is (17+4)*3 - sqrt(16)?\nwhat time is it?\ngoodbye\n"


def _assistant_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("Assistant:")]


def test_piped_lines_are_each_answered_in_order_and_goodbye_ends_the_chat() -> None:
    """All four lines arrive at once, while the first answer streams: each gets its own
    answer, in the order typed, and the chat ends with the goodbye."""
    result = run(["chat", "--tool", "calculator", "--tool", "current_time"], stdin=PIPED)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    answers = _assistant_lines(result.stdout)
    assert len(answers) >= 4, result.stdout
    assert "hello" in answers[0]
    assert answers[1].startswith("Assistant: The answer is"), answers
    assert answers[2].startswith("Assistant: It is"), answers  # current_time, said aloud
    # the goodbye is the last thing said (stop_conversation's follow-up may say it again)
    assert set(answers[3:]) == {"Assistant: Goodbye!"}, answers
    # the arithmetic went through the calculator, before the answer that uses it
    call = next(line for line in lines if line.startswith("[tool] calculator("))
    assert lines.index(answers[0]) < lines.index(call) < lines.index(answers[1])
    # and the goodbye ended the chat through stop_conversation
    assert "[tool] stop_conversation({})" in lines
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["-1", "many", "1.5"])
def test_max_restarts_refuses_what_is_not_a_count(value: str) -> None:
    result = run(["chat", "--max-restarts", value], stdin="hi\n")

    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--max-restarts'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("restarts", [0, 2])
async def test_max_restarts_bounds_the_reconnects(restarts: int) -> None:
    """The first connection drops mid-answer and every new one fails before its session
    is confirmed: the chat makes exactly ``restarts`` attempts, then fails (exit 1)."""
    async with Emulator(api_key=FAKE_KEY) as emu:
        process = await asyncio.create_subprocess_exec(
            *fullduplex_command(),
            "chat",
            "--base-url",
            emu.base_url,
            "--max-restarts",
            str(restarts),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(key=FAKE_KEY),
        )
        try:
            async with asyncio.timeout(30):
                while not any(e.get("type") == "session.update" for e in emu.received):
                    await asyncio.sleep(0.02)
                emu.connections[0].faults = Faults(
                    drop_at_event_type="response.created", close_code=1011
                )
                emu.faults = Faults(drop_at_event_type="session.created", close_code=1011)
                out, err = await process.communicate(b"hello\n")
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        connections = len(emu.connections)

    stderr = err.decode()
    assert process.returncode == 1, stderr
    assert connections == 1 + restarts
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    if restarts == 0:
        assert "1011" in errors[0]  # the drop itself, not retried
    else:
        # the give-up names the count; its last cause is the refused start, whose 1011
        # close frame may or may not arrive before the socket is gone
        assert "gave up reconnecting" in errors[0], errors[0]
        assert f"{restarts} reconnect(s) in a row failed" in errors[0], errors[0]
    assert "Traceback" not in stderr
    assert out.decode().count("Assistant:") == 0


class _RecordingEmulator(Emulator):
    """The embedded emulator, remembered so the test can read what it received."""

    made: list[Emulator] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _RecordingEmulator.made.append(self)


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[Emulator]:
    """Every embedded emulator the chat starts (the provider imports the class when used)."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "FULLDUPLEX_", "AZURE_OPENAI")):
            monkeypatch.delenv(name)  # no key: the embedded emulator answers
    _RecordingEmulator.made = []
    monkeypatch.setattr(emulator_package, "Emulator", _RecordingEmulator)
    return _RecordingEmulator.made


def test_a_plain_text_chat_asks_for_text_only(embedded: list[Emulator]) -> None:
    """``fullduplex chat`` with no option at all: nothing plays audio, so the session is
    text only (it used to be configured only when --voice or --base-url was given)."""
    result = CliRunner().invoke(build_cli(), ["chat"], input="hello\n", obj=_Options())

    assert result.exit_code == 0, (result.output, result.exception)
    assert "You said: hello" in result.output
    assert len(embedded) == 1
    updates = [e["session"] for e in embedded[0].received if e.get("type") == "session.update"]
    assert updates, "the chat never configured its session"
    assert updates[0]["output_modalities"] == ["text"]
    # and the emulator answered in text: no audio went over the wire
    sent = {frame.type for frame in embedded[0].sent}
    assert "response.output_text.delta" in sent
    assert "response.output_audio.delta" not in sent


def test_a_chat_that_plays_audio_still_asks_for_audio(
    embedded: list[Emulator], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        build_cli(),
        ["chat", "--output-wav", str(tmp_path / "reply.wav")],
        input="hello\n",
        obj=_Options(),
    )
    assert result.exit_code == 0, (result.output, result.exception)
    updates = [e["session"] for e in embedded[0].received if e.get("type") == "session.update"]
    assert updates[0].get("output_modalities", ["audio"]) == ["audio"]


def test_an_output_wav_that_cannot_be_written_fails_in_one_line() -> None:
    """``/dev/full`` refuses every write: exit 1, one ``Error:`` line naming the file and
    the reason, no traceback from the writer thread."""
    result = run(["chat", "--output-wav", "/dev/full"], stdin="hello\n")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in stderr_lines(result) if "Error" in line or "error" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("Error: IOChannelError: output_path: writing /dev/full failed")
    assert "No space left on device" in errors[0]
