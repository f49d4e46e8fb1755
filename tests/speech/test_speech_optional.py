"""The speech stack is optional: without it the emulator behaves as before and says so once."""

from __future__ import annotations

import logging

import pytest

from fullduplex_emulator import speech as speech_module
from fullduplex_openai.emulator import Emulator


@pytest.fixture
def extra_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech_module, "missing_packages", lambda: ["pocketsphinx"])
    monkeypatch.setattr(speech_module, "_noticed", False)


def test_auto_without_the_extra_falls_back_and_says_so_once(
    extra_missing: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="fullduplex_emulator"):
        first = Emulator(speech="auto")
        second = Emulator(speech="auto")
    assert first.speech is None
    assert second.speech is None
    assert first.offload is False
    notices = [r.getMessage() for r in caplog.records if "speech stack" in r.getMessage()]
    assert len(notices) == 1
    assert "pip install 'fullduplex-emulator[speech]'" in notices[0]
    assert "pocketsphinx" in notices[0]


def test_required_speech_without_the_extra_is_a_clear_error(extra_missing: None) -> None:
    with pytest.raises(speech_module.SpeechUnavailableError, match=r"pocketsphinx.*\[speech\]"):
        Emulator(speech=True)


def test_speech_off_is_todays_behaviour() -> None:
    emulator = Emulator()
    assert emulator.speech is None
    assert emulator.offload is False


def test_a_wrong_speech_value_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="speech: expected True, False or 'auto'"):
        speech_module.load_speech("yes")  # type: ignore[arg-type]
