"""Finding sound devices through PortAudio (via ``sounddevice``).

``sounddevice`` loads the PortAudio C library when it is imported, so it is
imported here on demand only, and its failure is turned into an
:class:`~fullduplex.errors.IOChannelError` that says which system package to
install: the Python package alone is not enough.

A device is chosen by index or by name (exact, else a unique case-insensitive
part of the name); an unknown or ambiguous choice fails with the list of the
devices there are, so the user can pick one without another tool.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from fullduplex.errors import IOChannelError

Direction: TypeAlias = Literal["input", "output"]
DeviceSpec: TypeAlias = int | str | None

PORTAUDIO_HINT = (
    "PortAudio, the sound library sounddevice needs, is not installed on this machine. "
    "Install the system package: `apt-get install libportaudio2` (Debian/Ubuntu), "
    "`dnf install portaudio` (Fedora), or `brew install portaudio` (macOS)."
)


def load_sounddevice() -> Any:
    """Import ``sounddevice``, or raise an ``IOChannelError`` naming what to install."""
    try:
        import sounddevice
    except OSError as exc:  # the module exists but the PortAudio library does not
        raise IOChannelError(PORTAUDIO_HINT) from exc
    except ImportError as exc:
        raise IOChannelError(
            "the Python package sounddevice is not installed: `pip install sounddevice` "
            "(it also needs the PortAudio system library: `apt-get install libportaudio2` "
            "or `brew install portaudio`)"
        ) from exc
    return sounddevice


@attrs.frozen
class DeviceInfo:
    """One PortAudio device as the user sees it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, direction: Direction) -> int:
        return self.max_input_channels if direction == "input" else self.max_output_channels


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows, with the system defaults marked."""
    sd = load_sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = _default_indices(sd)
    except sd.PortAudioError as exc:
        raise IOChannelError(f"cannot list sound devices: {exc}") from exc
    devices = []
    for info in raw:
        index = int(info["index"])
        devices.append(
            DeviceInfo(
                index=index,
                name=str(info["name"]),
                hostapi=str(hostapis[int(info["hostapi"])]["name"]),
                max_input_channels=int(info["max_input_channels"]),
                max_output_channels=int(info["max_output_channels"]),
                default_samplerate=float(info["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def _default_indices(sd: Any) -> tuple[int, int]:
    default = sd.default.device
    try:
        return int(default[0]), int(default[1])
    except (TypeError, ValueError, IndexError):
        return -1, -1


def format_devices(devices: list[DeviceInfo]) -> str:
    """A table of devices: ``>`` marks the default input, ``<`` the default output."""
    if not devices:
        return "(no sound devices found: is a sound server such as PulseAudio running?)"
    lines = []
    for dev in devices:
        mark = (">" if dev.is_default_input else " ") + ("<" if dev.is_default_output else " ")
        lines.append(
            f"{mark} {dev.index:3d} {dev.name} ({dev.hostapi}; "
            f"{dev.max_input_channels} in, {dev.max_output_channels} out, "
            f"{dev.default_samplerate:g} Hz)"
        )
    return "\n".join(lines)


def resolve_device(spec: DeviceSpec, direction: Direction) -> DeviceInfo:
    """The device ``spec`` names for ``direction`` (``None``: the system default).

    Raises ``IOChannelError`` listing the devices when ``spec`` matches none,
    several, or one without channels in that direction.
    """
    devices = list_devices()
    field = f"{direction}_device"
    if spec is None:
        for dev in devices:
            if dev.is_default_input if direction == "input" else dev.is_default_output:
                return dev
        usable = [dev for dev in devices if dev.channels(direction) > 0]
        if usable:
            return usable[0]
        raise IOChannelError(
            f"{field}: there is no default {direction} device and no device with "
            f"{direction} channels. Devices:\n{format_devices(devices)}"
        )
    if isinstance(spec, bool) or not isinstance(spec, int | str):
        raise IOChannelError(
            f"{field}: expected a device index (int), a device name (str) or None, "
            f"got {type(spec).__name__}"
        )
    if isinstance(spec, int):
        matches = [dev for dev in devices if dev.index == spec]
    else:
        matches = [dev for dev in devices if dev.name == spec]
        if not matches:
            wanted = spec.casefold()
            matches = [dev for dev in devices if wanted in dev.name.casefold()]
        with_channels = [dev for dev in matches if dev.channels(direction) > 0]
        if len(with_channels) > 0:
            matches = with_channels
    if not matches:
        raise IOChannelError(
            f"{field}: no sound device {spec!r}. Devices:\n{format_devices(devices)}"
        )
    if len(matches) > 1:
        raise IOChannelError(
            f"{field}: {spec!r} matches several devices; give an index or a fuller name. "
            f"Matching:\n{format_devices(matches)}"
        )
    found = matches[0]
    if found.channels(direction) <= 0:
        raise IOChannelError(
            f"{field}: device {found.index} ({found.name}) has no {direction} channels. "
            f"Devices:\n{format_devices(devices)}"
        )
    return found
