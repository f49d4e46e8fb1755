"""How ``fullduplex chat`` ends: 2 for bad usage, 1 for failure, 130 on Ctrl-C."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from cli_kit import FAKE_KEY, NOTICE, LiveChat, clean_env, run, stderr_lines


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["chat", "--no-such-option"], "No such option"),
        (["chat", "--emulator", "--base-url", "http://127.0.0.1:1"], "cannot be used together"),
        (["chat", "--input-wav", "/nonexistent/question.wav"], "does not exist"),
        (["chat", "--tool"], "requires an argument"),
    ],
)
def test_bad_usage_exits_2(args: list[str], complaint: str) -> None:
    result = run(args)

    assert result.returncode == 2, result.stderr
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr
    assert NOTICE not in result.stderr  # refused before anything started


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["chat", "--tool", "no_such_tool"], ["no_such_tool", "calculator", "current_time"]),
        (["chat", "-m", "nobody/model-x"], ["nobody", "openai/gpt-realtime"]),
        (["chat", "--voice", "robot"], ["voice", "coral", "marin"]),
    ],
)
def test_names_and_values_no_plugin_provides_exit_1_saying_what_exists(
    args: list[str], names: list[str]
) -> None:
    result = run(args, stdin="hi\n")

    assert result.returncode == 1, result.stderr
    lines = stderr_lines(result)
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for name in names:
        assert name in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_failure_is_one_line_and_never_shows_the_key() -> None:
    env = clean_env(key=FAKE_KEY)
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run(["chat", "--base-url", url], stdin="hi\n", env=env)

    assert result.returncode == 1
    assert stderr_lines(result) == [line for line in stderr_lines(result) if "Error:" in line]
    assert len(stderr_lines(result)) == 1
    assert "could not connect" in result.stderr
    assert "Traceback" not in result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("where", ["chat", "group"])
def test_debug_shows_the_traceback(where: str) -> None:
    env = clean_env(key=FAKE_KEY)
    url = f"http://127.0.0.1:{_closed_port()}"
    args = ["chat", "--debug", "--base-url", url]
    if where == "group":
        args = ["--debug", "chat", "--base-url", url]
    result = run(args, stdin="hi\n", env=env)

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ModelConnectionError" in result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr


def test_ctrl_c_ends_an_interactive_chat_cleanly(tmp_path: Path) -> None:
    """SIGINT while the chat waits for the next line: exit 130, no traceback, no task left."""
    args = ["chat", "--debug", "--tool", "calculator"]
    with LiveChat(args, env=clean_env(), stdin=subprocess.PIPE) as chat:
        assert chat.process.stdin is not None
        chat.process.stdin.write("what is 2 plus 3?\n")
        chat.process.stdin.flush()
        # a whole exchange is done and the chat now waits on stdin, which stays open
        assert chat.answered.wait(30), f"no answer; output so far: {chat.seen!r}"
        chat.interrupt()
    stderr = chat.read_stderr()
    seen = chat.seen

    assert chat.process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert "task left running" not in stderr
    assert "conversation ended (Ctrl-C)" in stderr
    assert any("The answer is five" in line for line in seen)
