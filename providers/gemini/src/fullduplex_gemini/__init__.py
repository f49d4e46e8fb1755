"""Gemini Live provider for fullduplex.

``BidiGeminiLiveModel`` speaks the Live API (``BidiGenerateContent``) over
websockets, to the Developer API, Vertex AI, or the local emulator in
:mod:`fullduplex_gemini.emulator`. Importing this package is cheap: websockets,
numpy and pydantic work happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import BidiGeminiLiveModel
    from .transport import GeminiAuthenticationError, GeminiSetupError

__all__ = ["BidiGeminiLiveModel", "GeminiAuthenticationError", "GeminiSetupError"]

_LAZY = {
    "BidiGeminiLiveModel": ".model",
    "GeminiSetupError": ".transport",
    "GeminiAuthenticationError": ".transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fullduplex_gemini' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
