"""Device choice, the missing-PortAudio error, and ``fullduplex devices``."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from fullduplex.errors import ConfigurationError, IOChannelError
from fullduplex_audio import BidiAudioIO
from fullduplex_audio.devices import list_devices, load_sounddevice, resolve_device

from .conftest import StandInAgent
from .pulse import PulseServer


class _FakePortAudioError(Exception):
    pass


def fake_sounddevice() -> types.ModuleType:
    """Stands in for the sounddevice module: three devices, defaults 1 (in) and 2 (out)."""
    module = types.ModuleType("sounddevice")
    devices = [
        ("HDA Intel PCH: ALC892 Analog", 2, 8),
        ("USB Headset Mic", 1, 0),
        ("USB Headset Speaker", 0, 2),
    ]
    module.query_devices = lambda: [  # type: ignore[attr-defined]
        {
            "index": i,
            "name": name,
            "hostapi": 0,
            "max_input_channels": ins,
            "max_output_channels": outs,
            "default_samplerate": 48000.0,
        }
        for i, (name, ins, outs) in enumerate(devices)
    ]
    module.query_hostapis = lambda: [{"name": "ALSA"}]  # type: ignore[attr-defined]
    module.default = types.SimpleNamespace(device=[1, 2])  # type: ignore[attr-defined]
    module.PortAudioError = _FakePortAudioError  # type: ignore[attr-defined]
    return module


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = fake_sounddevice()
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    return module


def test_devices_resolve_by_index_name_part_and_default(fake_sd: types.ModuleType) -> None:
    assert resolve_device(None, "input").name == "USB Headset Mic"
    assert resolve_device(None, "output").name == "USB Headset Speaker"
    assert resolve_device(0, "output").index == 0
    assert resolve_device("alc892", "input").index == 0
    # "usb headset" names two devices, but only one of them can play
    assert resolve_device("USB Headset", "output").index == 2


def test_unknown_device_lists_the_devices_there_are(fake_sd: types.ModuleType) -> None:
    with pytest.raises(IOChannelError) as caught:
        resolve_device("Scarlett 2i2", "output")
    message = str(caught.value)
    assert message.startswith("output_device: no sound device 'Scarlett 2i2'")
    for name in ("HDA Intel PCH: ALC892 Analog", "USB Headset Mic", "USB Headset Speaker"):
        assert name in message
    with pytest.raises(IOChannelError, match="input_device: no sound device 7"):
        resolve_device(7, "input")
    with pytest.raises(IOChannelError, match="has no input channels"):
        resolve_device(2, "input")


async def test_starting_on_an_unknown_device_fails_with_the_list(
    fake_sd: types.ModuleType,
) -> None:
    speaker = BidiAudioIO(output_device="Scarlett").output()
    with pytest.raises(IOChannelError, match="USB Headset Speaker"):
        await speaker.start(StandInAgent())  # type: ignore[arg-type]


def test_missing_portaudio_says_which_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a sounddevice that fails the way the real one does without libportaudio
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(IOChannelError) as caught:
        load_sounddevice()
    assert "apt-get install libportaudio2" in str(caught.value)
    assert "brew install portaudio" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    with pytest.raises(IOChannelError, match="libportaudio2"):
        list_devices()


def test_configuration_is_checked_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="input_device"):
        BidiAudioIO(input_device=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="frame_ms"):
        BidiAudioIO(frame_ms=0)
    with pytest.raises(ConfigurationError, match="output_latency: expected 'low', 'high'"):
        BidiAudioIO(output_latency="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="output_channels"):
        BidiAudioIO(output_channels=0)


def test_audio_io_is_registered_under_its_names() -> None:
    import fullduplex
    from fullduplex.io import BidiAudioIO as exported
    from fullduplex.io import BidiWavIO

    assert exported is BidiAudioIO
    assert isinstance(fullduplex.get_io("audio"), BidiAudioIO)
    assert isinstance(fullduplex.get_io("wav", input_path="x.wav"), BidiWavIO)


@pytest.mark.audio
def test_devices_command_lists_the_sound_server_devices(pulse_server: PulseServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fullduplex.cli", "devices"],
        env={**os.environ, "PULSE_SERVER": pulse_server.env["PULSE_SERVER"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "pulse" in done.stdout
    assert "default" in done.stdout


@pytest.mark.audio
def test_an_unknown_real_device_lists_the_real_ones(pulse_server: PulseServer) -> None:
    with pytest.raises(IOChannelError) as caught:
        resolve_device("no-such-card", "output")
    assert "pulse" in str(caught.value)
