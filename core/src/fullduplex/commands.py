"""Plugin commands: how the ``fullduplex`` command line lets plugins add subcommands.

Kept apart from :mod:`fullduplex.cli` so :func:`fullduplex.list_plugins` can
learn which commands each plugin adds without building the whole command line,
and so the registry below never imports click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .catalog import registry
from .plugins import Plugins, one_line, plugins, warn_plugin
from .records import CommandRecord

if TYPE_CHECKING:
    import click


def install_commands(group: click.Group, loaded: Plugins | None = None) -> list[CommandRecord]:
    """Let each plugin add subcommands to ``group``; a raising hook is skipped.

    A plugin may not replace a command that is already there (a built-in or
    another plugin's): the original stays and a warning names both. The
    plugins' commands are recorded in the registry and returned.
    """
    loaded = loaded if loaded is not None else plugins()
    owners: dict[str, str] = dict.fromkeys(group.commands, "fullduplex")
    records: list[CommandRecord] = []
    for impl in loaded.implementations("register_commands"):
        info = loaded.info(impl.plugin)
        dist = info.distribution if info else None
        before = dict(group.commands)
        try:
            impl.function(cli=group)
        except Exception as exc:
            group.commands.clear()
            group.commands.update(before)
            where = f" from distribution {dist!r}" if dist else ""
            warn_plugin(
                f"fullduplex plugin {impl.plugin!r}{where}: its register_commands hook "
                f"raised {one_line(exc)}; its commands were skipped"
            )
            continue
        for name, command in list(group.commands.items()):
            if before.get(name) is command:
                continue
            if name in before:
                group.commands[name] = before[name]
                warn_plugin(
                    f"fullduplex plugin {impl.plugin!r}: command {name!r} is already "
                    f"provided by {owners[name]!r}; kept that one"
                )
                continue
            owners[name] = impl.plugin
            records.append(CommandRecord(name, command, impl.plugin, dist))
    registry().set_commands(records)
    return records


def extend_command(name: str, command: click.Command, loaded: Plugins | None = None) -> None:
    """Let plugins add options to ``command`` (once); a raising hook is skipped with a warning."""
    if getattr(command, "_fullduplex_extended", False):
        return
    command._fullduplex_extended = True  # type: ignore[attr-defined]
    loaded = loaded if loaded is not None else plugins()
    for impl in loaded.implementations("extend_command"):
        params = list(command.params)
        callback = command.callback
        try:
            impl.function(name=name, command=command)
        except Exception as exc:
            command.params[:] = params
            command.callback = callback
            warn_plugin(
                f"fullduplex plugin {impl.plugin!r}: its extend_command hook raised "
                f"{one_line(exc)} for command {name!r}; its options were skipped"
            )


def collect_commands() -> None:
    """Record the plugins' commands once, on a throwaway group (for listings)."""
    if registry().commands_collected:
        return
    import click

    install_commands(click.Group("fullduplex"))


__all__ = ["collect_commands", "extend_command", "install_commands"]
