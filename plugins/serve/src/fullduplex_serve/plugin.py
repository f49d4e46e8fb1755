"""The ``serve`` entry point: adds ``fullduplex serve`` (uvicorn loads when it runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``fullduplex serve``."""
    from .cli import serve_command

    cli.add_command(serve_command)
