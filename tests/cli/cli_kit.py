"""Running ``fullduplex`` as a real subprocess, the way a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: A key-shaped secret the tests hand to the command and then look for in its output.
FAKE_KEY = "sk-test-DO-NOT-PRINT-4f1c2e9a7b"

#: The one line that says the embedded emulator answers.
NOTICE = "using the embedded emulator"


def fullduplex_command() -> list[str]:
    """The console script next to this interpreter (or ``python -m fullduplex.cli``)."""
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def clean_env(extra: Mapping[str, str] | None = None, *, key: str | None = None) -> dict[str, str]:
    """The environment minus anything that would change what the command connects to."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENAI_", "FULLDUPLEX_", "AZURE_OPENAI"))
    }
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if key is not None:
        env["OPENAI_API_KEY"] = key
    env.update(extra or {})
    return env


def run(
    args: Sequence[str],
    *,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``fullduplex ARGS`` with ``stdin`` piped in; waits for the exit."""
    return subprocess.run(
        [*fullduplex_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else clean_env(),
        timeout=timeout,
        check=False,
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


class LiveChat:
    """``fullduplex ARGS`` running in the background while a thread collects its stdout.

    The Ctrl-C tests must act while the chat is alive (speak, wait for the
    answer, send SIGINT), so they cannot use :func:`run`. ``seen`` holds the
    stdout lines so far; ``answered`` is set at each ``Assistant:`` line.
    Leaving the ``with`` block kills the process if it still runs and waits
    for the reader, so ``read_stderr()`` afterwards sees all the output.
    """

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str], stdin: int) -> None:
        self.process = subprocess.Popen(
            [*fullduplex_command(), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env),
        )
        self.seen: list[str] = []
        self.answered = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.seen.append(line)
            if line.startswith("Assistant:"):
                self.answered.set()

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it, then wait for the exit."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)

    def read_stderr(self) -> str:
        """All of stderr (call after the ``with`` block); closes the pipes."""
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return stderr

    def __enter__(self) -> LiveChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(10)
