"""``fullduplex emulator --provider gemini``: run the Gemini Live emulator from a shell.

It prints the base URL and the key to use (the emulator's own, never a real
Google key) and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from .server import DEFAULT_API_KEY, GeminiEmulator


async def _serve(emulator: GeminiEmulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        click.echo(f"Gemini Live emulator listening on {emulator.base_url}")
        click.echo(f"  API key: {emulator.api_key}")
        click.echo(
            "  Try: fullduplex chat -m gemini/gemini-2.5-flash-native-audio-preview-09-2025 "
            f"--base-url {emulator.base_url}  (with GEMINI_API_KEY={emulator.api_key})"
        )
        click.echo("Press Ctrl-C to stop.", err=True)
        await stop.wait()
    click.echo("Emulator stopped.", err=True)


@click.command("emulator-gemini")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8090,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind (0 picks a free one).",
)
@click.option(
    "--api-key",
    default=DEFAULT_API_KEY,
    show_default=True,
    help="The key clients must send (the emulator's own, not a Google key).",
)
@click.option(
    "--realtime/--fast",
    default=True,
    show_default=True,
    help="Stream answer audio at real-time pace, or as fast as possible.",
)
@click.option(
    "--connection-cap",
    "connection_cap_s",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Connection lifetime in seconds (goAway comes --go-away-lead before it).",
)
@click.option(
    "--go-away-lead",
    "go_away_lead_s",
    default=50.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between the goAway notice and the close.",
)
def emulator_command(
    host: str,
    port: int,
    api_key: str,
    realtime: bool,
    connection_cap_s: float,
    go_away_lead_s: float,
) -> None:
    """Run a local Gemini Live emulator for offline development."""
    try:
        emulator = GeminiEmulator(
            api_key=api_key,
            host=host,
            port=port,
            realtime=realtime,
            connection_cap_s=connection_cap_s,
            go_away_lead_s=min(go_away_lead_s, connection_cap_s),
        )
        asyncio.run(_serve(emulator))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
