"""Helpers of the MCP tests: the demo server's path, a responder that calls the tools it
is told to, and a way to talk to the agent until an answer arrives.

(Its own module name: a ``tests/mcp`` package would shadow the ``mcp`` package.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from fullduplex import BidiAgent
from fullduplex.events import BidiOutputEvent, BidiTranscriptStreamEvent
from fullduplex_emulator.responder import FunctionCall, Reply, TurnContext
from fullduplex_emulator.scripted import ScriptedResponder

SERVER = Path(__file__).parent / "servers" / "demo_server.py"
KEY = "emu-key-DO-NOT-LOG-4242"


class CallingResponder(ScriptedResponder):
    """``call NAME {json} ; NAME {json}``: say "Let me check." and call those tools.

    Only tools the session declares are called; any other name gets a spoken
    refusal, so a test sees exactly which tools the model was given.
    """

    def respond(self, context: TurnContext) -> Reply:
        last = context.turns[-1] if context.turns else None
        text = (last.text or "") if last is not None and last.kind == "user" else ""
        if not text.startswith("call "):
            return super().respond(context)
        calls = []
        for part in text[len("call ") :].split(" ; "):
            name, _, arguments = part.strip().partition(" ")
            if context.tool_named(name) is None:
                return Reply(f"I have no tool named {name}.")
            calls.append(FunctionCall(name, arguments.strip() or "{}"))
        return Reply("Let me check.", tuple(calls))


def say(name: str, arguments: dict[str, Any] | None = None) -> str:
    """The user text that makes the emulator call ``name``."""
    return f"call {name} {orjson.dumps(arguments or {}).decode()}"


async def ask(
    agent: BidiAgent, text: str, until: Callable[[str], bool], timeout_s: float = 15
) -> list[BidiOutputEvent]:
    """Send ``text``; gather events until an assistant final transcript satisfies ``until``."""
    seen: list[BidiOutputEvent] = []
    await agent.send(text)
    async with asyncio.timeout(timeout_s):
        async for event in agent.receive():
            seen.append(event)
            if (
                isinstance(event, BidiTranscriptStreamEvent)
                and event.is_final
                and event.role == "assistant"
                and until(event.text)
            ):
                return seen
    raise AssertionError(f"the conversation ended before the answer; saw {seen!r}")


def spoken(events: list[BidiOutputEvent]) -> list[str]:
    return [
        e.text
        for e in events
        if isinstance(e, BidiTranscriptStreamEvent) and e.is_final and e.role == "assistant"
    ]
