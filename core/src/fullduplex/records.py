"""The typed records of the registry: one record type per kind of thing a plugin provides.

This module is the bottom of the registry layer: plain data, no plugin
loading, no lookups. :mod:`fullduplex.hookspecs` refers to
:class:`ModelOptions` from here (type-only), :mod:`fullduplex.catalog` stores
the records, and everything above reads them.

Kinds and their records:

``models``   :class:`ModelRecord`   a provider's factory, model ids and extras
``io``       :class:`IORecord`      an IO channel factory
``tools``    :class:`ToolRecord`    a ready-made tool (``@tool`` object)
``commands`` :class:`CommandRecord` a click command a plugin added
``session_stores`` :class:`SessionStoreRecord` a store for calls that outlive a process

A record's object may be a :class:`~fullduplex.lazyref.LazyRef`: its name is
known at once (``export_name``), the object is imported on first use of
:attr:`Registration.value` (or ``factory`` / ``tool``). Reading names, kinds
and owners never imports a plugin's module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

import attrs

from .lazyref import LazyRef, resolve

if TYPE_CHECKING:
    from .agent_tool import AgentTool
    from .hookspecs import CredentialsCheck, LocalServer, OptionsMapper

Kind: TypeAlias = Literal["models", "io", "tools", "commands", "session_stores"]
KINDS: tuple[Kind, ...] = ("models", "io", "tools", "commands", "session_stores")
#: how each kind is called in messages
KIND_NOUN: dict[Kind, str] = {
    "models": "model provider",
    "io": "IO channel",
    "tools": "tool",
    "commands": "command",
    "session_stores": "session store",
}


@attrs.frozen(slots=True)
class ModelOptions:
    """Provider-neutral model settings a front end (``fullduplex chat``) may offer.

    A provider that registers an ``options`` mapper turns these into its own
    factory arguments; ``None`` means "not given, keep the provider's default".
    """

    #: the voice to speak with (a name the provider accepts)
    voice: str | None = None
    #: the URL of a server that speaks the provider's protocol
    base_url: str | None = None
    #: False when nothing will play the answer: a provider may then answer in
    #: text alone, which is faster and cheaper than speech thrown away
    speech: bool | None = None
    #: True when the user's speech comes in and its transcript is wanted (the
    #: provider picks its own default transcription model)
    transcribe: bool | None = None
    #: transcribe the user's speech with this model (a name the provider accepts)
    transcription_model: str | None = None
    #: who decides the user's turn ended: "server" (silence), "semantic" (meaning)
    #: or "none" (the client commits the turn)
    turn_detection: str | None = None


@attrs.frozen(slots=True)
class Registration:
    """What every record shares: the name, the object, and who registered it.

    ``obj`` is the registered object or a :class:`~fullduplex.lazyref.LazyRef`
    to it; use :attr:`value` for the object itself.
    """

    name: str
    obj: object
    plugin: str
    distribution: str | None

    #: which registry table the record belongs to (each record type sets its own)
    kind: ClassVar[Kind]

    @property
    def export_name(self) -> str | None:
        """The class or function name the object is importable under (no import needed)."""
        if isinstance(self.obj, LazyRef):
            return self.obj.export_name
        name = getattr(self.obj, "__name__", None)
        return name if isinstance(name, str) else None

    @property
    def loaded(self) -> bool:
        """Whether the object is at hand (registered as such, or its reference loaded)."""
        return not isinstance(self.obj, LazyRef) or self.obj.loaded

    @property
    def value(self) -> object:
        """The registered object, imported now if it was registered by reference.

        Raises :class:`~fullduplex.errors.PluginError` naming the plugin when
        the reference does not load.
        """
        return resolve(self.obj)


@attrs.frozen(slots=True)
class ModelRecord(Registration):
    """A model provider: ``get_model("<name>/<model id>")`` calls ``factory``."""

    #: model ids the provider declared
    models: tuple[str, ...] = ()
    #: the provider's offline server, if it offers one
    local_server: LocalServer | None = None
    #: whether the provider's real service is reachable as configured, if it can tell
    has_credentials: CredentialsCheck | None = None
    #: maps :class:`ModelOptions` to the factory's keyword arguments, if supported
    options: OptionsMapper | None = None
    #: ``"package.module:command"`` of the provider's emulator command line (a
    #: click command), run by ``fullduplex emulator --provider NAME``
    emulator_command: str | None = None

    kind: ClassVar[Literal["models"]] = "models"

    @property
    def factory(self) -> Callable[..., Any]:
        """The callable that builds the model (the registered object)."""
        return self.value  # type: ignore[return-value]


@attrs.frozen(slots=True)
class IORecord(Registration):
    """An IO channel: ``get_io("<name>", **kwargs)`` calls ``factory``."""

    kind: ClassVar[Literal["io"]] = "io"

    @property
    def factory(self) -> Callable[..., Any]:
        """The callable that builds the channel (the registered object)."""
        return self.value  # type: ignore[return-value]


@attrs.frozen(slots=True)
class ToolRecord(Registration):
    """A ready-made tool; ``obj`` is the ``@tool`` object (an ``AgentTool``)."""

    kind: ClassVar[Literal["tools"]] = "tools"

    @property
    def tool(self) -> AgentTool:
        """The tool (imported now if it was registered by reference)."""
        return self.value  # type: ignore[return-value]


@attrs.frozen(slots=True)
class CommandRecord(Registration):
    """A subcommand a plugin added to the ``fullduplex`` command line."""

    kind: ClassVar[Literal["commands"]] = "commands"


@attrs.frozen(slots=True)
class SessionStoreRecord(Registration):
    """A session store, named by the URL scheme it serves (``redis`` for ``redis://...``).

    ``factory(url, idle_ttl_s=...)`` builds the store; what a store offers is
    defined by the package that uses it (``fullduplex_serve.store.SessionStore``).
    """

    kind: ClassVar[Literal["session_stores"]] = "session_stores"

    @property
    def factory(self) -> Callable[..., Any]:
        """The callable that builds the store (the registered object)."""
        return self.value  # type: ignore[return-value]


#: any record
AnyRecord: TypeAlias = ModelRecord | IORecord | ToolRecord | CommandRecord | SessionStoreRecord


@attrs.frozen(slots=True)
class PluginRecord:
    """A loaded plugin and what it registered (``fullduplex.list_plugins()``)."""

    name: str
    version: str | None
    distribution: str | None
    hooks: tuple[str, ...]
    registered: Mapping[str, tuple[str, ...]]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "distribution": self.distribution,
            "hooks": list(self.hooks),
            "registered": {kind: list(names) for kind, names in self.registered.items()},
        }


__all__ = [
    "KINDS",
    "KIND_NOUN",
    "AnyRecord",
    "CommandRecord",
    "IORecord",
    "Kind",
    "ModelOptions",
    "ModelRecord",
    "PluginRecord",
    "Registration",
    "SessionStoreRecord",
    "ToolRecord",
]
