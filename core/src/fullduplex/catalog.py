"""The typed registry: what the loaded plugins registered, by kind and name.

The top of the three plugin layers (:mod:`~fullduplex.hookspecs` -> the loader
:mod:`~fullduplex.plugins` -> this). :func:`registry` runs the registration
hooks (``register_models``, ``register_io``, ``register_tools``,
``register_session_stores``) of the plugins
the loader loaded, once per load, with the ``register`` callbacks of
:mod:`fullduplex.registration`, and keeps one record per name
(:mod:`fullduplex.records`). What was registered by reference stays
unimported until first use. Commands are added by the command line
(:mod:`fullduplex.commands`), which owns click.

Two plugins claiming one name is not resolved by load order (which is
arbitrary): the name is marked as a conflict, a warning names both plugins,
and looking it up raises :class:`~fullduplex.errors.DuplicateRegistrationError`
naming both, until one of them is disabled with ``FULLDUPLEX_DISABLE_PLUGINS``.
A plugin registering one name twice, or whose hook raises, is skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal, overload

from .errors import DuplicateRegistrationError, NotRegisteredError, PluginError
from .hints import install_hint
from .lazyref import LazyRef
from .plugins import Plugins, one_line, plugins, warn_plugin
from .records import (
    KIND_NOUN,
    KINDS,
    AnyRecord,
    CommandRecord,
    IORecord,
    Kind,
    ModelRecord,
    Registration,
    SessionStoreRecord,
    ToolRecord,
)
from .registration import make_register


class Registry:
    """Records by kind and name, built once from the loaded plugins."""

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
            ("register_session_stores", "session_stores"),
        )
        for hook_name, kind in hooks:
            for impl in loaded.implementations(hook_name):
                if impl.plugin in failed:
                    continue
                info = loaded.info(impl.plugin)
                dist = info.distribution if info else None
                sink = staged.setdefault(impl.plugin, [])
                callback = make_register(kind, impl.plugin, dist, sink)
                try:
                    impl.function(register=callback)
                except Exception as exc:
                    failed[impl.plugin] = f"its {hook_name} hook raised {one_line(exc)}"
        for name, reason in failed.items():
            loaded.skip(name, reason)
            staged.pop(name, None)
        for regs in staged.values():
            for reg in regs:
                registry._add(reg)
        return registry

    def _add(self, reg: Registration) -> None:
        kind = _kind(reg)
        entries = self._entries[kind]
        existing = entries.get(reg.name)
        if existing is None and reg.name not in self._conflicts[kind]:
            entries[reg.name] = reg
            return
        claims = self._conflicts[kind].setdefault(reg.name, [])
        if existing is not None:
            claims.append(existing)
            del entries[reg.name]
        claims.append(reg)
        warn_plugin(str(duplicate_error(kind, reg.name, claims)))

    def set_commands(self, commands: Sequence[CommandRecord]) -> None:
        """Record the commands the plugins added (the command line installs them)."""
        self._entries["commands"] = {reg.name: reg for reg in commands}
        self._commands_collected = True

    @property
    def commands_collected(self) -> bool:
        """Whether the plugins' commands have been installed once (and so recorded)."""
        return self._commands_collected

    # --------------------------------------------------------------- queries
    @overload
    def entries(self, kind: Literal["models"]) -> list[ModelRecord]: ...
    @overload
    def entries(self, kind: Literal["io"]) -> list[IORecord]: ...
    @overload
    def entries(self, kind: Literal["tools"]) -> list[ToolRecord]: ...
    @overload
    def entries(self, kind: Literal["commands"]) -> list[CommandRecord]: ...
    @overload
    def entries(self, kind: Literal["session_stores"]) -> list[SessionStoreRecord]: ...
    @overload
    def entries(self, kind: Kind) -> list[AnyRecord]: ...
    def entries(self, kind: Kind) -> Sequence[Registration]:
        """Every record of ``kind`` (conflicting ones included), sorted by name."""
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

    @overload
    def lookup(self, kind: Literal["models"], name: str) -> ModelRecord: ...
    @overload
    def lookup(self, kind: Literal["io"], name: str) -> IORecord: ...
    @overload
    def lookup(self, kind: Literal["tools"], name: str) -> ToolRecord: ...
    @overload
    def lookup(self, kind: Literal["commands"], name: str) -> CommandRecord: ...
    @overload
    def lookup(self, kind: Literal["session_stores"], name: str) -> SessionStoreRecord: ...
    @overload
    def lookup(self, kind: Kind, name: str) -> AnyRecord: ...
    def lookup(self, kind: Kind, name: str) -> Registration:
        """The record of ``name``; raises naming what is available otherwise."""
        claims = self._conflicts[kind].get(name)
        if claims:
            raise duplicate_error(kind, name, claims)
        reg = self._entries[kind].get(name)
        if reg is None:
            raise NotRegisteredError(_not_registered_message(kind, name, self))
        return reg

    def find_export(self, kind: Kind, name: str) -> Registration | None:
        """The record importable as ``name``: by object ``__name__`` or registered name.

        Records by reference are told apart by their target, so a name two
        plugins both provide is an error without importing either.
        """
        matches = [reg for reg in self.entries(kind) if name in (reg.export_name, reg.name)]
        distinct = {_identity(reg.obj): reg for reg in matches}
        if len(distinct) > 1:
            raise duplicate_error(kind, name, list(distinct.values()))
        return matches[0] if matches else None


