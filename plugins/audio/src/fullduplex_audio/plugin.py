"""The ``audio`` entry point: registers the sound-device and WAV channels and ``devices``.

Only light imports here; numpy and sounddevice load when a channel starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import RegisterIO, hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_io(register: RegisterIO) -> None:
    """``audio`` (microphone and speaker) and ``wav`` (files), by reference: their
    modules are imported on first use, not when the plugins load."""
    register("audio", f"{__package__}.audio_io:BidiAudioIO")
    register("wav", f"{__package__}.wav:BidiWavIO")


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``fullduplex devices``."""
    from .cli import devices_command

    cli.add_command(devices_command)
