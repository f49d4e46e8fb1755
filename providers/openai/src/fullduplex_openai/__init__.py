"""OpenAI Realtime (GA) provider for fullduplex.

``BidiOpenAIRealtimeModel`` speaks the Realtime protocol over websockets (or
to Azure OpenAI, or to the local emulator in :mod:`fullduplex_openai.emulator`);
``create_client_secret`` mints ephemeral keys. Importing this package is cheap:
websockets, numpy and pydantic-heavy work happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.errors import (
    ConfigurationError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelProtocolError,
    ModelTimeoutError,
)
from fullduplex.lazyref import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
