"""pydantic-ai's realtime model for OpenAI (``pydantic_ai.realtime``) against the OpenAI emulator.

pydantic-ai parses every server event through the ``openai`` package's models
and reports what it cannot use as a ``RealtimeSessionErrorEvent``; each check
asserts there was none (the fixture validates everything the emulator sent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fullduplex_openai.emulator import DefaultResponder, Emulator

from .conftest import require
from .kit import KEY, LONG_QUESTION, chunks, first, spoken_turn_pcm16

pydantic_ai = require("pydantic_ai", "pydantic-ai-slim")
pai_openai = require("pydantic_ai.realtime.openai", "pydantic-ai-slim[openai-realtime]")
pai_providers = require("pydantic_ai.providers.openai", "pydantic-ai-slim[openai-realtime]")
pai_messages = require("pydantic_ai.messages", "pydantic-ai-slim")


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "84" if expression.replace(" ", "") == "12*7" else "unknown"


def _session(emu: Emulator, *, tools: bool = False) -> Any:
    provider = pai_providers.OpenAIProvider(base_url=emu.base_url, api_key=KEY)
    model = pai_openai.OpenAIRealtimeModel("gpt-realtime", provider=provider)
    agent = pydantic_ai.Agent(instructions="Be brief.", tools=[calculator] if tools else [])
    return agent.realtime(model).session()


def _turn_complete(event: Any) -> bool:
    return isinstance(event, pai_messages.RealtimeTurnCompleteEvent)


def _no_errors(seen: list[Any]) -> None:
    errors = [e for e in seen if isinstance(e, pai_messages.RealtimeSessionErrorEvent)]
    assert not errors, errors


def _last_answer(emu: Emulator) -> str:
    done = [e for e in emu.sent_events if e["type"] == "response.done"][-1]["response"]
    part = done["output"][0]["content"][0]
    return str(part.get("transcript") or part.get("text"))


async def test_text_turn(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    seen: list[Any] = []
    async with _session(emu) as session:
        await session.send("hello there")
        await first(aiter(session), _turn_complete, seen)
    _no_errors(seen)
    assert _last_answer(emu) == "You said: hello there"


async def test_tool_round_trip(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    seen: list[Any] = []
    async with _session(emu, tools=True) as session:
        await session.send("what is 12 times 7?")
        await first(aiter(session), _turn_complete, seen)
    _no_errors(seen)
    outputs = [
        e["item"]["output"]
        for e in emu.received
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1
    assert "84" in outputs[0]
    assert _last_answer(emu) == "The answer is 84."


async def test_audio_turn_with_server_vad(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(responder=DefaultResponder(["what is 2 plus 3?"]))
    seen: list[Any] = []
    async with _session(emu) as session:
        for chunk in chunks(spoken_turn_pcm16()):
            await session.send_audio(chunk)
        await first(aiter(session), _turn_complete, seen)
    _no_errors(seen)
    kinds = [e["type"] for e in emu.sent_events]
    assert "input_audio_buffer.speech_started" in kinds
    assert _last_answer(emu) == "The answer is 5."


async def test_barge_in_truncates_while_the_answer_streams(
    make_emulator: Callable[..., Any],
) -> None:
    emu = await make_emulator(pace=1.0)  # real-time pace: the answer is still streaming
    seen: list[Any] = []
    async with _session(emu) as session:
        audio = session.stream_audio()
        events = asyncio.ensure_future(first(aiter(session), _turn_complete, seen))
        try:
            await session.send(LONG_QUESTION)
            async with asyncio.timeout(15):
                played = len(await anext(audio))  # the device played the first chunk
                await anext(audio)  # and the second one arrived, unheard: there is audio to cut
            assert await session.interrupt(played_bytes=played) is True
            await events
        finally:
            events.cancel()
            await asyncio.gather(events, return_exceptions=True)
    _no_errors(seen)
    sent = [frame.type for frame in emu.sent]
    assert "error" not in sent
    ended_at = sent.index("response.done")
    assert sent.index("conversation.item.truncated") < ended_at
    done = next(e for e in emu.sent_events if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled"
