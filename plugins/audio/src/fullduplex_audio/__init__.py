"""fullduplex-audio: microphone and speaker (PortAudio) and WAV file channels.

``BidiAudioIO`` plays and records sound devices; ``BidiWavIO`` streams a WAV
file in and writes the model's speech to another, with no sound device.
Both are also importable as ``fullduplex.io.BidiAudioIO`` / ``BidiWavIO``.
"""

from __future__ import annotations

from .audio_io import BidiAudioIO
from .devices import DeviceInfo, list_devices
from .wav import BidiWavIO

__all__ = ["BidiAudioIO", "BidiWavIO", "DeviceInfo", "list_devices"]
