"""The ``serve`` entry point: ``fullduplex serve`` (uvicorn loads when it runs), the
session stores (``memory``, ``redis``), and the hook that records served calls' history."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from fullduplex.hookspecs import hookimpl
from fullduplex.lazy_command import LazyCommand

if TYPE_CHECKING:
    import click

    from fullduplex.agent import BidiAgent
    from fullduplex.events import BidiInterruptionEvent
    from fullduplex.hookspecs import RegisterSessionStore
    from fullduplex.messages import Message


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


@hookimpl
def register_session_stores(register: RegisterSessionStore) -> None:
    """``memory://`` (one process, the default) and ``redis://`` (shared by processes)."""
    register("memory", f"{__package__}.store:MemorySessionStore")
    register("redis", f"{__package__}.redis_store:RedisSessionStore")
    register("rediss", f"{__package__}.redis_store:RedisSessionStore")


@hookimpl
def on_message_added(agent: BidiAgent, message: Message) -> None:
    """Queue the message for the session store when ``agent`` serves a call here.

    Costs a dictionary look-up for agents that serve no call (and nothing is
    imported: the recorder module is loaded only by a running server).
    """
    recording = sys.modules.get(f"{__package__}.recording")
    if recording is not None:
        recording.message_added(agent, message)


@hookimpl
def on_interruption(agent: BidiAgent, event: BidiInterruptionEvent) -> None:
    """The cut marked (or shortened) a message already recorded: write the change."""
    recording = sys.modules.get(f"{__package__}.recording")
    if recording is not None:
        recording.interrupted(agent)
