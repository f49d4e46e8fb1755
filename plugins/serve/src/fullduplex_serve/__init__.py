"""fullduplex-serve: an agent on a web page and on the phone.

``create_app(agent_factory, ...)`` returns the ASGI app (Starlette); ``fullduplex
serve`` runs it with uvicorn. The two network channels (:mod:`.browser`,
:mod:`.twilio`) are ordinary ``BidiInput`` / ``BidiOutput`` pairs that
``BidiAgent.run()`` drives like any other. The browser's wire protocol is
written down in ``docs/browser-protocol.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullduplex.lazyref import lazy_exports

if TYPE_CHECKING:
    from .app import create_app
    from .config import ServeConfig
    from .security import twilio_signature, valid_twilio_signature

__all__ = ["ServeConfig", "create_app", "twilio_signature", "valid_twilio_signature"]

#: where each public name lives, imported on first use: loading the plugin (to
#: list commands) must not import Starlette
_LAZY = {
    "create_app": ".app",
    "ServeConfig": ".config",
    "twilio_signature": ".security",
    "valid_twilio_signature": ".security",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
