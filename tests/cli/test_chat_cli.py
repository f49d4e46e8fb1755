"""``fullduplex chat`` through real subprocesses: text, tools, WAV files, the emulator notice."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_kit import FAKE_KEY, NOTICE, clean_env, run, stderr_lines

from fullduplex_openai.emulator import Emulator, EmulatorThread


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    """A separate emulator (not the embedded one) that accepts ``FAKE_KEY``."""
    with Emulator(api_key=FAKE_KEY).start_in_thread() as running:
        yield running


def _session_updates(running: EmulatorThread) -> list[dict[str, Any]]:
    received = running.emulator.received
    return [event["session"] for event in received if event.get("type") == "session.update"]


def test_piped_question_uses_the_calculator_and_answers_84() -> None:
    result = run(["chat", "--tool", "calculator"], stdin="what is 12 times 7?\n")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    call = next(line for line in lines if line.startswith("[tool] calculator("))
    assert "12*7" in call
    assert "[tool] calculator -> 84" in lines
    answer = [line for line in lines if line.startswith("Assistant:")]
    assert answer, result.stdout
    # the embedded emulator speaks numbers in words (issue 13)
    assert "eighty four" in answer[-1]
    # the tool call is shown before the answer that uses its result
    assert lines.index(call) < lines.index(answer[-1])


def test_without_a_key_one_line_says_the_embedded_emulator_answers() -> None:
    result = run(["chat"], stdin="hello there\n")

    assert result.returncode == 0, result.stderr
    notices = [line for line in stderr_lines(result) if NOTICE in line]
    assert len(notices) == 1
    assert stderr_lines(result) == notices  # that line is all there is on stderr
    assert "no credentials" in notices[0]
    assert NOTICE not in result.stdout
    assert "You said: hello there" in result.stdout


def test_emulator_flag_wins_over_a_key_and_the_key_is_never_printed() -> None:
    env = clean_env(key=FAKE_KEY)
    result = run(["chat", "--emulator", "--debug"], stdin="what is 2 plus 3?\n", env=env)

    assert result.returncode == 0, result.stderr
    notices = [line for line in stderr_lines(result) if NOTICE in line]
    assert len(notices) == 1
    assert "--emulator" in notices[0]
    assert "The answer is five" in result.stdout
    assert FAKE_KEY not in result.stdout + result.stderr
    assert FAKE_KEY[-8:] not in result.stdout + result.stderr


def test_with_a_key_and_base_url_it_talks_to_that_server(emulator: EmulatorThread) -> None:
    env = clean_env(key=FAKE_KEY)
    result = run(
        [
            "chat",
            "--base-url",
            emulator.base_url,
            "--voice",
            "marin",
            "--system",
            "Answer like a pirate.",
            "--tool",
            "calculator",
        ],
        stdin="what is 6 times 7?\n",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert NOTICE not in result.stderr  # the given server, not the embedded one
    assert "42" in result.stdout
    assert FAKE_KEY not in result.stdout + result.stderr
    sessions = _session_updates(emulator)
    assert sessions, "the chat never configured a session on the given server"
    first = sessions[0]
    assert first["audio"]["output"]["voice"] == "marin"
    assert first["instructions"] == "Answer like a pirate."
    tool_names = {tool["name"] for tool in first["tools"]}
    # the asked-for tool, plus stop_conversation so that saying goodbye ends the chat
    assert tool_names == {"calculator", "stop_conversation"}
    # nothing plays the answer in a text chat, so the model answers in text alone
    assert first["output_modalities"] == ["text"]


def test_default_model_comes_from_the_environment(emulator: EmulatorThread) -> None:
    env = clean_env({"FULLDUPLEX_MODEL": "openai/gpt-realtime-mini"}, key=FAKE_KEY)
    result = run(["chat", "--base-url", emulator.base_url], stdin="hi\n", env=env)

    assert result.returncode == 0, result.stderr
    models = {conn.model for conn in emulator.emulator.connections}
    assert models == {"gpt-realtime-mini"}


def test_goodbye_ends_the_chat_while_input_is_still_open() -> None:
    """stop_conversation is always offered: the model calls it and the chat exits 0."""
    import subprocess

    from cli_kit import fullduplex_command

    process = subprocess.Popen(
        [*fullduplex_command(), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert process.stdin is not None
        process.stdin.write("ok, goodbye!\n")
        process.stdin.flush()  # and keep stdin open: only the tool can end this chat
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "[tool] stop_conversation" in out
    assert "Goodbye" in out


def _tone_wav(path: Path) -> None:
    """A spoken question: the embedded emulator's VAD (Silero) hears speech, not tones."""
    from fullduplex_emulator.espeak import EspeakVoice

    voice = EspeakVoice.shared()
    samples = np.frombuffer(voice.synthesize("what is nine times nine"), "<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(voice.rate)
        writer.writeframes(samples.tobytes())


def test_wav_in_and_wav_out(tmp_path: Path) -> None:
    spoken = tmp_path / "question.wav"
    answer = tmp_path / "answer" / "reply.wav"
    _tone_wav(spoken)

    result = run(["chat", "--input-wav", str(spoken), "--output-wav", str(answer)])

    assert result.returncode == 0, result.stderr
    # the transcript is still shown on the terminal
    assert any(line.startswith("Assistant:") for line in result.stdout.splitlines())
    with wave.open(str(answer), "rb") as reader:
        rate = reader.getframerate()
        assert reader.getsampwidth() == 2
        frames = reader.readframes(reader.getnframes())
    audio = np.frombuffer(frames, "<i2").astype(np.float64)
    assert len(audio) / rate > 0.3  # a spoken answer, not a click
    assert np.sqrt(np.mean(audio**2)) > 100  # and not silence


def test_output_wav_with_typed_input(tmp_path: Path) -> None:
    answer = tmp_path / "reply.wav"

    result = run(["chat", "--output-wav", str(answer)], stdin="hello\n")

    assert result.returncode == 0, result.stderr
    assert "You said: hello" in result.stdout
    with wave.open(str(answer), "rb") as reader:
        assert reader.getnframes() > 0
