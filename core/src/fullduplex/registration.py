"""The ``register`` callbacks handed to plugins' ``register_*`` hooks: checking what
a plugin passes and turning it into records.

Part of the registry layer (:mod:`fullduplex.catalog` collects with these). A
bad argument raises a :class:`~fullduplex.errors.ConfigurationError` naming
the field; the catalog then skips the plugin with one warning.

Anything registered may be given by reference -- ``"package.module:Name"`` or
a :class:`~fullduplex.lazyref.LazyRef` -- so registering imports nothing. The
reference is wrapped here so that, on first use, a failed import or an object
of the wrong sort raises a :class:`~fullduplex.errors.PluginError` naming the
plugin, the name and the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, DuplicateRegistrationError, PluginError
from .lazyref import LazyRef
from .plugins import one_line
from .records import (
    KIND_NOUN,
    IORecord,
    Kind,
    ModelRecord,
    Registration,
    SessionStoreRecord,
    ToolRecord,
)

if TYPE_CHECKING:
    from .agent_tool import AgentTool
    from .hookspecs import CredentialsCheck, LocalServer, OptionsMapper
    from .model import BidiModel


def make_register(
    kind: Kind, plugin: str, distribution: str | None, sink: list[Registration]
) -> Callable[..., None]:
    """The ``register`` callback for one plugin's ``register_<kind>`` hook (records go to
    ``sink``)."""
    owner = f"plugin {plugin!r}" + (f" ({distribution})" if distribution else "")

    def claim(reg: Registration) -> None:
        if any(other.name == reg.name and other.kind == kind for other in sink):
            raise DuplicateRegistrationError(
                f"plugin {plugin!r} registered {KIND_NOUN[kind]} {reg.name!r} twice"
            )
        sink.append(reg)

    def register_model(
        provider: str,
        factory: Callable[..., BidiModel] | str | LazyRef,
        *,
        models: tuple[str, ...] = (),
        local_server: LocalServer | None = None,
        has_credentials: CredentialsCheck | None = None,
        options: OptionsMapper | None = None,
        emulator_command: str | None = None,
    ) -> None:
        check_name("provider", provider)
        if emulator_command is not None:
            given_ref: object = emulator_command
            ref = given_ref if isinstance(given_ref, str) else ""
            module, _, attribute = ref.partition(":")
            if not module or not attribute:
                raise ConfigurationError(
                    "emulator_command: expected a 'package.module:command' reference or None, "
                    f"got {emulator_command!r}"
                )
        obj = _callable_or_reference("factory", factory, f"model provider {provider!r}", owner)
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
            ModelRecord(
                provider,
                obj,
                plugin,
                distribution,
                models=tuple(str(m) for m in model_ids),
                local_server=local_server,
                has_credentials=has_credentials,
                options=options,
                emulator_command=emulator_command,
            )
        )

    def register_io(name: str, factory: Callable[..., Any] | str | LazyRef) -> None:
        check_name("name", name)
        obj = _callable_or_reference("factory", factory, f"IO channel {name!r}", owner)
        claim(IORecord(name, obj, plugin, distribution))

    def register_tool(tool: AgentTool | str | LazyRef, *, name: str | None = None) -> None:
        if name is not None:
            check_name("name", name)
        ref = _reference(tool, "tool")
        if ref is not None:
            tool_name = check_name("name", name or ref.export_name)
            loaded = _deferred(ref, f"tool {tool_name!r}", owner, _tool_named(tool_name, owner))
            claim(ToolRecord(tool_name, loaded, plugin, distribution))
            return
        agent_tool = as_agent_tool(tool)
        if name is not None and name != agent_tool.name:
            raise ConfigurationError(
                f"name: {name!r} differs from the tool's own name {agent_tool.name!r}; "
                f"rename the tool with @tool(name={name!r})"
            )
        tool_name = check_name("tool.name", agent_tool.name)
        claim(ToolRecord(tool_name, agent_tool, plugin, distribution))

    def register_session_store(scheme: str, factory: Callable[..., Any] | str | LazyRef) -> None:
        check_name("scheme", scheme)
        if not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
            raise ConfigurationError(
                f"scheme: {scheme!r} is not a URL scheme; accepted: letters, digits, '+', '-', '.'"
            )
        obj = _callable_or_reference("factory", factory, f"session store {scheme!r}", owner)
        claim(SessionStoreRecord(scheme, obj, plugin, distribution))

    registers: dict[Kind, Callable[..., None]] = {
        "models": register_model,
        "io": register_io,
        "tools": register_tool,
        "session_stores": register_session_store,
    }
    return registers[kind]


def as_agent_tool(obj: object) -> AgentTool:
    """``obj`` if it is a tool already, else the plain function made one with ``@tool``."""
    if isinstance(getattr(obj, "name", None), str) and callable(getattr(obj, "invoke", None)):
        return obj  # type: ignore[return-value]
    if not callable(obj):
        raise ConfigurationError(f"tool: expected a function decorated with @tool, got {obj!r}")
    # The tool machinery sits below the registry: making a tool here imports no lookup.
    from .agent_tool import tool

    return tool(obj)


def check_name(field: str, name: object) -> str:
    """``name`` if it is a usable registered name; a ConfigurationError naming ``field``."""
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigurationError(f"{field}: expected a non-empty name without '/', got {name!r}")
    return name


def _reference(value: object, field: str) -> LazyRef | None:
    """``value`` as a reference when it is one (a LazyRef or a ``module:Name`` string)."""
    if isinstance(value, LazyRef):
        return value
    if isinstance(value, str):
        return LazyRef.parse(value, field=field)
    return None


def _callable_or_reference(field: str, value: object, what: str, owner: str) -> object:
    ref = _reference(value, field)
    if ref is not None:
        return _deferred(ref, what, owner, _callable(field, what, owner))
    if not callable(value):
        raise ConfigurationError(
            f"{field}: expected a callable or a 'package.module:Name' reference, got {value!r}"
        )
    return value


def _deferred(ref: LazyRef, what: str, owner: str, check: Callable[[object], object]) -> LazyRef:
    """A reference that loads ``ref``, checks the object, and names the plugin on failure."""

    def load() -> object:
        try:
            value = ref.load()
        except Exception as exc:
            raise PluginError(
                f"{what} of {owner} could not be loaded from {ref.target!r}: {one_line(exc)}"
            ) from exc
        return check(value)

    return LazyRef(ref.export_name, load, target=ref.target)


def _callable(field: str, what: str, owner: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not callable(value):
            raise PluginError(f"{what} of {owner}: {field} is not callable once loaded ({value!r})")
        return value

    return check


def _tool_named(name: str, owner: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        try:
            agent_tool = as_agent_tool(value)
        except Exception as exc:
            raise PluginError(f"tool {name!r} of {owner}: {one_line(exc)}") from exc
        if agent_tool.name != name:
            raise PluginError(
                f"tool {name!r} of {owner} loaded a tool named {agent_tool.name!r}; "
                f"register it with name={agent_tool.name!r}"
            )
        return agent_tool

    return check


__all__ = ["as_agent_tool", "check_name", "make_register"]
