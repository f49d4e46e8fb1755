"""Spoken question in, spoken answer out, through the real ``fullduplex chat`` command.

A question is synthesized with eSpeak NG into a WAV file; ``fullduplex chat
--input-wav q.wav --output-wav a.wav`` runs as a subprocess with no key (so the
embedded emulator answers, offline); the answer file is then recognised
independently (against the grammar of answers, in this process) and must hold
the words of the right answer. One question makes the calculator fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from wer import word_errors

from fullduplex_emulator.grammar import ANSWERS
from fullduplex_emulator.recognizer import Recognizer
from fullduplex_emulator.speech import SpeechStack


def _command() -> list[str]:
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def _env() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENAI_", "FULLDUPLEX_", "AZURE_OPENAI"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _write_wav(path: Path, pcm16: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm16)


def _read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        return reader.readframes(reader.getnframes()), reader.getframerate()


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("what is twenty one times four", "the answer is eighty four"),
        ("what is nine times nine", "the answer is eighty one"),
        ("what is one hundred divided by four", "the answer is twenty five"),
        # the calculator refuses: the answer says so instead of a number
        ("what is seven divided by zero", "sorry the calculator failed"),
    ],
)
def test_the_answer_file_holds_the_spoken_answer(
    speech: SpeechStack, tmp_path: Path, question: str, answer: str
) -> None:
    question_wav = tmp_path / "q.wav"
    answer_wav = tmp_path / "a.wav"
    _write_wav(question_wav, speech.voice.synthesize(question), speech.voice.rate)

    result = subprocess.run(
        [
            *_command(),
            "chat",
            "--tool",
            "calculator",
            "--input-wav",
            str(question_wav),
            "--output-wav",
            str(answer_wav),
        ],
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "embedded emulator" in result.stderr
    pcm16, rate = _read_wav(answer_wav)
    heard = Recognizer(ANSWERS, fallback=False).recognize(pcm16, rate)
    assert heard is not None, result.stdout
    assert heard.text == answer, (heard.text, result.stdout)
    # the terminal shows the user's words as the emulator heard them (input transcription;
    # "seven" may be heard as "seventy", see tests/speech/test_accuracy.py)
    said = [line[len("You: ") :] for line in result.stdout.splitlines() if line.startswith("You: ")]
    assert len(said) == 1, result.stdout
    assert word_errors(question, said[0]) <= 1, result.stdout
    # the terminal shows the same words the file says
    assert any(answer in line.lower().replace(",", "") for line in result.stdout.splitlines()), (
        result.stdout
    )
