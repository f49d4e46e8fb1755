"""Running ``fullduplex`` in a real terminal: a tmux session on a private socket.

The test types with ``send-keys`` and reads the screen with ``capture-pane``,
so what it checks is what a person sees: the terminal's own echo, the status
line redrawn in place, colour codes interpreted (and stripped by tmux).
Without tmux the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from cli_kit import fullduplex_command


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        if in_ci():
            pytest.fail("CI=true but tmux is not installed (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    return found


class Terminal:
    """One tmux session running ``fullduplex ARGS``; the pane stays after the exit."""

    def __init__(self, tmux: str, workdir: Path) -> None:
        self._tmux = tmux
        self._socket = workdir / "tmux.sock"
        self._workdir = workdir

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [self._tmux, "-S", str(self._socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return result.stdout

    def start(
        self, args: Sequence[str], env: Mapping[str, str], *, width: int = 120, height: int = 40
    ) -> None:
        script = self._workdir / "run.sh"
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        command = shlex.join([*fullduplex_command(), *args])
        # The exit status is shown on the screen; the pane is kept for reading.
        script.write_text(
            f'#!/bin/sh\n{exports}{command}\necho "EXIT=$?"\nsleep 120\n', encoding="utf-8"
        )
        script.chmod(0o755)
        self._run(
            "-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height), str(script)
        )

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", "0", "-l", text)

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "0", *keys)

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-J", "-t", "0", "-S", "-200")

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen().splitlines() if line.strip()]

    def wait_for(self, text: str, timeout_s: float = 30.0) -> str:
        """The screen once it shows ``text`` (a failure naming what it shows otherwise)."""
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"the terminal never showed {text!r}; it shows:\n{screen}")

    def close(self) -> None:
        subprocess.run(
            [self._tmux, "-S", str(self._socket), "kill-server"],
            capture_output=True,
            timeout=10,
            check=False,
        )
