"""Running ``fullduplex`` as a real subprocess, the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
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
