"""A local server that speaks the OpenAI Realtime GA protocol, for offline work and tests.

    async with Emulator(api_key="test-key", port=0) as emu:
        client = AsyncOpenAI(base_url=emu.base_url, api_key="test-key")
        async with client.realtime.connect(model="gpt-realtime") as connection:
            ...
        emu.received   # every client event, in order
        emu.sent       # every server frame (.type, .data, .event)

From synchronous code: ``with Emulator(...).start_in_thread() as emu:``.
From a shell: ``fullduplex emulator --port 8089``.

The modules: ``server`` (transport, auth, faults, pacing), ``session`` (the
sans-I/O protocol state machine), ``conversation``, ``validation``, ``vad``,
``responder`` (what the emulated model says; replaceable), ``synth`` (the
speech-like audio), ``faults``, ``ids``, ``frames``, ``cli``.
"""

from __future__ import annotations

from .errors import RealtimeProtocolError
from .faults import Faults
from .frames import Frame
from .responder import DefaultResponder, FunctionCall, Reply, Responder, TurnContext
from .server import DEFAULT_API_KEY, Connection, Emulator, EmulatorThread
from .session import RealtimeSession

__all__ = [
    "DEFAULT_API_KEY",
    "Connection",
    "DefaultResponder",
    "Emulator",
    "EmulatorThread",
    "Faults",
    "Frame",
    "FunctionCall",
    "RealtimeProtocolError",
    "RealtimeSession",
    "Reply",
    "Responder",
    "TurnContext",
]
