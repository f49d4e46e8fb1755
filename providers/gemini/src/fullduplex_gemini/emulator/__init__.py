"""A local server that speaks the Gemini Live protocol, for offline work and tests.

    async with GeminiEmulator(port=0) as emu:
        model = BidiGeminiLiveModel(client_config={"base_url": emu.base_url,
                                                   "api_key": emu.api_key})
        emu.received   # every client message, in order
        emu.sent       # every server frame (.type, .data, .event)

From synchronous code: ``with GeminiEmulator().start_in_thread() as running:``.
From a shell: ``fullduplex emulator --provider gemini --port 8090``.

Installed with ``pip install 'fullduplex-gemini[emulator]'``. This package is the
Gemini wire front-end only (``server``: routes, keys, lifetime; ``setup``: the
setup's validation; ``session``: the sans-I/O protocol; ``cli``); the clock, VAD,
scripted responder, synthesis, faults and server base are the shared kit,
``fullduplex_emulator``.
"""

from __future__ import annotations

from fullduplex_emulator.faults import Faults
from fullduplex_emulator.responder import FunctionCall, Reply, Responder, TurnContext
from fullduplex_emulator.scripted import ScriptedResponder

from .server import DEFAULT_API_KEY, GeminiEmulator, GeminiEmulatorThread
from .session import LiveSession
from .setup import SetupRefused

__all__ = [
    "DEFAULT_API_KEY",
    "Faults",
    "FunctionCall",
    "GeminiEmulator",
    "GeminiEmulatorThread",
    "LiveSession",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "SetupRefused",
    "TurnContext",
]
