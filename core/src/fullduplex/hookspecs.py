"""The hooks a fullduplex plugin can implement.

Registration hooks run once, synchronously, when the plugin manager loads; each
receives a ``register`` callback (or the click group) and calls it for every
thing the plugin provides. Lifecycle hooks are called by a running
:class:`~fullduplex.agent.BidiAgent`; an implementation may be a plain or an
``async`` function (the agent awaits what it returns). They are never called
per audio chunk.

Order in one conversation (each hook of one kind runs for every plugin, global
plugins first, then the agent's own ``plugins=[...]``)::

    on_agent_start
      on_message_added            (each message recorded in history)
      before_tool_call            (may veto or replace the call)
      after_tool_call             (may replace the result)
      on_interruption             (the user barged in)
      on_connection_restart       (a new model connection replaced the old)
    on_agent_stop

Implement with ``@fullduplex.hookimpl`` on module-level functions (entry-point
plugins) or on methods of an object passed in ``BidiAgent(plugins=[...])``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import pluggy

if TYPE_CHECKING:
    import click

    from .agent import BidiAgent
    from .agent_tool import AgentTool
    from .events import BidiConnectionRestartEvent, BidiInterruptionEvent, ToolResultEvent
    from .lazyref import LazyRef
    from .messages import Message
    from .model import BidiModel
    from .records import ModelOptions
    from .tool_types import ToolCall

PROJECT = "fullduplex"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


#: Starts a provider's offline server (an emulator, a local model) when entered;
#: the context manager yields the factory keyword arguments that connect to it,
#: and stops the server on exit. Entered from synchronous code, before the
#: conversation's event loop runs, so a server with its own loop uses a thread.
LocalServer: TypeAlias = Callable[[], AbstractContextManager[Mapping[str, Any]]]

#: ``True`` when the provider can reach its real service without more settings
#: (a key in the environment, say). Must be cheap and must never reveal the key.
CredentialsCheck: TypeAlias = Callable[[], bool]

#: Maps the provider-neutral options of ``fullduplex chat`` (a
#: :class:`~fullduplex.records.ModelOptions`) to factory keyword arguments.
OptionsMapper: TypeAlias = Callable[["ModelOptions"], Mapping[str, Any]]


class RegisterModel(Protocol):
    """``register(provider, factory, models=(...), ...)`` inside ``register_models``.

    ``factory`` may be a reference, ``"package.module:ClassName"`` or a
    :class:`~fullduplex.lazyref.LazyRef`: it is then imported on first use
    (``get_model``, ``from fullduplex.models import ClassName``), so loading
    the plugin -- and ``fullduplex plugins`` -- imports none of the provider.

    The optional extras let tools such as ``fullduplex chat`` drive a provider
    without naming it: ``local_server`` offers an offline server,
    ``has_credentials`` says whether the real service is reachable as
    configured, ``options`` maps the generic options (voice, base URL) to the
    factory's own keyword arguments, ``emulator_command`` names the provider's
    emulator command line (``"package.module:command"``, a click command,
    imported only when ``fullduplex emulator --provider NAME`` runs).
    """

    def __call__(
        self,
        provider: str,
        factory: Callable[..., BidiModel] | str | LazyRef,
        *,
        models: tuple[str, ...] = (),
        local_server: LocalServer | None = None,
        has_credentials: CredentialsCheck | None = None,
        options: OptionsMapper | None = None,
        emulator_command: str | None = None,
    ) -> None: ...


class RegisterIO(Protocol):
    """``register(name, factory)`` inside ``register_io``; ``factory`` may be a
    ``"package.module:ClassName"`` reference, imported on first use."""

    def __call__(self, name: str, factory: Callable[..., Any] | str | LazyRef) -> None: ...


class RegisterTool(Protocol):
    """``register(tool)`` inside ``register_tools``; the tool's own name is used.

    ``tool`` may be a ``"package.module:function"`` reference (or a
    :class:`~fullduplex.lazyref.LazyRef`), imported on first use; it is then
    registered under the function's name, or ``name`` when given, which must
    be the name of the tool it loads.
    """

    def __call__(self, tool: AgentTool | str | LazyRef, *, name: str | None = None) -> None: ...


class RegisterSessionStore(Protocol):
    """``register(scheme, factory)`` inside ``register_session_stores``.

    ``scheme`` is the URL scheme the store serves (``"redis"`` for
    ``redis://...``); ``factory(url, idle_ttl_s=...)`` builds it. ``factory``
    may be a ``"package.module:ClassName"`` reference, imported on first use.
    """

    def __call__(self, scheme: str, factory: Callable[..., Any] | str | LazyRef) -> None: ...


#: None, a value, or an awaitable of one: the agent awaits awaitables.
MaybeAwaitable = Any


# ------------------------------------------------------------------ registration


@hookspec
def register_models(register: RegisterModel) -> None:
    """Register model providers.

    ``register("openai", BidiOpenAIRealtimeModel, models=("gpt-realtime",))``
    (or ``register("openai", "fullduplex_openai.model:BidiOpenAIRealtimeModel",
    ...)``, imported on first use) makes ``get_model("openai/gpt-realtime", **kw)`` call
    ``BidiOpenAIRealtimeModel(model_id="gpt-realtime", **kw)`` and exposes the
    factory as ``fullduplex.models.BidiOpenAIRealtimeModel``.
    """


@hookspec
def register_io(register: RegisterIO) -> None:
    """Register IO channel factories by name (``register("audio", BidiAudioIO)``).

    The factory is also importable as ``fullduplex.io.<FactoryName>``.
    """


@hookspec
def register_tools(register: RegisterTool) -> None:
    """Register ready-made tools (objects made with ``@tool``, or references to them)."""


@hookspec
def register_session_stores(register: RegisterSessionStore) -> None:
    """Register stores that keep calls alive beyond one process, by URL scheme.

    ``register("redis", "fullduplex_serve.redis_store:RedisSessionStore")`` makes
    ``fullduplex serve --session-store redis://host:6379/0`` use that store.
    A store keeps, per call, the history (appended per message), the resume
    token, the provider's resumption handle and the held input, and forgets
    them after an idle time; its interface is ``fullduplex_serve.store.SessionStore``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``fullduplex`` command line (a click group)."""


@hookspec
def extend_command(name: str, command: click.Command) -> None:
    """Add options to a command of the ``fullduplex`` command line, just before it runs.

    Called once per command, only for the command being run (so listing or
    ``--version`` imports nothing), with built-in and plugin commands alike.
    A plugin appends ``click.Option`` objects to ``command.params`` and may wrap
    ``command.callback``; it must leave the command working when its options
    are not given.
    """


# --------------------------------------------------------------------- lifecycle


@hookspec
def on_agent_start(agent: BidiAgent) -> MaybeAwaitable:
    """The agent connected its model and is about to run."""


@hookspec
def on_agent_stop(agent: BidiAgent) -> MaybeAwaitable:
    """The agent stopped; its history is final."""


@hookspec
def on_message_added(agent: BidiAgent, message: Message) -> MaybeAwaitable:
    """A message was appended to the agent's history."""


@hookspec
def before_tool_call(agent: BidiAgent, call: ToolCall) -> MaybeAwaitable:
    """A tool is about to run.

    Return ``None`` to let it run, a :class:`~fullduplex.tools.ToolCall` to run
    that instead (other arguments, another tool), or a
    :class:`~fullduplex.tools.ToolVeto` to refuse it: the model then gets an
    error result carrying the veto's reason.
    """


@hookspec
def after_tool_call(agent: BidiAgent, call: ToolCall, result: ToolResultEvent) -> MaybeAwaitable:
    """A tool finished. Return a :class:`ToolResultEvent` to replace its result."""


@hookspec
def on_interruption(agent: BidiAgent, event: BidiInterruptionEvent) -> MaybeAwaitable:
    """The user interrupted the assistant; outputs have already been told."""


@hookspec
def on_connection_restart(agent: BidiAgent, event: BidiConnectionRestartEvent) -> MaybeAwaitable:
    """The agent replaced the model connection and replayed the history."""


__all__ = [
    "PROJECT",
    "CredentialsCheck",
    "LocalServer",
    "OptionsMapper",
    "RegisterIO",
    "RegisterModel",
    "RegisterSessionStore",
    "RegisterTool",
    "hookimpl",
    "hookspec",
]
