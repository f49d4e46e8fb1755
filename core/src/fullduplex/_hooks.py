"""Calling the lifecycle hooks for one agent: global plugins first, then its own.

pluggy calls implementations synchronously and stops at the first exception;
the agent needs more: implementations may be ``async`` (their awaitables are
awaited, in order), and one broken plugin must not break the conversation or
the other plugins (its exception is logged with the plugin's name). So this
facade walks the implementations itself, in pluggy's call order, and gives the
agent typed results without ``Any`` leaking out.

The agent's own ``plugins=[...]`` go into a private pluggy manager, registered
so that they run in the order the user listed them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import pluggy

from . import hookspecs
from .errors import ConfigurationError

logger = logging.getLogger("fullduplex.agent")


def _global_manager() -> pluggy.PluginManager | None:
    try:
        from .plugins import plugin_manager
    except ImportError:  # pragma: no cover - the plugin module ships with core
        return None
    return plugin_manager()


class LifecycleHooks:
    """The lifecycle hooks of one agent (see :mod:`fullduplex.hookspecs` for the order)."""

    def __init__(self, plugins: Sequence[object] = (), *, use_global: bool = True) -> None:
        self._managers: list[pluggy.PluginManager] = []
        if use_global:
            manager = _global_manager()
            if manager is not None:
                self._managers.append(manager)
        if plugins:
            local = pluggy.PluginManager(hookspecs.PROJECT)
            local.add_hookspecs(hookspecs)
            # pluggy calls the last registered first: register in reverse so the
            # user's first plugin runs first.
            for index, plugin in reversed(list(enumerate(plugins))):
                try:
                    local.register(plugin, name=f"agent-plugin-{index}")
                except Exception as exc:
                    raise ConfigurationError(
                        f"plugins[{index}]: not a valid hook object ({exc})"
                    ) from exc
            try:
                local.check_pending()
            except Exception as exc:
                raise ConfigurationError(
                    f"plugins: a hook name is not a fullduplex hook ({exc})"
                ) from exc
            self._managers.append(local)

    def implemented(self, name: str) -> bool:
        """True when any plugin implements hook ``name`` (lets callers skip work)."""
        for manager in self._managers:
            caller = getattr(manager.hook, name, None)
            if caller is not None and caller.get_hookimpls():
                return True
        return False

    async def call(self, name: str, **kwargs: Any) -> list[object]:
        """Call every implementation of ``name``; return their non-None results in order."""
        results: list[object] = []
        for manager in self._managers:
            caller = getattr(manager.hook, name, None)
            if caller is None:
                continue
            for impl in reversed(caller.get_hookimpls()):
                try:
                    value = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
                    if inspect.isawaitable(value):
                        value = await value
                except Exception:
                    logger.exception("hook %s of plugin %r failed; ignored", name, impl.plugin_name)
                    continue
                if value is not None:
                    results.append(value)
        return results
