"""Gemini Live provider for fullduplex.

``BidiGeminiLiveModel`` speaks the Live API (``BidiGenerateContent``) over
websockets, to the Developer API, Vertex AI, or the local emulator in
:mod:`fullduplex_gemini.emulator`. Importing this package is cheap: websockets,
numpy and pydantic work happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.lazyref import lazy_exports

if TYPE_CHECKING:
    from .model import BidiGeminiLiveModel
    from .transport import GeminiAuthenticationError, GeminiSetupError

__all__ = ["BidiGeminiLiveModel", "GeminiAuthenticationError", "GeminiSetupError"]

_LAZY = {
    "BidiGeminiLiveModel": ".model",
    "GeminiSetupError": ".transport",
    "GeminiAuthenticationError": ".transport",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