def _identity(obj: object) -> object:
    return obj.target if isinstance(obj, LazyRef) else id(obj)


def _kind(reg: Registration) -> Kind:
    kind: Kind = reg.kind
    return kind


# ------------------------------------------------------------------- messages


def duplicate_error(
    kind: Kind, name: str, claims: Sequence[Registration]
) -> DuplicateRegistrationError:
    """The error for a name two plugins claim, naming both and the way out."""
    who = " and ".join(
        f"plugin {reg.plugin!r}" + (f" ({reg.distribution})" if reg.distribution else "")
        for reg in claims
    )
    return DuplicateRegistrationError(
        f"{KIND_NOUN[kind]} {name!r} is registered by {who}; "
        f"disable one with FULLDUPLEX_DISABLE_PLUGINS=<plugin name>"
    )


def _available(kind: Kind, registry: Registry) -> str:
    if kind == "models":
        names = []
        for reg in registry.entries("models"):
            ids = [f"{reg.name}/{m}" for m in reg.models]
            names.extend(ids or [f"{reg.name}/<model id>"])
    else:
        names = registry.names(kind)
    return ", ".join(names) if names else "none"


def _not_registered_message(kind: Kind, name: str, registry: Registry) -> str:
    hint = install_hint(name.split("/", 1)[0])
    message = f"no {KIND_NOUN[kind]} named {name!r}; available: {_available(kind, registry)}"
    return f"{message}; {hint}" if hint else message


# ---------------------------------------------------------------------- cache

_lock = threading.RLock()
_cached: tuple[Plugins, Registry] | None = None
_collecting_thread: int | None = None


def registry() -> Registry:
    """The registry of the loaded plugins (loading and collecting them on first use).

    Collected again after :func:`~fullduplex.plugins.reset_plugins`.
    """
    global _cached, _collecting_thread
    loaded = plugins()
    cached = _cached
    if cached is not None and cached[0] is loaded:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] is loaded:
            return _cached[1]
        if _collecting_thread == threading.get_ident():
            raise PluginError(
                "a plugin used the fullduplex registry while plugins were loading "
                "(in a register_* hook); look things up in hooks that run later"
            )
        _collecting_thread = threading.get_ident()
        try:
            collected = Registry.collect(loaded)
        finally:
            _collecting_thread = None
        _cached = (loaded, collected)
        return collected


__all__ = ["Registry", "duplicate_error", "registry"]
