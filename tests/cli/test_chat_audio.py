"""``fullduplex chat --audio`` against a real PulseAudio server with virtual devices.

A sound burst played into the virtual microphone is the user's turn; the
embedded emulator answers it aloud; the answer must come out of the virtual
speaker and its transcript on stdout. The microphone never ends, so Ctrl-C
ends the chat (exit 130). Skips without a sound server, fails then under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from cli_kit import NOTICE, REPO, clean_env, fullduplex_command


def _load(name: str) -> ModuleType:
    """A helper module of tests/audio, loaded by path (tests/ is not a package)."""
    path = REPO / "tests" / "audio" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_cli_audio_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_pulse = _load("pulse")
PulseServer = _pulse.PulseServer
PulseUnavailable = _pulse.PulseUnavailable
noise_burst = _load("signals").noise_burst

pytestmark = pytest.mark.audio


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[Any]:
    server = PulseServer(tmp_path / "pulse")
    try:
        server.start()
    except (PulseUnavailable, OSError) as exc:
        server.stop()
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but there is no PulseAudio server: {exc}")
        pytest.skip(f"no PulseAudio server: {exc}")
    try:
        yield server
    finally:
        server.stop()


def test_audio_chat_hears_the_microphone_and_answers_on_the_speaker(pulse: Any) -> None:
    env = clean_env(
        {key: value for key, value in pulse.env.items() if key.startswith(("PULSE", "XDG", "HOME"))}
    )
    recorder = pulse.record("speaker.monitor", rate=48000)
    process = subprocess.Popen(
        [*fullduplex_command(), "chat", "--audio", "--debug"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    answered = threading.Event()
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Assistant:"):
                answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # speak until the chat answers (the first bursts may come before the mic opens)
        for attempt in range(10):
            burst = pulse.play("mic", noise_burst(1000, seed=30 + attempt), 24000)
            burst.wait(30)
            if answered.wait(6):
                break
        assert answered.is_set(), f"no answer to the microphone; stdout: {seen!r}"
        answered.clear()
        answered.wait(3)  # let the spoken answer play out
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        samples = recorder.stop()
    reader.join(10)
    assert process.stderr is not None
    stderr = process.stderr.read()

    assert process.returncode == 130, stderr
    assert NOTICE in stderr
    assert "Traceback" not in stderr
    assert "task left running" not in stderr
    assert any(line.startswith("Assistant: I heard") for line in seen), seen
    assert np.max(np.abs(samples)) > 1000, "the spoken answer never reached the speaker"
