"""The ``serve`` entry point: adds ``fullduplex serve`` (uvicorn loads when it runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import hookimpl
from fullduplex.lazy_command import LazyCommand

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``fullduplex serve``; Starlette and uvicorn load only when it runs."""
    cli.add_command(
        LazyCommand(
            "serve",
            f"{__package__}.cli:serve_command",
            help="Serve the agent on a web page and on the phone (browser and Twilio channels).",
        )
    )
