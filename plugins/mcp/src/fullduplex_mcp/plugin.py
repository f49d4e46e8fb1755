"""Registers fullduplex-mcp: the ``--mcp`` / ``--mcp-url`` options of ``chat`` and ``tools``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .cli import extend_chat, extend_tools

    for name, extend in (("chat", extend_chat), ("tools", extend_tools)):
        command = cli.commands.get(name)
        if command is not None:
            extend(command)
