"""What the plugins provide, by name: the public face of the plugin system.

The plugin system is three layers, each importing only the ones below it:

1. :mod:`fullduplex.hookspecs` -- the hook specifications;
2. :mod:`fullduplex.plugins` -- the loader: entry points, ``FULLDUPLEX_LOAD_PLUGINS``
   / ``FULLDUPLEX_DISABLE_PLUGINS``, one cached pluggy manager;
3. :mod:`fullduplex.catalog` -- the typed registry, one record type per kind
   (:mod:`fullduplex.records`), filled through the ``register`` callbacks of
   :mod:`fullduplex.registration`; anything may be registered by reference
   (:mod:`fullduplex.lazyref`) and is imported on first use.

Above them: :mod:`fullduplex.lookup` (``get_model``, ``get_io``, ``get_tool``,
``list_plugins``), :mod:`fullduplex.exports` (seed-style
``from fullduplex.io import BidiAudioIO``), :mod:`fullduplex.hints` (install
hints from entry-point metadata) and :mod:`fullduplex.commands` (plugin
subcommands). The tool machinery (:mod:`fullduplex.agent_tool`) sits below
the registry, :mod:`fullduplex.tools` (tools by registered name) above it.
This module gathers the public names in one place, where they have always
been importable from.
"""

from __future__ import annotations

from .catalog import Registry, registry
from .exports import (
    MissingPluginAttributeError,
    MissingPluginError,
    MissingPluginImportError,
    resolve_export,
)
from .hints import install_hint
from .lazyref import LazyRef
from .lookup import get_io, get_model, get_tool, list_plugins, model_registration
from .records import (
    KINDS,
    CommandRecord,
    IORecord,
    Kind,
    ModelOptions,
    ModelRecord,
    PluginRecord,
    Registration,
    ToolRecord,
)

__all__ = [
    "KINDS",
    "CommandRecord",
    "IORecord",
    "Kind",
    "LazyRef",
    "MissingPluginAttributeError",
    "MissingPluginError",
    "MissingPluginImportError",
    "ModelOptions",
    "ModelRecord",
    "PluginRecord",
    "Registration",
    "Registry",
    "ToolRecord",
    "get_io",
    "get_model",
    "get_tool",
    "install_hint",
    "list_plugins",
    "model_registration",
    "registry",
    "resolve_export",
]
