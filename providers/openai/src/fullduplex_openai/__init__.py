"""OpenAI Realtime (GA) provider for fullduplex.

``BidiOpenAIRealtimeModel`` speaks the Realtime protocol over websockets (or
to Azure OpenAI, or to the local emulator in :mod:`fullduplex_openai.emulator`);
``create_client_secret`` mints ephemeral keys. Importing this package is cheap:
websockets, numpy and pydantic-heavy work happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fullduplex.errors import (
    ConfigurationError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelProtocolError,
    ModelTimeoutError,
)

if TYPE_CHECKING:
    from .model import BidiOpenAIRealtimeModel
    from .secrets import ClientSecret, create_client_secret

__all__ = [
    "BidiOpenAIRealtimeModel",
    "ClientSecret",
    "ConfigurationError",
    "ModelAuthenticationError",
    "ModelConnectionError",
    "ModelError",
    "ModelProtocolError",
    "ModelTimeoutError",
    "create_client_secret",
]

_LAZY = {
    "BidiOpenAIRealtimeModel": ".model",
    "ClientSecret": ".secrets",
    "create_client_secret": ".secrets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fullduplex_openai' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
