"""What the plugins provide, by name: model providers, IO channels, tools, commands.

Plugins fill the registry through their ``register_*`` hooks when the plugins
load (:mod:`fullduplex.plugins`). Each registration remembers which plugin and
distribution made it, so ``fullduplex plugins`` and :func:`list_plugins` can
say who registered what, and errors can say which distribution to install.

Two plugins claiming one name is not resolved by load order (which is
arbitrary): the name is marked as a conflict, a warning names both plugins,
and looking it up raises :class:`~fullduplex.errors.DuplicateRegistrationError`
naming both, until one of them is disabled with ``FULLDUPLEX_DISABLE_PLUGINS``.
A plugin registering one name twice is a bug in that plugin: it is skipped.

Seed-style imports (``from fullduplex.io import BidiAudioIO``) go through
:func:`resolve_export`, called by the ``__getattr__`` of ``fullduplex.models``,
``fullduplex.io`` and ``fullduplex.tools``.
"""

from __future__ import annotations

import dis
import importlib.metadata
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from .errors import ConfigurationError, DuplicateRegistrationError, NotRegisteredError
from .plugins import Plugins, plugins, warn_plugin

if TYPE_CHECKING:
    import click

    from .hookspecs import CredentialsCheck, LocalServer, OptionsMapper
    from .model import BidiModel
    from .tools import AgentTool

Kind: TypeAlias = Literal["models", "io", "tools", "commands"]
KINDS: tuple[Kind, ...] = ("models", "io", "tools", "commands")
_KIND_NOUN: dict[Kind, str] = {
    "models": "model provider",
    "io": "IO channel",
    "tools": "tool",
    "commands": "command",
}

#: Which distribution provides the names of the bundled plugins, so an error can
#: say what to ``pip install``. Third-party names simply get no hint.
INSTALL_HINTS: dict[str, str] = {
    "openai": "fullduplex-openai",
    "BidiOpenAIRealtimeModel": "fullduplex-openai",
    "audio": "fullduplex-audio",
    "wav": "fullduplex-audio",
    "BidiAudioIO": "fullduplex-audio",
    "BidiWavIO": "fullduplex-audio",
    "text": "fullduplex-text",
    "BidiTextIO": "fullduplex-text",
    "calculator": "fullduplex-tools",
    "current_time": "fullduplex-tools",
}


class MissingPluginError(NotRegisteredError):
    """A name that no loaded plugin provides was imported from a fullduplex module.

    Raised as :class:`MissingPluginImportError` by ``from fullduplex.io import X``
    (so the message survives: Python replaces an ``AttributeError``'s message
    with its own there) and as :class:`MissingPluginAttributeError` for
    ``fullduplex.io.X`` and ``hasattr``. CPython cannot make one exception class
    both an ``ImportError`` and an ``AttributeError`` (their layouts conflict),
    so catch this base class to handle both.
    """


class MissingPluginImportError(MissingPluginError, ImportError):
    """:class:`MissingPluginError` raised by a ``from ... import`` statement."""


class MissingPluginAttributeError(MissingPluginError, AttributeError):
    """:class:`MissingPluginError` raised by attribute access."""


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


@attrs.frozen(slots=True)
class Registration:
    """One named thing a plugin registered."""

    kind: Kind
    name: str
    obj: object
    plugin: str
    distribution: str | None
    #: model ids a provider declared (``kind == "models"`` only)
    models: tuple[str, ...] = ()
    #: the provider's offline server, if it offers one (``kind == "models"`` only)
    local_server: LocalServer | None = None
    #: whether the provider's real service is reachable as configured, if it can tell
    has_credentials: CredentialsCheck | None = None
    #: maps :class:`ModelOptions` to the factory's keyword arguments, if supported
    options: OptionsMapper | None = None

    @property
    def export_name(self) -> str | None:
        """The class or function name the object is importable under."""
        name = getattr(self.obj, "__name__", None)
        return name if isinstance(name, str) else None


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


