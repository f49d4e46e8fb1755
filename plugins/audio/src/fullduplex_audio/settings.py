"""The validated settings of a microphone/speaker pair, shared by both directions.

Checked once, when :class:`~fullduplex_audio.BidiAudioIO` is built, so a typo
fails at construction with the field name and the accepted values rather than
deep inside a device callback.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from fullduplex.errors import ConfigurationError

from .devices import DeviceSpec, Direction

Latency: TypeAlias = float | Literal["low", "high"]


def _check_device(field: str, value: object) -> DeviceSpec:
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    raise ConfigurationError(
        f"{field}: expected a device index (int), a device name (str) or None for the "
        f"system default, got {type(value).__name__}"
    )


def _check_optional_int(field: str, value: object, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{field}: expected None or an integer from {low} to {high}, got {value!r}"
        )
    return value


def _check_ms(field: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigurationError(
            f"{field}: expected milliseconds from {low:g} to {high:g}, got {value!r}"
        )
    return float(value)


def _check_latency(field: str, value: object) -> Latency:
    if value in ("low", "high"):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 2:
        return float(value)
    raise ConfigurationError(
        f"{field}: expected 'low', 'high' or seconds (0 < latency <= 2), got {value!r}"
    )


@attrs.frozen
class DirectionSettings:
    """What one stream (the microphone or the speaker) should open."""

    direction: Direction
    device: DeviceSpec
    #: force the device's sample rate / channel count (None: the model's if the
    #: device takes it, else the device's own)
    sample_rate: int | None
    channels: int | None
    block_ms: float
    latency: Latency


def build_settings(
    *,
    input_device: object,
    output_device: object,
    frame_ms: object,
    output_block_ms: object,
    input_sample_rate: object,
    output_sample_rate: object,
    input_channels: object,
    output_channels: object,
    input_latency: object,
    output_latency: object,
) -> tuple[DirectionSettings, DirectionSettings]:
    """Validate the constructor's arguments into the input and output settings."""
    mic = DirectionSettings(
        direction="input",
        device=_check_device("input_device", input_device),
        sample_rate=_check_optional_int("input_sample_rate", input_sample_rate, 1000, 384000),
        channels=_check_optional_int("input_channels", input_channels, 1, 32),
        block_ms=_check_ms("frame_ms", frame_ms, 2, 1000),
        latency=_check_latency("input_latency", input_latency),
    )
    speaker = DirectionSettings(
        direction="output",
        device=_check_device("output_device", output_device),
        sample_rate=_check_optional_int("output_sample_rate", output_sample_rate, 1000, 384000),
        channels=_check_optional_int("output_channels", output_channels, 1, 32),
        block_ms=_check_ms("output_block_ms", output_block_ms, 2, 1000),
        latency=_check_latency("output_latency", output_latency),
    )
    return mic, speaker
