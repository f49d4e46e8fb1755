"""``fullduplex emulator``: run the emulator from a shell.

The openai plugin registers ``emulator_command`` through ``register_commands``.
It prints the URL and the key to use (the emulator's own key, never a real
OpenAI key) and stops cleanly on Ctrl-C. ``-v`` / ``--log-level info`` log every
refused event or request with its field and reason (the client alone sees the
``error`` otherwise); ``--record FILE`` keeps both directions as JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Final

import click

from .server import DEFAULT_API_KEY, Emulator

_LEVELS: Final = ("debug", "info", "warning", "error")


def _configure_logging(log_level: str | None, verbose: int) -> None:
    """Send the emulator's logs to stderr: the more verbose of ``--log-level`` and ``-v``.

    Only the emulator's own loggers are set up, so aiohttp's stay quiet at ``-vv``.
    """
    level = logging.WARNING
    if log_level is not None:
        level = logging.getLevelNamesMapping()[log_level.upper()]
    if verbose:
        level = min(level, logging.INFO if verbose == 1 else logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("fullduplex_openai.emulator", "fullduplex_emulator"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)


async def _serve(emulator: Emulator, ready_message: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        if ready_message:
            if emulator.record_file is not None:
                click.echo(f"  Recording: {emulator.record_file} (JSON lines)", err=True)
            click.echo(f"OpenAI Realtime emulator listening on {emulator.base_url}")
            click.echo(f"  WebSocket: {emulator.websocket_url}?model=gpt-realtime")
            click.echo(f"  API key:   {emulator.api_key}")
            # fullduplex takes the URL as --base-url (it reads no OPENAI_BASE_URL);
            # the openai package and most other clients read the two variables
            click.echo(
                f"  Try:       OPENAI_API_KEY={emulator.api_key} "
                f"fullduplex chat --base-url {emulator.base_url}"
            )
            click.echo(
                f"  Other clients: OPENAI_BASE_URL={emulator.base_url} "
                f"OPENAI_API_KEY={emulator.api_key}"
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
@click.option(
    "--log-level",
    type=click.Choice(_LEVELS, case_sensitive=False),
    default=None,
    help="Log level on stderr [default: warning; info shows every refused event and request].",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="-v logs every refusal with its event and field (info); -vv every event (debug).",
)
@click.option(
    "--record",
    "record_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Append both directions of every connection to FILE, as JSON lines.",
)
def emulator_command(
    host: str,
    port: int,
    api_key: str,
    realtime: bool,
    session_cap_s: float,
    log_level: str | None,
    verbose: int,
    record_file: str | None,
) -> None:
    """Run a local OpenAI Realtime (GA) emulator for offline development."""
    _configure_logging(log_level, verbose)
    emulator = Emulator(
        api_key=api_key,
        host=host,
        port=port,
        realtime=realtime,
        session_cap_s=session_cap_s,
        record_file=record_file,
    )
    try:
        asyncio.run(_serve(emulator, ready_message=True))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
