"""BidiTextIO in a real child process, stdin a pipe: the conversation, labels, and the exit."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

SCRIPT = Path(__file__).with_name("chat_script.py")


def child_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    env.pop("NO_COLOR", None)
    return env


class Chat:
    """The chat script as a child process: type lines, read its output lines."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def read_until(self, prefix: str) -> list[str]:
        """Output lines up to and including the first that starts with ``prefix``."""
        seen = []
        while True:
            line = self.lines.get(timeout=30)
            assert line is not None, f"the chat ended before {prefix!r}; saw {seen}"
            seen.append(line)
            if line.startswith(prefix):
                return seen

    def finish(self) -> tuple[int, list[str], str]:
        """Close stdin (end of input); the exit code, the remaining lines, stderr."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=60)
        rest = []
        while (line := self.lines.get(timeout=30)) is not None:
            rest.append(line)
        assert self.proc.stderr is not None
        return code, rest, self.proc.stderr.read()


def test_piped_conversation_prints_labelled_final_lines_and_ends_with_stdin() -> None:
    chat = Chat()
    chat.type("hello there\n\n")
    assert chat.read_until("Assistant:") == ["Assistant: Hi! How can I help?"]
    chat.type("what is 2 plus 40?\n")
    assert chat.read_until("Assistant:") == [
        '[tool] add({"a": 2, "b": 40})',
        "[tool] add -> 42",
        "Assistant: It is 42.",
    ]
    code, rest, stderr = chat.finish()
    assert code == 0, stderr
    assert rest == ["(done: 2 lines sent)"]
    # a pipe is not a terminal: no colour codes, no in-place redraws of partials
    output = "".join(chat.raw)
    assert "\x1b" not in output
    assert "\r" not in output


def test_end_of_input_waits_for_the_answer_to_the_last_line() -> None:
    """Input and its end arrive together; the answer still comes before the exit."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        input="hello there",  # no newline at the end: still a line
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Assistant: Hi! How can I help?", "(done: 1 lines sent)"]


def test_empty_stdin_ends_the_conversation_at_once() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["(done: 0 lines sent)"]
