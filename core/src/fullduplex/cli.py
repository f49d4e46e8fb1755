"""The ``fullduplex`` command line.

Built-in commands live in this module or in modules listed in
:data:`BUILTIN_COMMANDS`; plugins add theirs through the ``register_commands``
hook (:mod:`fullduplex.commands`). A plugin whose hook raises is reported on
stderr and skipped; the rest of the command line still works.

Start-up is kept cheap: the group is lazy. ``--version`` and the built-in
listing commands load no plugin commands and import neither the built-in
commands' modules nor anything heavy; the plugins' commands and
:data:`BUILTIN_COMMANDS` are added only when a name is not found among the
built-ins, or when the list of commands is needed (``--help``).

Exit codes: 0 success, 2 bad usage (click's own), 1 any other failure, shown
as one line (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import click

from . import __version__
from .lazy_command import LazyCommand

if TYPE_CHECKING:
    from .records import Kind, Registration, ToolRecord

# The plugin system is imported inside the functions that need it: ``--version``
# and ``--help`` of a built-in must not pay for loading plugins.

#: name -> ``"module:attribute"`` of built-in commands that live in their own
#: modules (``fullduplex chat``, say). The group holds a placeholder under each
#: name (so no plugin can claim it) and imports the module when the command is
#: run or the help lists it; one that fails to import is reported and skipped
#: like a broken plugin.
BUILTIN_COMMANDS: dict[str, str] = {
    "chat": "fullduplex.chat:chat",
    "emulator": "fullduplex.emulator_cli:emulator",
}


@dataclass
class _Options:
    debug: bool = False


class _LazyGroup(click.Group):
    """The ``fullduplex`` group: plugin and extra built-in commands are added on first need."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._complete = False

    def complete(self) -> None:
        """Add :data:`BUILTIN_COMMANDS` and the plugins' commands (once)."""
        if self._complete:
            return
        self._complete = True
        from .commands import install_commands

        _add_builtin_commands(self)
        install_commands(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self.complete()
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, LazyCommand):
            command = command.load()
            if command is None:
                del self.commands[cmd_name]
            else:
                self.commands[cmd_name] = command
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command about to run, with the options plugins add to it (``extend_command``)."""
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and command is not None:
            from .commands import extend_command

            extend_command(name, command)
        return name, command, rest

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.complete()
        return super().list_commands(ctx)


def _new_group() -> _LazyGroup:
    """A fresh ``fullduplex`` group (each build gets its own, so plugin commands never pile up)."""

    @click.group(
        cls=_LazyGroup,
        name="fullduplex",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.version_option(__version__, prog_name="fullduplex")
    @click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
    @click.pass_context
    def group(ctx: click.Context, debug: bool) -> None:
        """Realtime speech-to-speech agents: list what the installed plugins provide."""
        options = ctx.find_object(_Options)
        if options is not None:
            options.debug = debug

    assert isinstance(group, _LazyGroup)
    for command in (plugins_command, models_command, tools_command, io_command):
        group.add_command(command)
    return group


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """The loaded plugins: version, distribution, hooks, and what each registered."""
    # Install the plugins' commands on the real group, so a plugin that claims a
    # built-in's name is reported exactly as when its command is run.
    root = click.get_current_context().find_root().command
    if isinstance(root, _LazyGroup):
        root.complete()
    import attrs

    from .lookup import list_plugins
    from .plugins import plugins

    records = list_plugins()
    skipped = plugins().skipped  # after list_plugins: a raising register hook skips its plugin
    if as_json:
        _echo_json(
            {
                "plugins": [record.to_dict() for record in records],
                "skipped": [attrs.asdict(s) for s in skipped],
            }
        )
        return
    for record in records:
        where = f"{record.distribution} {record.version}" if record.distribution else "(local)"
        click.echo(f"{record.name}  [{where}]")
        click.echo(f"  hooks: {', '.join(record.hooks) or '-'}")
        for kind, names in record.registered.items():
            if names:
                click.echo(f"  {kind}: {', '.join(names)}")
    for skip in skipped:
        click.echo(f"{skip.name}  (skipped: {skip.reason})")


def _registration_dict(reg: Registration) -> dict[str, object]:
    from .records import ModelRecord, ToolRecord

    data: dict[str, object] = {
        "name": reg.name,
        "object": reg.export_name,
        "plugin": reg.plugin,
        "distribution": reg.distribution,
    }
    if isinstance(reg, ModelRecord):
        data["models"] = list(reg.models)
    if isinstance(reg, ToolRecord):
        data["description"] = _tool_description(reg)
    return data


def _tool_description(reg: ToolRecord) -> str | None:
    """The tool's description: imports a tool registered by reference (not its schema,
    so no pydantic); one that fails to load is reported and listed without one."""
    from .errors import PluginError
    from .plugins import warn_plugin

    try:
        return reg.tool.description
    except PluginError as exc:
        warn_plugin(str(exc))
        return None


def _show(kind: Kind, name: str | None, as_json: bool) -> None:
    from .catalog import registry

    reg_ = registry()
    entries = [reg_.lookup(kind, name)] if name is not None else reg_.entries(kind)
    if as_json:
        _echo_json([_registration_dict(reg) for reg in entries])
        return
    for reg in entries:
        data = _registration_dict(reg)
        extra = ""
        models = data.get("models")
        if isinstance(models, list):
            extra = f"  models: {', '.join(models) or '(any model id)'}"
        elif kind == "tools" and data.get("description"):
            extra = f"  {data['description']}"
        click.echo(f"{reg.name}  ({data['object']}, plugin {reg.plugin}){extra}")


_name_argument = click.argument("name", required=False)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.command("models")
@_name_argument
@_json_option
def models_command(name: str | None, as_json: bool) -> None:
    """Model providers and their known model ids (or one provider, by NAME)."""
    _show("models", name, as_json)


@click.command("tools")
@_name_argument
@_json_option
def tools_command(name: str | None, as_json: bool) -> None:
    """Tools registered by plugins (or one tool, by NAME)."""
    _show("tools", name, as_json)


@click.command("io")
@_name_argument
@_json_option
def io_command(name: str | None, as_json: bool) -> None:
    """IO channels registered by plugins (or one channel, by NAME)."""
    _show("io", name, as_json)


def _add_builtin_commands(group: click.Group) -> None:
    for name, target in BUILTIN_COMMANDS.items():
        group.add_command(LazyCommand(name, target))


def build_cli() -> click.Group:
    """The ``fullduplex`` group with built-in and plugin commands added."""
    group = _new_group()
    group.complete()
    return group


@contextmanager
def _plain_warnings(stream: TextIO) -> Iterator[None]:
    """Show plugin warnings as one ``warning:`` line rather than Python's format."""
    original = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        from .plugins import PluginLoadWarning

        if issubclass(category, PluginLoadWarning):
            print(f"fullduplex: warning: {message}", file=stream)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; exits with 0, 1 (failure) or 2 (usage)."""
    options = _Options()
    with _plain_warnings(sys.stderr):
        try:
            group = _new_group()  # lazy: see the module docstring
            # Without standalone mode click returns ctx.exit(code)'s code instead of raising.
            returned = group.main(
                args=list(argv) if argv is not None else None,
                prog_name="fullduplex",
                standalone_mode=False,
                obj=options,
            )
            if isinstance(returned, int) and not isinstance(returned, bool) and returned:
                sys.exit(returned)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except Exception as exc:
            if options.debug:
                traceback.print_exc()
            else:
                click.echo(
                    f"Error: {_one_line(exc)} (run 'fullduplex --debug ...' for the traceback)",
                    err=True,
                )
            sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
