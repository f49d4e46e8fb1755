"""What the plugins provide, by name: the public face of the plugin system.

The plugin system is three layers, each importing only the ones below it:

1. :mod:`fullduplex.hookspecs` -- the hook specifications;
2. :mod:`fullduplex.plugins` -- the loader: entry points, ``FULLDUPLEX_LOAD_PLUGINS``
   / ``FULLDUPLEX_DISABLE_PLUGINS``, one cached pluggy manager;
3. :mod:`fullduplex.catalog` -- the typed registry, one record type per kind
   (:mod:`fullduplex.records`).

Above them: :mod:`fullduplex.lookup` (``get_model``, ``get_io``, ``get_tool``,
``list_plugins``), :mod:`fullduplex.exports` (seed-style
``from fullduplex.io import BidiAudioIO``), :mod:`fullduplex.hints` (install
hints from entry-point metadata) and :mod:`fullduplex.commands` (plugin
subcommands). This module gathers their public names in one place, where they
have always been importable from.
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
