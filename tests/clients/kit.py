"""What every client's checks share: the OpenAI event types, speech to send, waits.

Every server event the emulator sent is validated against the ``openai``
package's server-event models (the types all three OpenAI clients parse with),
and each client's own view is checked in its module.
"""

from __future__ import annotations

import asyncio
import base64
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar

from openai.types.realtime import RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16

KEY: Final = "clients-test-key-not-secret"
#: an answer long enough (about 10 s of speech) to still stream when the client barges in
LONG_QUESTION: Final = "please tell me a long story about " + " ".join(["the sea"] * 40)
CALCULATOR: Final[dict[str, Any]] = {
    "type": "function",
    "name": "calculator",
    "description": "Evaluate an arithmetic expression.",
    "parameters": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}

T = TypeVar("T")


def _server_event_models() -> dict[str, TypeAdapter[Any]]:
    union = typing.get_args(RealtimeServerEvent)[0]
    models: dict[str, TypeAdapter[Any]] = {}
    for member in typing.get_args(union):
        assert issubclass(member, BaseModel)
        for literal in typing.get_args(member.model_fields["type"].annotation):
            models[literal] = TypeAdapter(member)
    return models


SERVER_EVENT_MODELS: Final = _server_event_models()


def assert_openai_server_events(events: Iterable[dict[str, Any]]) -> int:
    """Validate each event against the ``openai`` package's model for its type; return how many."""
    count = 0
    for event in events:
        kind = event.get("type")
        assert kind in SERVER_EVENT_MODELS, f"not a server event type of openai: {kind!r}"
        SERVER_EVENT_MODELS[kind].validate_python(event)
        count += 1
    return count


def spoken_turn_pcm16(speech_ms: int = 800) -> bytes:
    """24 kHz PCM16: silence, a tone the server VAD hears as speech, then silence that ends it."""
    return silence_pcm16(300) + tone_pcm16(speech_ms) + silence_pcm16(900)


def chunks_b64(audio: bytes, chunk_ms: int = 100) -> list[str]:
    """Base64 chunks of 24 kHz PCM16, as a microphone would send them."""
    size = 48 * chunk_ms
    return [base64.b64encode(audio[i : i + size]).decode() for i in range(0, len(audio), size)]


def chunks(audio: bytes, chunk_ms: int = 100) -> list[bytes]:
    """Raw chunks of 24 kHz PCM16."""
    size = 48 * chunk_ms
    return [audio[i : i + size] for i in range(0, len(audio), size)]


async def first(
    events: AsyncIterator[T], wanted: Callable[[T], bool], seen: list[T], timeout_s: float = 15
) -> T:
    """The first event ``wanted`` accepts (everything read is appended to ``seen``)."""
    async with asyncio.timeout(timeout_s):
        async for event in events:
            seen.append(event)
            if wanted(event):
                return event
    raise AssertionError(f"the events ended without the one wanted; saw {len(seen)}")


async def bounded(awaitable: Awaitable[T], timeout_s: float = 15) -> T:
    """Await with a bound, so no check can hang."""
    async with asyncio.timeout(timeout_s):
        return await awaitable
