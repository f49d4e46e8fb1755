"""``fullduplex devices``: list the sound devices PortAudio sees."""

from __future__ import annotations

import json

import click

from fullduplex.errors import IOChannelError

from .devices import format_devices, list_devices


@click.command("devices")
@click.option("--json", "as_json", is_flag=True, help="Print the devices as JSON.")
def devices_command(as_json: bool) -> None:
    """List sound devices: index, name, channels, default rate (> default input, < output)."""
    try:
        devices = list_devices()
    except IOChannelError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        rows = [
            {
                "index": d.index,
                "name": d.name,
                "hostapi": d.hostapi,
                "max_input_channels": d.max_input_channels,
                "max_output_channels": d.max_output_channels,
                "default_samplerate": d.default_samplerate,
                "default_input": d.is_default_input,
                "default_output": d.is_default_output,
            }
            for d in devices
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(format_devices(devices))
