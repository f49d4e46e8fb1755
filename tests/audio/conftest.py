"""Fixtures for the audio plugin's tests: a real PulseAudio server for ``@pytest.mark.audio``.

Without a usable sound server the audio tests skip with the reason; with
``CI=true`` they fail instead, so CI can never pass by silently skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fullduplex.events import BidiAudioStreamEvent
from fullduplex.io import PlaybackLedger
from fullduplex.model import ModelCapabilities

from .pulse import PulseServer, PulseUnavailable


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip outside CI, fail in CI."""
    if _in_ci():
        pytest.fail(f"CI=true but the real-sound tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A PulseAudio daemon with ``speaker`` and ``mic`` null sinks, PortAudio pointed at it."""
    server = PulseServer(Path(tmp_path_factory.mktemp("pulse")))
    try:
        server.start()
    except (PulseUnavailable, OSError) as exc:
        server.stop()
        unavailable(f"no PulseAudio server: {exc}")
    saved = {key: os.environ.get(key) for key in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")}
    os.environ["PULSE_SERVER"] = server.env["PULSE_SERVER"]
    os.environ.pop("PULSE_SINK", None)
    os.environ.pop("PULSE_SOURCE", None)
    try:
        try:
            import sounddevice as sd
        except OSError as exc:
            unavailable(f"PortAudio is missing (apt-get install libportaudio2): {exc}")
        # PortAudio enumerates devices once; make it look again now the server is up
        sd._terminate()
        sd._initialize()
        names = [str(dev["name"]) for dev in sd.query_devices()]
        if not any(name in ("pulse", "default") for name in names):
            unavailable(
                "PortAudio sees no 'pulse' or 'default' device; the ALSA pulse plugin is "
                f"missing (apt-get install libasound2-plugins). Devices: {names}"
            )
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


class _StandInModel:
    def __init__(self, capabilities: ModelCapabilities) -> None:
        self.capabilities = capabilities


class StandInAgent:
    """What an IO channel uses of a ``BidiAgent``: the model's capabilities and the ledger."""

    def __init__(self, capabilities: ModelCapabilities | None = None) -> None:
        self.model = _StandInModel(capabilities or ModelCapabilities())
        self.playback = PlaybackLedger()

    def received(self, event: BidiAudioStreamEvent) -> BidiAudioStreamEvent:
        """Count a chunk in the ledger as the agent does before any output sees it
        (the ledger only counts what players heard of audio it knows it received)."""
        if event.item_id is not None:
            ms = len(event.audio) / 2 / event.channels * 1000 / event.sample_rate
            self.playback.note_audio(event.item_id, ms)
        return event


@pytest.fixture
def stand_in_agent() -> StandInAgent:
    return StandInAgent()
