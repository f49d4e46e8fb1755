"""The plugin manager: finds, loads and validates fullduplex plugins.

A plugin is a module named by an entry point in the ``fullduplex`` group. Each
is imported, registered with a pluggy :class:`pluggy.PluginManager` and checked
against :mod:`fullduplex.hookspecs`. This module is the middle layer of the
plugin system: it knows the hook specs below it and nothing above it (the
typed registry in :mod:`fullduplex.catalog` runs the registration hooks of
the plugins loaded here). Whatever goes wrong with one plugin -- the import
raises, pluggy refuses it, a hook name is misspelt (``check_pending``), its
``register_*`` hook raises (reported by the registry) -- that plugin is skipped with ONE
:class:`PluginLoadWarning` naming the plugin and its distribution, and the
others load. A warning (not a log record) because it reaches users of scripts
and notebooks without any logging setup, shows once per plugin, and tests can
catch it with ``pytest.warns``.

Two environment variables, read each time the plugins load:

``FULLDUPLEX_LOAD_PLUGINS=a,b``
    load only the plugins named (set but empty: none). The core's own plugin
    (``core`` from the ``fullduplex`` distribution) is part of the SDK and
    always loads unless disabled explicitly.
``FULLDUPLEX_DISABLE_PLUGINS=a,b``
    never load these.

Loading happens once, on first use, and is cached; :func:`reset_plugins`
forgets the cache (tests, or after changing the environment variables).
The rest of the code uses the typed facade :class:`Plugins` and never sees
pluggy's ``Any``.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "fullduplex"
LOAD_ENV = "FULLDUPLEX_LOAD_PLUGINS"
DISABLE_ENV = "FULLDUPLEX_DISABLE_PLUGINS"
#: the core's own plugin; ``FULLDUPLEX_LOAD_PLUGINS`` does not filter it out
CORE_PLUGIN = "core"
CORE_DISTRIBUTION = "fullduplex"


class PluginLoadWarning(UserWarning):
    """A plugin was skipped because it failed to import, validate or register."""


@attrs.frozen(slots=True)
class PluginInfo:
    """One loaded plugin: where it came from and which hooks it implements."""

    name: str
    version: str | None
    distribution: str | None
    hooks: tuple[str, ...]


@attrs.frozen(slots=True)
class SkippedPlugin:
    """A plugin that was found but not loaded, and why (one line)."""

    name: str
    distribution: str | None
    reason: str


@attrs.frozen(slots=True)
class HookImplementation:
    """One plugin's implementation of one hook, callable on its own."""

    plugin: str
    function: Callable[..., object]


class Plugins:
    """Typed facade over the pluggy manager holding the loaded plugins."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self._infos: dict[str, PluginInfo] = {}
        self._skipped: dict[str, SkippedPlugin] = {}

    # ----------------------------------------------------------------- queries
    @property
    def infos(self) -> tuple[PluginInfo, ...]:
        """The loaded plugins, in load order."""
        return tuple(self._infos.values())

    @property
    def skipped(self) -> tuple[SkippedPlugin, ...]:
        """Plugins that were found but skipped (broken or filtered out)."""
        return tuple(self._skipped.values())

    def info(self, name: str) -> PluginInfo | None:
        return self._infos.get(name)

    def skipped_plugin(self, name: str) -> SkippedPlugin | None:
        return self._skipped.get(name)

    def implementations(self, hook_name: str) -> list[HookImplementation]:
        """Each loaded plugin's implementation of ``hook_name``, in load order."""
        caller = getattr(self.manager.hook, hook_name, None)
        if caller is None:
            return []
        order = {name: i for i, name in enumerate(self._infos)}
        impls = [
            HookImplementation(plugin=str(impl.plugin_name), function=impl.function)
            for impl in caller.get_hookimpls()
            if str(impl.plugin_name) in self._infos
        ]
        impls.sort(key=lambda impl: order[impl.plugin])
        return impls

    def call(self, hook_name: str, **kwargs: object) -> list[object]:
        """Call a hook on every loaded plugin, returning the non-None results."""
        caller = getattr(self.manager.hook, hook_name)
        results: list[object] = caller(**kwargs)
        return results

    # ---------------------------------------------------------------- mutation
    def skip(self, name: str, reason: str, *, distribution: str | None = None) -> None:
        """Unregister ``name`` (if loaded) and warn once that it was skipped."""
        info = self._infos.pop(name, None)
        if info is not None:
            distribution = info.distribution
        plugin = self.manager.get_plugin(name)
        if plugin is not None:
            self.manager.unregister(plugin, name=name)
        self._note_skipped(name, distribution, reason)

    def _note_skipped(self, name: str, distribution: str | None, reason: str) -> None:
        key = name if name not in self._skipped else f"{name} ({distribution})"
        self._skipped[key] = SkippedPlugin(name=name, distribution=distribution, reason=reason)
        where = f" from distribution {distribution!r}" if distribution else ""
        warn_plugin(f"fullduplex plugin {name!r}{where} was skipped: {reason}")

    def _add(self, info: PluginInfo) -> None:
        self._infos[info.name] = info


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_plugin(message: str) -> None:
    """Emit a :class:`PluginLoadWarning` attributed to the first caller outside fullduplex.

    So the warning points at the user's line that first needed the plugins
    (``get_model(...)``, ``from fullduplex.io import ...``), not at the loader.
    """
    level = 2  # 1 is this function, 2 its caller
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    warnings.warn(message, PluginLoadWarning, stacklevel=level)


