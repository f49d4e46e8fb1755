"""``fullduplex emulator``: run the emulator from a shell.

The openai plugin registers ``emulator_command`` through ``register_commands``.
It prints the URL and the key to use (the emulator's own key, never a real
OpenAI key) and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from .server import DEFAULT_API_KEY, Emulator


async def _serve(emulator: Emulator, ready_message: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        if ready_message:
            click.echo(f"OpenAI Realtime emulator listening on {emulator.base_url}")
            click.echo(f"  WebSocket: {emulator.websocket_url}?model=gpt-realtime")
            click.echo(f"  API key:   {emulator.api_key}")
            click.echo(
                f"  Try: OPENAI_BASE_URL={emulator.base_url} OPENAI_API_KEY={emulator.api_key}"
            )
            click.echo("Press Ctrl-C to stop.", err=True)
        await stop.wait()
    click.echo("Emulator stopped.", err=True)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8089,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind (0 picks a free one).",
)
@click.option(
    "--api-key",
    default=DEFAULT_API_KEY,
    show_default=True,
    help="The key clients must send (the emulator's own, not an OpenAI key).",
)
@click.option(
    "--realtime/--fast",
    default=True,
    show_default=True,
    help="Stream answer audio at real-time pace, or as fast as possible.",
)
@click.option(
    "--session-cap",
    "session_cap_s",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Session length limit in seconds.",
)
def emulator_command(
    host: str, port: int, api_key: str, realtime: bool, session_cap_s: float
) -> None:
    """Run a local OpenAI Realtime (GA) emulator for offline development."""
    emulator = Emulator(
        api_key=api_key, host=host, port=port, realtime=realtime, session_cap_s=session_cap_s
    )
    try:
        asyncio.run(_serve(emulator, ready_message=True))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
