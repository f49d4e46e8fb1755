"""``fullduplex chat``'s console options as subprocesses: ``--jsonl`` parsed line by
line, ``--metrics`` on a pipe, the logging flags (with keys redacted),
``--system-file``, the device options' rules, and what reaches the server for
``--transcription-model`` / ``--turn-detection``."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_kit import FAKE_KEY, clean_env, fullduplex_command, run

from fullduplex.events import BidiTurnMetricsEvent, event_from_dict
from fullduplex_openai.emulator import Emulator


def test_jsonl_puts_one_event_per_line_on_stdout_and_the_talk_on_stderr() -> None:
    result = run(["chat", "--jsonl", "--tool", "calculator"], stdin="what is 12 times 7?\n")
    assert result.returncode == 0, result.stderr
    events = [event_from_dict(json.loads(line)) for line in result.stdout.splitlines()]
    types = [e.type for e in events]
    assert types[0] == "bidi_connection_start"
    assert "tool_use_stream" in types
    assert "tool_result" in types
    assert types.count("bidi_turn_metrics") == 1
    finals = [
        e.text
        for e in events
        if e.type == "bidi_transcript_stream" and e.is_final  # type: ignore[union-attr]
    ]
    assert finals == ["The answer is eighty four."]
    metrics = next(e for e in events if isinstance(e, BidiTurnMetricsEvent))
    assert metrics.tool_calls == 1
    assert metrics.output_tokens > 0
    # people read the conversation on stderr
    assert "Assistant: The answer is eighty four." in result.stderr


def test_jsonl_takes_input_events_as_json_lines_and_skips_bad_ones() -> None:
    lines = [
        '{"type": "bidi_text_input", "text": "what is 2 plus 3?"}',
        '{"type": "bidi_text_input", "txt": "typo"}',
        '{"type": "bidi_response_start", "response_id": "r"}',
        "{not json",
    ]
    result = run(["chat", "--jsonl", "--tool", "calculator"], stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    finals = [
        e["text"]
        for e in map(json.loads, result.stdout.splitlines())
        if e["type"] == "bidi_transcript_stream" and e["is_final"]
    ]
    assert finals == ["The answer is five."]
    skipped = [line for line in result.stderr.splitlines() if "input line skipped" in line]
    assert len(skipped) == 3
    assert "txt" in skipped[0]
    assert "'bidi_response_start' is an output event" in skipped[1]


def test_metrics_on_a_pipe_prints_the_turn_and_the_summary() -> None:
    result = run(["chat", "--metrics"], stdin="hello\nwhat time is it?\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    turns = [line for line in lines if line.startswith("[metrics] turn ")]
    assert [line.split(":")[0] for line in turns] == ["[metrics] turn 1", "[metrics] turn 2"]
    assert all("first text" in line for line in turns)
    assert lines[-1].startswith("[summary] 2 turns, 0 interruptions, 0 reconnects")
    # no status line on a pipe: it is for terminals
    assert "[listening]" not in result.stdout


def test_without_metrics_there_are_no_figures() -> None:
    result = run(["chat"], stdin="hello\n")
    assert result.returncode == 0, result.stderr
    assert "[metrics]" not in result.stdout
    assert "[summary]" not in result.stdout


async def _chat_against(emu: Emulator, *args: str, stdin: bytes = b"hello\n") -> tuple[str, str]:
    process = await asyncio.create_subprocess_exec(
        *fullduplex_command(),
        "chat",
        "--base-url",
        emu.base_url,
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(key=FAKE_KEY),
    )
    try:
        async with asyncio.timeout(60):
            out, err = await process.communicate(stdin)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_vv_logs_the_wire_traffic_with_the_key_redacted() -> None:
    async with Emulator(api_key=FAKE_KEY) as emu:
        _, err = await _chat_against(emu, "-vv")
    assert "DEBUG" in err
    assert "session.update" in err  # the frames themselves
    assert FAKE_KEY not in err


async def test_v_logs_info_without_the_wire(tmp_path: Path) -> None:
    async with Emulator(api_key=FAKE_KEY) as emu:
        _, err = await _chat_against(emu, "-v")
    assert "INFO fullduplex.chat: model openai/" in err
    assert "INFO fullduplex.metrics: turn 1:" in err
    assert "DEBUG" not in err
    assert "session.update" not in err


async def test_log_file_and_the_environment_level(tmp_path: Path) -> None:
    log = tmp_path / "chat.log"
    async with Emulator(api_key=FAKE_KEY) as emu:
        process = await asyncio.create_subprocess_exec(
            *fullduplex_command(),
            "chat",
            "--base-url",
            emu.base_url,
            "--log-file",
            str(log),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env({"FULLDUPLEX_LOG": "debug"}, key=FAKE_KEY),
        )
        async with asyncio.timeout(60):
            _, err = await process.communicate(b"hello\n")
    assert process.returncode == 0, err.decode()
    text = log.read_text(encoding="utf-8")
    assert "session.update" in text
    assert FAKE_KEY not in text
    assert "DEBUG" not in err.decode()  # the log went to the file


def test_an_unknown_log_level_in_the_environment_is_named() -> None:
    result = run(["chat"], stdin="hi\n", env=clean_env({"FULLDUPLEX_LOG": "loud"}))
    assert result.returncode == 2
    assert "FULLDUPLEX_LOG" in result.stderr
    assert "debug, info, warning" in result.stderr


async def test_system_file_transcription_and_turn_detection_reach_the_server(
    tmp_path: Path,
) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are terse.\n", encoding="utf-8")
    async with Emulator(api_key=FAKE_KEY) as emu:
        await _chat_against(
            emu,
            "--system-file",
            str(prompt),
            "--transcription-model",
            "whisper-1",
            "--turn-detection",
            "semantic",
        )
        updates = [e["session"] for e in emu.received if e["type"] == "session.update"]
    session: dict[str, Any] = updates[0]
    assert session["instructions"] == "You are terse."
    assert session["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert session["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"


async def test_turn_detection_none_turns_it_off() -> None:
    async with Emulator(api_key=FAKE_KEY) as emu:
        await _chat_against(emu, "--turn-detection", "none")
        session = next(e["session"] for e in emu.received if e["type"] == "session.update")
    assert session["audio"]["input"]["turn_detection"] is None
    # typed text, no audio in: no transcription asked for
    assert "transcription" not in session["audio"]["input"]


def test_system_and_system_file_do_not_go_together(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("x", encoding="utf-8")
    result = run(["chat", "--system", "y", "--system-file", str(prompt)], stdin="hi\n")
    assert result.returncode == 2
    assert "--system and --system-file cannot be used together" in result.stderr


@pytest.mark.parametrize("flag", ["--input-device", "--output-device"])
def test_device_options_need_audio(flag: str) -> None:
    result = run(["chat", flag, "1"], stdin="hi\n")
    assert result.returncode == 2
    assert f"{flag} need --audio" in result.stderr
