"""fullduplex-text: the terminal as an input and output channel (``BidiTextIO``).

Also importable as ``fullduplex.io.BidiTextIO``. The names below are imported
from their modules on first access, so loading the ``text`` plugin (which
``fullduplex plugins`` does) imports neither the channel nor asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .render import TranscriptRenderer
    from .text_io import BidiTextIO, TextInput, TextOutput

_LAZY: dict[str, str] = {
    "BidiTextIO": "text_io",
    "TextInput": "text_io",
    "TextOutput": "text_io",
    "TranscriptRenderer": "render",
}

__all__ = ["BidiTextIO", "TextInput", "TextOutput", "TranscriptRenderer"]


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use, then keep it here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
