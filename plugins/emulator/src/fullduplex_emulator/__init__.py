"""fullduplex-emulator: the provider-neutral kit every local emulator is built from.

A provider's emulator keeps only its wire front-end (the shapes of its events,
its validation, its authentication); the rest is here and shared:

- ``clock``: injectable session time and the idle timer;
- ``audio_buffer``: the user's audio since the last commit, on a timeline;
- ``vad``: energy-based voice activity detection;
- ``responder``, ``scripted``, ``arithmetic``: what the emulated model answers
  (the scripted "brain": tool calls, goodbye -> ``stop_conversation``);
- ``synth`` and ``g711``: speech-like audio in any rate and encoding;
- ``faults`` and ``caps``: the failures and limits a client must survive;
- ``frames``, ``session``, ``connection``, ``server``, ``thread``: the aiohttp
  server base, the writer that paces audio and injects faults, the thread runner;
- ``pytest_plugin``: the ``emulator_server`` fixture for any registered provider.

Importing this package stays light (no aiohttp, no numpy): the neutral values
below are re-exported; the server and audio modules are imported by name.
"""

from __future__ import annotations

from .caps import SessionCap
from .clock import Clock, IdleTimer, ManualClock
from .faults import Faults
from .frames import Frame
from .responder import FunctionCall, Reply, Responder, ToolDeclaration, Turn, TurnContext
from .scripted import IDLE_PROMPT, DefaultResponder, ScriptedResponder

__all__ = [
    "IDLE_PROMPT",
    "Clock",
    "DefaultResponder",
    "Faults",
    "Frame",
    "FunctionCall",
    "IdleTimer",
    "ManualClock",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "SessionCap",
    "ToolDeclaration",
    "Turn",
    "TurnContext",
]
