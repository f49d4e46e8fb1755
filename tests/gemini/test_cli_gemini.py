"""``fullduplex chat -m gemini/...`` falls back to the Gemini emulator without a key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import MODEL


def test_chat_without_a_key_uses_the_gemini_emulator() -> None:
    exe = shutil.which("fullduplex", path=str(Path(sys.executable).parent))
    assert exe is not None
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    done = subprocess.run(
        [exe, "chat", "-m", f"gemini/{MODEL}", "--tool", "calculator"],
        input="what is 2 plus 3?\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "embedded emulator of provider 'gemini'" in done.stderr
    # in digits, or in words where the emulator speaks with its real voice ([speech])
    assert "The answer is 5." in done.stdout or "The answer is five." in done.stdout
