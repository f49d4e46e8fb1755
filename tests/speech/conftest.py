"""Fixtures for the speech tests: the kit's ``[speech]`` extra, or a skip (a failure in CI).

Without the extra the speech tests skip with the reason; with ``CI=true`` they
fail instead, so CI can never pass by silently skipping them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fullduplex_emulator.speech import SpeechStack, load_speech, missing_packages

sys.path.insert(0, str(Path(__file__).parent))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def speech() -> SpeechStack:
    """The process's speech stack (recogniser, eSpeak NG voice, Silero VAD)."""
    missing = missing_packages()
    if missing:
        reason = f"the emulator's [speech] extra is not installed (missing: {missing})"
        if _in_ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    stack = load_speech(True)
    assert stack is not None
    return stack
