"""Lazy references: name what a plugin provides without importing it.

A plugin registers ``"fullduplex_x.model:BidiXModel"`` (or a :class:`LazyRef`)
instead of the class itself; the registry then knows the name it is
importable under (``BidiXModel``) at once and imports the module only on
first use -- ``get_model``, ``get_io``, ``get_tool``, ``from fullduplex.models
import BidiXModel``. Listing what the plugins provide (``fullduplex plugins``)
therefore costs no import of the plugins' heavy modules, the way entry
points themselves are loaded only when needed.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable

from .errors import ConfigurationError

_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_TARGET = re.compile(rf"(?P<module>{_DOTTED}):(?P<attr>{_DOTTED})")
_UNSET = object()


class LazyRef:
    """An object known by name and loaded on first :meth:`load`, then kept.

    ``export_name`` is the name it is importable under (a class or function
    name); ``loader`` returns the object. Build one from a
    ``"package.module:Name"`` string with :meth:`parse`.
    """

    __slots__ = ("_loader", "_lock", "_value", "export_name", "target")

    def __init__(
        self, export_name: str, loader: Callable[[], object], *, target: str | None = None
    ) -> None:
        if not isinstance(export_name, str) or not export_name.isidentifier():
            raise ConfigurationError(
                f"export_name: expected a Python identifier, got {export_name!r}"
            )
        if not callable(loader):
            raise ConfigurationError(f"loader: expected a callable, got {loader!r}")
        self.export_name = export_name
        #: what the reference points at (``package.module:Name``): for messages, and
        #: to tell two references apart without loading them
        where = getattr(loader, "__qualname__", "?")
        self.target = target or f"<loader {where} at {id(loader):#x}>"
        self._loader = loader
        self._value: object = _UNSET
        self._lock = threading.RLock()

    @classmethod
    def parse(cls, target: str, *, field: str = "target") -> LazyRef:
        """A reference to ``"package.module:Name"`` (``Name`` may be dotted:
        ``Class.attribute``); a ConfigurationError naming ``field`` otherwise."""
        match = _TARGET.fullmatch(target) if isinstance(target, str) else None
        if match is None:
            raise ConfigurationError(
                f"{field}: expected a callable or a 'package.module:Name' reference, got {target!r}"
            )
        module, attr = match["module"], match["attr"]

        def load() -> object:
            value: object = importlib.import_module(module)
            for part in attr.split("."):
                value = getattr(value, part)
            return value

        return cls(attr.rpartition(".")[2], load, target=target)

    @property
    def loaded(self) -> bool:
        """Whether :meth:`load` has succeeded (the object is imported)."""
        return self._value is not _UNSET

    def load(self) -> object:
        """The object (imported on the first call; a failure is raised, not kept)."""
        value = self._value
        if value is not _UNSET:
            return value
        with self._lock:
            if self._value is _UNSET:
                self._value = self._loader()
            return self._value

    def __repr__(self) -> str:
        return f"LazyRef({self.target!r})"


def resolve(obj: object) -> object:
    """``obj`` itself, or the object a :class:`LazyRef` points at."""
    return obj.load() if isinstance(obj, LazyRef) else obj


__all__ = ["LazyRef", "resolve"]


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names imported on first use.

    ``exports`` maps each public name to the module that defines it (relative,
    ``".model"``). Loading a plugin package (to list what it provides) then
    imports none of its heavy modules; the first ``from pkg import Name``
    imports one, and the value is kept in the package's ``namespace``::

        __getattr__, __dir__ = lazy_exports(__name__, {"BidiXModel": ".model"}, globals())
    """

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
