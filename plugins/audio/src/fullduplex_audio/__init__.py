"""fullduplex-audio: microphone and speaker (PortAudio) and WAV file channels.

``BidiAudioIO`` plays and records sound devices; ``BidiWavIO`` streams a WAV
file in and writes the model's speech to another, with no sound device.
Both are also importable as ``fullduplex.io.BidiAudioIO`` / ``BidiWavIO``.
The names below are imported from their modules on first access, so loading
the ``audio`` plugin (which ``fullduplex plugins`` does) imports no channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.lazyref import lazy_exports

if TYPE_CHECKING:
    from .audio_io import BidiAudioIO
    from .devices import DeviceInfo, list_devices
    from .wav import BidiWavIO

_LAZY: dict[str, str] = {
    "BidiAudioIO": ".audio_io",
    "BidiWavIO": ".wav",
    "DeviceInfo": ".devices",
    "list_devices": ".devices",
}

__all__ = ["BidiAudioIO", "BidiWavIO", "DeviceInfo", "list_devices"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
