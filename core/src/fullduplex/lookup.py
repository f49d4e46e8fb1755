"""Lookup helpers over the registry: build a model or IO channel by name, fetch a tool.

These sit above the three plugin layers and are what users call
(``fullduplex.get_model("openai/gpt-realtime")``). Factory calls live here:
a wrong keyword becomes a :class:`~fullduplex.errors.ConfigurationError`
listing what the factory accepts. A factory or tool registered by reference
is imported here, on first use; one that fails to load raises a
:class:`~fullduplex.errors.PluginError` naming its plugin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .catalog import registry
from .commands import collect_commands
from .errors import ConfigurationError
from .plugins import plugins
from .records import ModelRecord, PluginRecord

if TYPE_CHECKING:
    from .agent_tool import AgentTool
    from .model import BidiModel


def get_model(name: str, **kwargs: Any) -> BidiModel:
    """Build a model by registered name: ``get_model("openai/gpt-realtime", voice="marin")``.

    ``"provider/model-id"`` calls the provider's factory with ``model_id`` set
    (a model id the provider did not list is passed through: providers ship new
    models faster than plugins update). A bare provider name uses the factory's
    default model; a bare model id works when exactly one provider lists it.
    """
    entry, model_id = model_registration(name)
    if model_id is not None:
        if "model_id" in kwargs:
            raise ConfigurationError(
                f"model_id: given twice, in {name!r} and as a keyword; give it once"
            )
        kwargs = {"model_id": model_id, **kwargs}
    model: BidiModel = _build(entry.factory, name, kwargs)
    return model


def model_registration(name: str) -> tuple[ModelRecord, str | None]:
    """The provider record behind a model name, and the model id (``None``: default).

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
    return _build(registry().lookup("io", name).factory, name, kwargs)


def get_tool(name: str) -> AgentTool:
    """A tool registered by a plugin, by its name: ``get_tool("stop_conversation")``."""
    return registry().lookup("tools", name).tool


def get_session_store(url: str, **kwargs: Any) -> Any:
    """Build the session store a URL names, by its scheme: ``redis://host:6379/0`` asks the
    store registered as ``redis``; ``memory`` (or ``memory://``) the one registered as
    ``memory``. The factory gets ``url`` and ``kwargs`` (``idle_ttl_s``, say)."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            f"session store: expected a URL such as 'redis://host:6379/0', got {url!r}"
        )
    scheme = url.split("://", 1)[0] if "://" in url else url
    return _build(
        registry().lookup("session_stores", scheme).factory, scheme, {"url": url, **kwargs}
    )


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


def list_plugins() -> list[PluginRecord]:
    """The loaded plugins: name, version, distribution, hooks, and what each registered."""
    reg_ = registry()
    collect_commands()
    return [
        PluginRecord(
            name=info.name,
            version=info.version,
            distribution=info.distribution,
            hooks=info.hooks,
            registered=reg_.by_plugin(info.name),
        )
        for info in plugins().infos
    ]


__all__ = [
    "get_io",
    "get_model",
    "get_session_store",
    "get_tool",
    "list_plugins",
    "model_registration",
]
