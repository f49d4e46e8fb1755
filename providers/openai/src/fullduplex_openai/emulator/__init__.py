"""A local server that speaks the OpenAI Realtime GA protocol, for offline work and tests.

    async with Emulator(api_key="test-key", port=0) as emu:
        client = AsyncOpenAI(base_url=emu.base_url, api_key="test-key")
        async with client.realtime.connect(model="gpt-realtime") as connection:
            ...
        emu.received   # every client event, in order
        emu.sent       # every server frame (.type, .data, .event)

From synchronous code: ``with Emulator(...).start_in_thread() as emu:``.
From a shell: ``fullduplex emulator --port 8089``.

Installed with ``pip install 'fullduplex-openai[emulator]'``. This package is the
OpenAI wire front-end only: ``server`` (routes, keys, client secrets, refusals),
``session`` (the sans-I/O state machine and its dispatch table) with its
handlers ``input_audio``, ``items``, ``responses`` and ``streaming`` over
``state``, plus ``conversation``, ``validation``, ``turns`` (the items told to
the responder), ``synth`` (the GA audio formats), ``wiretap`` (``--record``),
``errors``, ``ids`` and
``cli``. The clock, VAD, scripted responder, speech synthesis, faults, caps and
the server base are the provider-neutral kit, ``fullduplex_emulator``.
"""

from __future__ import annotations

from fullduplex_emulator.connection import Connection
from fullduplex_emulator.faults import Faults
from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import FunctionCall, Reply, Responder, TurnContext
from fullduplex_emulator.scripted import DefaultResponder

from .errors import RealtimeProtocolError
from .server import DEFAULT_API_KEY, Emulator, EmulatorThread
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
