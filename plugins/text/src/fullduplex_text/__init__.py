"""fullduplex-text: the terminal as an input and output channel (``BidiTextIO``).

Also importable as ``fullduplex.io.BidiTextIO``. The names below are imported
from their modules on first access, so loading the ``text`` plugin (which
``fullduplex plugins`` does) imports neither the channel nor asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.lazyref import lazy_exports

if TYPE_CHECKING:
    from .render import TranscriptRenderer
    from .text_io import BidiTextIO, TextInput, TextOutput

_LAZY: dict[str, str] = {
    "BidiTextIO": ".text_io",
    "TextInput": ".text_io",
    "TextOutput": ".text_io",
    "TranscriptRenderer": ".render",
}

__all__ = ["BidiTextIO", "TextInput", "TextOutput", "TranscriptRenderer"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
