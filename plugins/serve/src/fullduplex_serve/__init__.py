"""fullduplex-serve: an agent on a web page and on the phone.

``create_app(agent_factory, ...)`` returns the ASGI app (Starlette); ``fullduplex
serve`` runs it with uvicorn. The two network channels (:mod:`.browser`,
:mod:`.twilio`) are ordinary ``BidiInput`` / ``BidiOutput`` pairs that
``BidiAgent.run()`` drives like any other. The browser's wire protocol is
written down in ``docs/browser-protocol.md``.
"""

from __future__ import annotations

from .app import create_app
from .config import ServeConfig
from .security import twilio_signature, valid_twilio_signature

__all__ = ["ServeConfig", "create_app", "twilio_signature", "valid_twilio_signature"]
