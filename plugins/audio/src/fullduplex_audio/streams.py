"""Opening a PortAudio raw stream in a format both the device and the model can live with.

The model fixes a sample rate and channel count. The device is asked for
exactly that first; when it refuses (many sound cards run only at 44.1 or
48 kHz, some only in stereo), the stream opens at the device's own rate and
channel count and the channels convert (resample, mix down, duplicate).
"""

from __future__ import annotations

from typing import Any

import attrs

from fullduplex.errors import IOChannelError

from .devices import DeviceInfo, load_sounddevice, resolve_device
from .settings import DirectionSettings


@attrs.frozen
class StreamFormat:
    """The device, rate and channel count a stream opens with."""

    device: DeviceInfo
    sample_rate: int
    channels: int
    blocksize: int


def choose_format(
    settings: DirectionSettings, model_rate: int, model_channels: int
) -> StreamFormat:
    """Resolve the device and pick the first format it accepts (blocking: PortAudio calls)."""
    sd = load_sounddevice()
    device = resolve_device(settings.device, settings.direction)
    check = sd.check_input_settings if settings.direction == "input" else sd.check_output_settings
    max_channels = device.channels(settings.direction)
    if settings.sample_rate is not None:
        rates = [settings.sample_rate]
    else:
        rates = _unique([model_rate, int(device.default_samplerate), 48000, 44100])
    if settings.channels is not None:
        channel_options = [settings.channels]
    else:
        channel_options = _unique([model_channels, min(2, max_channels), max_channels])
    problems: list[str] = []
    for rate in rates:
        for channels in channel_options:
            if channels < 1 or channels > max_channels:
                problems.append(f"{rate} Hz x {channels}: the device has {max_channels} channels")
                continue
            try:
                check(device=device.index, channels=channels, dtype="int16", samplerate=rate)
            except (sd.PortAudioError, ValueError) as exc:
                problems.append(f"{rate} Hz x {channels}: {exc}")
                continue
            blocksize = max(1, round(rate * settings.block_ms / 1000.0))
            return StreamFormat(device, rate, channels, blocksize)
    raise IOChannelError(
        f"{settings.direction}_device: {device.name!r} accepts none of the formats tried "
        f"(16-bit PCM): {'; '.join(problems)}"
    )


def _unique(values: list[int]) -> list[int]:
    seen: list[int] = []
    for value in values:
        if value > 0 and value not in seen:
            seen.append(value)
    return seen


def open_stream(settings: DirectionSettings, fmt: StreamFormat, callback: Any) -> Any:
    """Open and start a ``RawInputStream`` / ``RawOutputStream`` (blocking: run in a thread)."""
    sd = load_sounddevice()
    cls = sd.RawInputStream if settings.direction == "input" else sd.RawOutputStream
    try:
        stream = cls(
            device=fmt.device.index,
            samplerate=fmt.sample_rate,
            channels=fmt.channels,
            dtype="int16",
            blocksize=fmt.blocksize,
            latency=settings.latency,
            callback=callback,
        )
        stream.start()
    except (sd.PortAudioError, ValueError) as exc:
        raise IOChannelError(
            f"{settings.direction}_device: cannot open {fmt.device.name!r} at "
            f"{fmt.sample_rate} Hz x {fmt.channels}: {exc}"
        ) from exc
    return stream


def close_stream(stream: Any) -> None:
    """Stop and close a stream, discarding what it still holds (blocking: run in a thread)."""
    sd = load_sounddevice()
    try:
        stream.abort()
    except sd.PortAudioError:
        pass
    finally:
        stream.close()
