"""fullduplex-text: the terminal as an input and output channel (``BidiTextIO``).

Also importable as ``fullduplex.io.BidiTextIO``.
"""

from __future__ import annotations

from .render import TranscriptRenderer
from .text_io import BidiTextIO, TextInput, TextOutput

__all__ = ["BidiTextIO", "TextInput", "TextOutput", "TranscriptRenderer"]
