"""Model classes by name: ``from fullduplex.models import BidiOpenAIRealtimeModel``.

Core defines only the protocol (:class:`BidiModel`, :class:`ModelCapabilities`,
re-exported here). Provider classes live in their own distributions and are
resolved on first access through the plugin registry, so this module imports
no provider, and a missing one fails with an ``ImportError`` that names the
distribution to install.
"""

from __future__ import annotations

from .model import BidiModel, ModelCapabilities


def __getattr__(name: str) -> object:
    """Resolve provider model classes registered by plugins."""
    from .exports import resolve_export

    return resolve_export("models", name, __name__)


__all__ = ["BidiModel", "ModelCapabilities"]