# ------------------------------------------------------------------ discovery


def _names_from_env(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, for warnings and short error reports."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _distribution_of(ep: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    name = dist.metadata["Name"] if dist.metadata is not None else None
    return (str(name) if name else None), dist.version


def _entry_points() -> Iterator[importlib.metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = (ep.name, ep.value)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        yield ep


def _hooks_of(manager: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = manager.get_hookcallers(plugin) or []
    return tuple(sorted(str(caller.name) for caller in callers))


def _register_one(
    plugins: Plugins,
    name: str,
    module: object,
    distribution: str | None,
    version: str | None,
) -> None:
    manager = plugins.manager
    try:
        manager.register(module, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        plugins.skip(name, f"could not be registered: {one_line(exc)}", distribution=distribution)
        return
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        plugins._add(PluginInfo(name, version, distribution, ()))
        plugins.skip(name, f"implements an unknown hook: {one_line(exc)}")
        return
    plugins._add(PluginInfo(name, version, distribution, _hooks_of(manager, module)))


def _load() -> Plugins:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    only = _names_from_env(LOAD_ENV)
    blocked = _names_from_env(DISABLE_ENV) or set()
    found: list[str] = []
    for ep in _entry_points():
        found.append(ep.name)
        distribution, version = _distribution_of(ep)
        is_core = ep.name == CORE_PLUGIN and distribution == CORE_DISTRIBUTION
        if ep.name in blocked or (only is not None and ep.name not in only and not is_core):
            var = DISABLE_ENV if ep.name in blocked else LOAD_ENV
            plugins._skipped[ep.name] = SkippedPlugin(ep.name, distribution, f"filtered by {var}")
            continue
        other = plugins.info(ep.name)
        if other is not None:
            plugins._note_skipped(
                ep.name,
                distribution,
                f"the plugin name is already taken by distribution {other.distribution!r}",
            )
            continue
        try:
            loaded = ep.load()
        except Exception as exc:
            plugins.skip(ep.name, f"import failed: {one_line(exc)}", distribution=distribution)
            continue
        # ``pkg.mod`` names a module; ``pkg.mod:obj`` an object with hook methods.
        _register_one(plugins, ep.name, loaded, distribution, version)
    unknown = sorted(blocked - set(found))
    if unknown:
        # a typo here would otherwise leave the plugin meant loaded, silently
        names = ", ".join(repr(name) for name in unknown)
        warn_plugin(
            f"{DISABLE_ENV} names {names}, which no installed plugin is called; "
            f"installed: {', '.join(sorted(set(found))) or 'none'}"
        )
    return plugins


# ---------------------------------------------------------------------- cache

_lock = threading.RLock()
_loaded: Plugins | None = None
_loading_thread: int | None = None


def plugins() -> Plugins:
    """The loaded plugins (loading them on first call)."""
    global _loaded, _loading_thread
    current = _loaded
    if current is not None:
        return current
    with _lock:
        if _loaded is not None:
            return _loaded
        if _loading_thread == threading.get_ident():
            raise PluginError(
                "a plugin used the fullduplex registry while plugins were loading; "
                "look things up inside hooks or later, not at import time"
            )
        _loading_thread = threading.get_ident()
        try:
            _loaded = _load()
        finally:
            _loading_thread = None
        return _loaded


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with every loaded plugin registered."""
    return plugins().manager


def reset_plugins() -> None:
    """Forget the loaded plugins; the next use loads them again (reads the env vars)."""
    global _loaded
    with _lock:
        _loaded = None


def plugin_infos() -> Sequence[PluginInfo]:
    """The loaded plugins, in load order."""
    return plugins().infos


__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "HookImplementation",
    "PluginInfo",
    "PluginLoadWarning",
    "Plugins",
    "SkippedPlugin",
    "one_line",
    "plugin_infos",
    "plugin_manager",
    "plugins",
    "reset_plugins",
    "warn_plugin",
]
