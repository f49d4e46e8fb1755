"""``fullduplex chat --audio`` against a real PulseAudio server with virtual devices.

A spoken question (eSpeak NG) played into the virtual microphone is the user's
turn; the embedded emulator (with its [speech] extra) hears it and answers it
aloud; the answer must come out of the virtual speaker, say the right words
(recognised independently from the speaker's recording), and show on stdout
beside the user's own transcript (the emulator's input transcription).
The microphone never ends, so Ctrl-C ends the chat (exit 130). Skips without a
sound server, fails then under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from cli_kit import NOTICE, REPO, LiveChat, clean_env, fullduplex_command


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
    from fullduplex_emulator.speech import load_speech

    speech = load_speech(True)
    assert speech is not None
    question = speech.speak("what is twenty one times four", 24000) + bytes(24000)
    recorder = pulse.record("speaker.monitor", rate=48000)
    try:
        command = ["chat", "--audio", "--tool", "calculator", "--debug"]
        with LiveChat(command, env=env, stdin=subprocess.DEVNULL) as chat:
            # give the microphone time to open: a question cut short is answered as heard
            time.sleep(3)
            # ask until the chat answers
            for _attempt in range(10):
                spoken = pulse.play("mic", question, 24000)
                spoken.wait(30)
                if chat.answered.wait(6):
                    break
            assert chat.answered.is_set(), f"no answer to the microphone; stdout: {chat.seen!r}"
            chat.answered.clear()
            chat.answered.wait(4)  # let the spoken answer play out
            chat.interrupt()
    finally:
        samples = recorder.stop()
    stderr = chat.read_stderr()
    seen = chat.seen

    assert chat.process.returncode == 130, stderr
    assert NOTICE in stderr
    assert "Traceback" not in stderr
    assert "task left running" not in stderr
    # both sides' transcripts: the user's own words, as the emulator's recogniser heard them
    assert any(line.strip() == "You: what is twenty one times four" for line in seen), seen
    assert any(line.strip() == "Assistant: The answer is eighty four." for line in seen), seen
    assert np.max(np.abs(samples)) > 1000, "the spoken answer never reached the speaker"
    from fullduplex_emulator.grammar import ANSWERS
    from fullduplex_emulator.recognizer import Recognizer

    # what the speaker said, heard independently: the loud part of the recording
    heard = Recognizer(ANSWERS, fallback=False).recognize(samples.tobytes(), 48000)
    assert heard is not None
    assert heard.text == "the answer is eighty four"


@pytest.mark.parametrize(
    ("input_device", "output_device"), [("pulse", "0"), ("0", "pulse")], ids=["names", "indices"]
)
def test_audio_chat_uses_the_devices_named_by_index_or_name(
    pulse: Any, input_device: str, output_device: str
) -> None:
    """``--input-device`` / ``--output-device`` as ``fullduplex devices`` lists them
    (index 0 is PortAudio's ``pulse`` device here): the chat hears and answers through them."""
    env = clean_env(
        {key: value for key, value in pulse.env.items() if key.startswith(("PULSE", "XDG", "HOME"))}
    )
    listed = subprocess.run(
        [*fullduplex_command(), "devices"], env=env, capture_output=True, text=True, timeout=30
    )
    assert " 0 pulse " in listed.stdout, listed.stdout
    from fullduplex_emulator.speech import load_speech

    speech = load_speech(True)
    assert speech is not None
    # the emulator's voice detection hears speech, not noise
    question = speech.speak("what is nine times nine", 24000) + bytes(24000)
    recorder = pulse.record("speaker.monitor", rate=48000)
    args = ["chat", "--audio", "--input-device", input_device, "--output-device", output_device]
    try:
        with LiveChat(args, env=env, stdin=subprocess.DEVNULL) as chat:
            time.sleep(3)  # give the microphone time to open
            for _attempt in range(10):
                spoken = pulse.play("mic", question, 24000)
                spoken.wait(30)
                if chat.answered.wait(6):
                    break
            assert chat.answered.is_set(), f"no answer to the microphone; stdout: {chat.seen!r}"
            chat.answered.clear()
            chat.answered.wait(3)
            chat.interrupt()
    finally:
        samples = recorder.stop()
    stderr = chat.read_stderr()
    assert chat.process.returncode == 130, stderr
    assert np.max(np.abs(samples)) > 1000, "the spoken answer never reached the speaker"


def test_an_unknown_device_is_named_with_the_ones_that_exist(pulse: Any) -> None:
    env = clean_env(
        {key: value for key, value in pulse.env.items() if key.startswith(("PULSE", "XDG", "HOME"))}
    )
    result = subprocess.run(
        [*fullduplex_command(), "chat", "--audio", "--output-device", "nosuch"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no sound device 'nosuch'" in result.stderr
    assert "0 pulse" in result.stderr
    assert "Traceback" not in result.stderr
