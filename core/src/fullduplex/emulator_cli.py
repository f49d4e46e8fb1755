"""``fullduplex emulator [--provider NAME] [OPTIONS]``: run a provider's local emulator.

One command for every provider. A provider declares its emulator's command
line in its model registration (``register(..., emulator_command=
"pkg.emulator.cli:emulator_command")``); this command picks the provider and
hands every other argument to that command, so each emulator keeps its own
options and ``--help``. Nothing of an emulator is imported until it runs.

The provider is ``--provider NAME`` (or ``--provider=NAME``); without it, the
provider of ``$FULLDUPLEX_MODEL`` when that one has an emulator, else the only
provider with one, else ``openai`` (the first provider, as ``fullduplex chat``
also defaults to it), else the first registered.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .records import ModelRecord

#: the environment variable naming the default model (``fullduplex chat`` reads it too)
_MODEL_ENV = "FULLDUPLEX_MODEL"


def _providers() -> list[ModelRecord]:
    """The registered providers that declare an emulator, by name."""
    from .catalog import registry

    return [r for r in registry().entries("models") if r.emulator_command is not None]


def _split_provider(args: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """``--provider NAME`` / ``--provider=NAME`` taken out of ``args``; the rest kept in order."""
    provider: str | None = None
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest.append(arg)
            rest.extend(items)
            break
        if arg == "--provider":
            value = next(items, None)
            if value is None:
                raise click.UsageError("--provider: expected a provider name after it")
            provider = value
        elif arg.startswith("--provider="):
            provider = arg.partition("=")[2]
        else:
            rest.append(arg)
    return provider, rest


def choose_provider(name: str | None, providers: list[ModelRecord]) -> ModelRecord:
    """The provider whose emulator runs (see the module docstring for the default)."""
    names = ", ".join(record.name for record in providers) or "none installed"
    if name is not None:
        for record in providers:
            if record.name == name:
                return record
        raise click.UsageError(
            f"--provider: no emulator for provider {name!r}; providers with one: {names}"
        )
    if not providers:
        raise click.ClickException(
            "no installed provider offers an emulator; install a provider with its "
            "[emulator] extra (pip install 'fullduplex-<provider>[emulator]')"
        )
    configured = os.environ.get(_MODEL_ENV, "").strip().partition("/")[0]
    for preferred in (configured, "openai"):
        for record in providers:
            if record.name == preferred:
                return record
    return providers[0]


def _load(record: ModelRecord) -> click.Command:
    """The provider's emulator command; a missing extra says how to install it."""
    target = record.emulator_command or ""
    module_name, _, attribute = target.partition(":")
    install = f"pip install '{record.distribution or 'fullduplex-' + record.name}[emulator]'"
    try:
        command = getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise click.ClickException(
            f"the emulator of provider {record.name!r} is not installed "
            f"({exc.name or exc} is missing); install it with: {install}"
        ) from exc
    if not isinstance(command, click.Command):
        raise click.ClickException(
            f"provider {record.name!r}: emulator_command {target!r} is not a click command"
        )
    return command


@click.command(
    "emulator",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def emulator(args: tuple[str, ...]) -> None:
    """Run a provider's local emulator (--provider NAME; its own options follow)."""
    name, rest = _split_provider(args)
    providers = _providers()
    record = choose_provider(name, providers)
    command = _load(record)
    prog = "fullduplex emulator" if name is None else f"fullduplex emulator --provider {name}"
    command.main(rest, prog_name=prog, standalone_mode=False)
    if "--help" in rest and len(providers) > 1:
        others = ", ".join(r.name for r in providers)
        click.echo(f"\nOther emulators: fullduplex emulator --provider NAME ({others}).")


__all__ = ["choose_provider", "emulator"]