class Registry:
    """Registrations by kind and name, built once from the loaded plugins."""

    def __init__(self) -> None:
        self._entries: dict[Kind, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self._conflicts: dict[Kind, dict[str, list[Registration]]] = {kind: {} for kind in KINDS}
        self._commands_collected = False

    # ------------------------------------------------------------ collecting
    @classmethod
    def collect(cls, loaded: Plugins) -> Registry:
        """Run every plugin's registration hooks; skip a plugin whose hook raises."""
        registry = cls()
        staged: dict[str, list[Registration]] = {info.name: [] for info in loaded.infos}
        failed: dict[str, str] = {}
        hooks: tuple[tuple[str, Kind], ...] = (
            ("register_models", "models"),
            ("register_io", "io"),
            ("register_tools", "tools"),
        )
        for hook_name, kind in hooks:
            for impl in loaded.implementations(hook_name):
                if impl.plugin in failed:
                    continue
                info = loaded.info(impl.plugin)
                dist = info.distribution if info else None
                sink = staged.setdefault(impl.plugin, [])
                callback = _make_register(kind, impl.plugin, dist, sink)
                try:
                    impl.function(register=callback)
                except Exception as exc:
                    failed[impl.plugin] = f"its {hook_name} hook raised {_one_line(exc)}"
        for name, reason in failed.items():
            loaded.skip(name, reason)
            staged.pop(name, None)
        for regs in staged.values():
            for reg in regs:
                registry._add(reg)
        return registry

    def _add(self, reg: Registration) -> None:
        entries = self._entries[reg.kind]
        existing = entries.get(reg.name)
        if existing is None and reg.name not in self._conflicts[reg.kind]:
            entries[reg.name] = reg
            return
        claims = self._conflicts[reg.kind].setdefault(reg.name, [])
        if existing is not None:
            claims.append(existing)
            del entries[reg.name]
        claims.append(reg)
        warn_plugin(str(_duplicate_error(reg.kind, reg.name, claims)))

    def install_commands(self, group: click.Group, loaded: Plugins) -> None:
        """Let each plugin add subcommands to ``group``; a raising hook is skipped.

        A plugin may not replace a command that is already there (a built-in or
        another plugin's): the original stays and a warning names both.
        """
        owners: dict[str, str] = dict.fromkeys(group.commands, "fullduplex")
        self._entries["commands"].clear()
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
                    f"raised {_one_line(exc)}; its commands were skipped"
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
                reg = Registration("commands", name, command, impl.plugin, dist)
                self._entries["commands"][name] = reg
        self._commands_collected = True

    # --------------------------------------------------------------- queries
    def entries(self, kind: Kind) -> list[Registration]:
        """Every registration of ``kind`` (conflicting ones included), sorted by name."""
        regs = list(self._entries[kind].values())
        for claims in self._conflicts[kind].values():
            regs.extend(claims)
        return sorted(regs, key=lambda reg: (reg.name, reg.plugin))

    def names(self, kind: Kind) -> list[str]:
        return sorted({reg.name for reg in self.entries(kind)})

    def by_plugin(self, plugin: str) -> dict[str, tuple[str, ...]]:
        return {
            kind: tuple(reg.name for reg in self.entries(kind) if reg.plugin == plugin)
            for kind in KINDS
        }

    @property
    def commands_collected(self) -> bool:
        return self._commands_collected

    def lookup(self, kind: Kind, name: str) -> Registration:
        """The registration of ``name``; raises naming what is available otherwise."""
        claims = self._conflicts[kind].get(name)
        if claims:
            raise _duplicate_error(kind, name, claims)
        reg = self._entries[kind].get(name)
        if reg is None:
            raise NotRegisteredError(_not_registered_message(kind, name, self))
        return reg

    def find_export(self, kind: Kind, name: str) -> Registration | None:
        """The registration importable as ``name``: by object ``__name__`` or registered name."""
        matches = [reg for reg in self.entries(kind) if name in (reg.export_name, reg.name)]
        distinct = {id(reg.obj): reg for reg in matches}
        if len(distinct) > 1:
            raise _duplicate_error(kind, name, list(distinct.values()))
        return matches[0] if matches else None


def _make_register(
    kind: Kind, plugin: str, distribution: str | None, sink: list[Registration]
) -> Callable[..., None]:
    """The ``register`` callback handed to one plugin's ``register_<kind>`` hook."""

    def claim(reg: Registration) -> None:
        if any(other.name == reg.name for other in sink if other.kind == kind):
            raise DuplicateRegistrationError(
                f"plugin {plugin!r} registered {_KIND_NOUN[kind]} {reg.name!r} twice"
            )
        sink.append(reg)

    def check_name(field: str, name: object) -> str:
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ConfigurationError(
                f"{field}: expected a non-empty name without '/', got {name!r}"
            )
        return name

    def register_model(
        provider: str,
        factory: Callable[..., BidiModel],
        *,
        models: tuple[str, ...] = (),
        local_server: LocalServer | None = None,
        has_credentials: CredentialsCheck | None = None,
        options: OptionsMapper | None = None,
    ) -> None:
        check_name("provider", provider)
        if not callable(factory):
            raise ConfigurationError(f"factory: expected a callable, got {factory!r}")
        extras = {
            "local_server": local_server,
            "has_credentials": has_credentials,
            "options": options,
        }
        for field, value in extras.items():
            if value is not None and not callable(value):
                raise ConfigurationError(f"{field}: expected a callable or None, got {value!r}")
        given: object = models
        model_ids = (given,) if isinstance(given, str) else tuple(models)
        if not all(isinstance(m, str) and m for m in model_ids):
            raise ConfigurationError(
                f"models: expected a tuple of model id strings, got {models!r}"
            )
        claim(
            Registration(
                "models",
                provider,
                factory,
                plugin,
                distribution,
                model_ids,
                local_server=local_server,
                has_credentials=has_credentials,
                options=options,
            )
        )

    def register_io(name: str, factory: Callable[..., Any]) -> None:
        check_name("name", name)
        if not callable(factory):
            raise ConfigurationError(f"factory: expected a callable, got {factory!r}")
        claim(Registration("io", name, factory, plugin, distribution))

    def register_tool(tool_obj: AgentTool) -> None:
        name = getattr(tool_obj, "name", None)
        if not isinstance(name, str):
            if not callable(tool_obj):
                raise ConfigurationError(
                    f"tool: expected a function decorated with @tool, got {tool_obj!r}"
                )
            from .tools import tool as make_tool

            tool_obj = make_tool(tool_obj)
            name = tool_obj.name
        claim(Registration("tools", check_name("tool.name", name), tool_obj, plugin, distribution))

    registers: dict[Kind, Callable[..., None]] = {
        "models": register_model,
        "io": register_io,
        "tools": register_tool,
    }
    return registers[kind]


# ------------------------------------------------------------------- messages


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _duplicate_error(
    kind: Kind, name: str, claims: list[Registration]
) -> DuplicateRegistrationError:
    who = " and ".join(
        f"plugin {reg.plugin!r}" + (f" ({reg.distribution})" if reg.distribution else "")
        for reg in claims
    )
    return DuplicateRegistrationError(
        f"{_KIND_NOUN[kind]} {name!r} is registered by {who}; "
        f"disable one with FULLDUPLEX_DISABLE_PLUGINS=<plugin name>"
    )


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def install_hint(name: str, loaded: Plugins | None = None) -> str:
    """What to do to get ``name``: which distribution to install, or why it did not load."""
    distribution = INSTALL_HINTS.get(name)
    if distribution is None:
        return ""
    if not _installed(distribution):
        return f"it is provided by {distribution}: pip install {distribution}"
    skipped = [s for s in (loaded.skipped if loaded else ()) if s.distribution == distribution]
    if skipped:
        return (
            f"it is provided by {distribution}, which is installed but its plugin "
            f"{skipped[0].name!r} was not loaded ({skipped[0].reason})"
        )
    return f"it is provided by {distribution}, which is installed but did not register it"


def _available(kind: Kind, registry: Registry) -> str:
    if kind == "models":
        shown = []
        for reg in registry.entries("models"):
            ids = [f"{reg.name}/{m}" for m in reg.models]
            shown.extend(ids or [f"{reg.name}/<model id>"])
        names = shown
    else:
        names = registry.names(kind)
    return ", ".join(names) if names else "none"


def _not_registered_message(kind: Kind, name: str, registry: Registry) -> str:
    loaded = plugins()
    hint = install_hint(name.split("/", 1)[0], loaded)
    message = f"no {_KIND_NOUN[kind]} named {name!r}; available: {_available(kind, registry)}"
    return f"{message}; {hint}" if hint else message


# ----------------------------------------------------------------- public API


def registry() -> Registry:
    """The registry of the loaded plugins (loading them on first use)."""
    return plugins().registry


def get_model(name: str, **kwargs: Any) -> BidiModel:
    """Build a model by registered name: ``get_model("openai/gpt-realtime", voice="marin")``.

    ``"provider/model-id"`` calls the provider's factory with ``model_id`` set
    (a model id the provider did not list is passed through: providers ship new
    models faster than plugins update). A bare provider name uses the factory's
    default model; a bare model id works when exactly one provider lists it.
    """
    entry, model_id = model_registration(name)
    factory: Callable[..., BidiModel] = entry.obj  # type: ignore[assignment]
    if model_id is not None:
        if "model_id" in kwargs:
            raise ConfigurationError(
                f"model_id: given twice, in {name!r} and as a keyword; give it once"
            )
        kwargs = {"model_id": model_id, **kwargs}
    model: BidiModel = _build(factory, name, kwargs)
    return model


def model_registration(name: str) -> tuple[Registration, str | None]:
    """The provider registration behind a model name, and the model id (``None``: default).

    Resolves names as :func:`get_model` does, without building the model, so a
    front end can look at what the provider offers (a local server, say) first.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"model: expected 'provider/model-id', got {name!r}")
    reg_ = registry()
    provider, sep, model_id = name.partition("/")
    if not sep:
        owners = [reg for reg in reg_.entries("models") if name in reg.models]
        if provider not in reg_.names("models") and len(owners) == 1:
            provider, model_id, sep = owners[0].name, name, "/"
    entry = reg_.lookup("models", provider)
    if sep and not model_id:
        raise ConfigurationError(f"model: expected 'provider/model-id', got {name!r}")
    return entry, (model_id if sep else None)


def get_io(name: str, **kwargs: Any) -> Any:
    """Build an IO channel by registered name: ``get_io("audio")``."""
    factory: Callable[..., Any] = registry().lookup("io", name).obj  # type: ignore[assignment]
    return _build(factory, name, kwargs)


def _build(factory: Callable[..., Any], name: str, kwargs: dict[str, Any]) -> Any:
    """Call a registered factory, turning an unknown or missing keyword into a
    :class:`ConfigurationError` that lists what the factory accepts."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C callable: let the call itself speak
        return factory(**kwargs)
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        accepted = ", ".join(
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        raise ConfigurationError(f"{name}: {exc}; accepted: {accepted}") from None
    return factory(**kwargs)


def get_tool(name: str) -> AgentTool:
    """A tool registered by a plugin, by its name: ``get_tool("stop_conversation")``."""
    found: AgentTool = registry().lookup("tools", name).obj  # type: ignore[assignment]
    return found


def list_plugins() -> list[PluginRecord]:
    """The loaded plugins: name, version, distribution, hooks, and what each registered."""
    loaded = plugins()
    reg_ = loaded.registry
    if not reg_.commands_collected:
        import click

        reg_.install_commands(click.Group("fullduplex"), loaded)
    return [
        PluginRecord(
            name=info.name,
            version=info.version,
            distribution=info.distribution,
            hooks=info.hooks,
            registered=reg_.by_plugin(info.name),
        )
        for info in loaded.infos
    ]


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def _called_by_from_import(depth: int) -> bool:
    """True when the frame ``depth`` levels up is executing ``from m import name``."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return False
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM


def resolve_export(kind: Kind, name: str, module_name: str) -> object:
    """Resolve ``module_name.name`` to an object a plugin registered (module ``__getattr__``).

    Must be called directly from the module's ``__getattr__``. Private and
    dunder names raise a plain ``AttributeError`` so probing stays cheap.
    """
    if name.startswith("_"):
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    loaded = plugins()
    found = loaded.registry.find_export(kind, name)
    if found is not None:
        return found.obj
    hint = install_hint(name, loaded)
    detail = hint or f"no loaded fullduplex plugin registers a {_KIND_NOUN[kind]} by that name"
    message = f"cannot import name {name!r} from {module_name!r}: {detail}"
    error: MissingPluginError
    if _called_by_from_import(depth=2):
        error = MissingPluginImportError(message)
        error.name = module_name
    else:
        error = MissingPluginAttributeError(message)
        error.name = name
    raise error


__all__ = [
    "INSTALL_HINTS",
    "KINDS",
    "Kind",
    "MissingPluginAttributeError",
    "MissingPluginError",
    "MissingPluginImportError",
    "ModelOptions",
    "PluginRecord",
    "Registration",
    "Registry",
    "get_io",
    "get_model",
    "get_tool",
    "install_hint",
    "list_plugins",
    "model_registration",
    "registry",
    "resolve_export",
]
