"""``LazyCommand``: a command of the ``fullduplex`` command line whose module loads when it runs.

Listing the commands (``fullduplex --help``, ``fullduplex plugins``) builds the
whole group; a command that brings a web server or a speech stack with it
would make every listing slow. A ``LazyCommand`` stands in its place with a
one-line help and the ``"module:attribute"`` of the real ``click.Command``;
the group swaps the real one in when the command is about to run (or show
its own ``--help``). Built-in commands use it, and so may plugins::

    @hookimpl
    def register_commands(cli):
        cli.add_command(LazyCommand("serve", "my_plugin.cli:serve_command", "Serve it."))

This module imports only click, so the command line's start stays fast.
"""

from __future__ import annotations

import importlib
import warnings

import click


class LazyCommand(click.Command):
    """Holds a command's name and help until its module is needed."""

    def __init__(self, name: str, target: str, help: str | None = None) -> None:
        super().__init__(name, help=help or f"(loaded from {target} when used)")
        self.target = target

    def load(self) -> click.Command | None:
        """The real command, or None (with a warning) when its module fails to import."""
        from .plugins import PluginLoadWarning

        module_name, _, attribute = self.target.partition(":")
        try:
            command = getattr(importlib.import_module(module_name), attribute)
        except Exception as exc:
            warnings.warn(
                f"command {self.name!r} ({self.target}) could not be loaded: "
                f"{type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=2,
            )
            return None
        if not isinstance(command, click.Command):
            warnings.warn(
                f"command {self.name!r}: {self.target} is not a click command",
                PluginLoadWarning,
                stacklevel=2,
            )
            return None
        return command


__all__ = ["LazyCommand"]
