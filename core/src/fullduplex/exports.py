"""Seed-style imports of plugin-provided names: ``from fullduplex.io import BidiAudioIO``.

``fullduplex.models``, ``fullduplex.io`` and ``fullduplex.tools`` each end with
a module ``__getattr__`` that calls :func:`resolve_export`; the name is looked
up among what the loaded plugins registered. A missing name raises an error
that says which installed plugin did not load (:mod:`fullduplex.hints`).

Python turns an ``AttributeError`` raised during ``from m import name`` into
its own generic ``ImportError``, losing the message. So the caller's frame is
inspected: when it is executing ``IMPORT_FROM``, an ``ImportError`` is raised
instead, and the message survives. A name registered by reference is
imported here, on first access; a reference that fails to load raises the
same errors, carrying why.
"""

from __future__ import annotations

import dis
import sys

from .catalog import registry
from .errors import NotRegisteredError, PluginError
from .hints import install_hint
from .records import KIND_NOUN, Kind


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
    found = registry().find_export(kind, name)
    if found is not None:
        try:
            return found.value
        except PluginError as exc:  # registered by reference, and the reference did not load
            message = f"cannot import name {name!r} from {module_name!r}: {exc}"
    else:
        detail = f"no loaded fullduplex plugin registers a {KIND_NOUN[kind]} by that name"
        hint = install_hint(name)
        message = f"cannot import name {name!r} from {module_name!r}: {detail}"
        if hint:
            message = f"{message}; {hint}"
    error: MissingPluginError
    if _called_by_from_import(depth=2):
        error = MissingPluginImportError(message)
        error.name = module_name
    else:
        error = MissingPluginAttributeError(message)
        error.name = name
    raise error


__all__ = [
    "MissingPluginAttributeError",
    "MissingPluginError",
    "MissingPluginImportError",
    "resolve_export",
]
