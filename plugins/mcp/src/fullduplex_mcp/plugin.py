"""Registers fullduplex-mcp: the ``--mcp`` / ``--mcp-url`` options of ``chat`` and ``tools``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def extend_command(name: str, command: click.Command) -> None:
    """Add the MCP options to ``chat`` and ``tools`` when one of them is about to run."""
    if name not in ("chat", "tools"):
        return
    from .cli import extend_chat, extend_tools

    (extend_chat if name == "chat" else extend_tools)(command)
