"""The ``openai`` entry point: registers the provider and the emulator command.

Registered exactly like a third-party plugin would be. The model class and the
emulator are imported inside the hooks, so a broken emulator can never take
the provider down with it, and loading plugins stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.hookspecs import RegisterModel, hookimpl

if TYPE_CHECKING:
    import click

#: Model names offered as ``openai/<name>``; any other id works with the class directly.
MODEL_IDS: tuple[str, ...] = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
)


@hookimpl
def register_models(register: RegisterModel) -> None:
    """Provider ``openai``: ``BidiOpenAIRealtimeModel`` for the GA Realtime models."""
    from .model import BidiOpenAIRealtimeModel

    register("openai", BidiOpenAIRealtimeModel, models=MODEL_IDS)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``fullduplex emulator``: the local Realtime emulator, when it imports."""
    from .emulator.cli import emulator_command

    cli.add_command(emulator_command)
