"""Fixtures for the emulator's tests.

Every emulator made through these fixtures has every server event it sent
validated, at teardown, against the official ``openai`` package's server-event
models: the emulator must never send what the real client would not parse.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
from openai.types.realtime import RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

from fullduplex_openai.emulator import Emulator, Frame
from openai import AsyncOpenAI

KEY = "emulator-test-key-not-secret"


def _server_event_models() -> dict[str, TypeAdapter[Any]]:
    """``type`` literal -> adapter for that member of the SDK's server-event union."""
    union = typing.get_args(RealtimeServerEvent)[0]
    models: dict[str, TypeAdapter[Any]] = {}
    for member in typing.get_args(union):
        assert issubclass(member, BaseModel)
        for literal in typing.get_args(member.model_fields["type"].annotation):
            models[literal] = TypeAdapter(member)
    return models


SERVER_EVENT_MODELS = _server_event_models()


def assert_valid_server_events(events: Iterable[dict[str, Any]]) -> int:
    """Validate each event against the SDK model for its ``type``; return how many."""
    count = 0
    for event in events:
        kind = event.get("type")
        assert kind in SERVER_EVENT_MODELS, f"not a server event type of the SDK: {kind!r}"
        SERVER_EVENT_MODELS[kind].validate_python(event)
        count += 1
    return count


def assert_valid_frames(frames: Iterable[Frame]) -> int:
    """``assert_valid_server_events`` for frames (skipping frames a fault made malformed)."""
    return assert_valid_server_events(f.event for f in frames if f.type != "<malformed>")


@pytest.fixture
async def make_emulator() -> AsyncIterator[Callable[..., Any]]:
    """Start emulators with any options; all are stopped and their output validated after."""
    started: list[Emulator] = []

    async def make(**options: Any) -> Emulator:
        options.setdefault("api_key", KEY)
        options.setdefault("port", 0)
        emulator = await Emulator(**options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        await emulator.stop()
    for emulator in started:
        assert_valid_frames(emulator.sent)


@pytest.fixture
async def emu(make_emulator: Callable[..., Any]) -> Emulator:
    """A fast (unpaced) emulator on a free loopback port."""
    emulator: Emulator = await make_emulator()
    return emulator


@pytest.fixture
def client(emu: Emulator) -> AsyncOpenAI:
    """The official client, pointed at ``emu``."""
    return AsyncOpenAI(base_url=emu.base_url, api_key=KEY)


async def recv_until(connection: Any, event_type: str, *, timeout_s: float = 10.0) -> list[Any]:
    """Events from an ``openai`` realtime connection up to and including ``event_type``."""
    events: list[Any] = []
    async with asyncio.timeout(timeout_s):
        while True:
            event = await connection.recv()
            events.append(event)
            if event.type == event_type:
                return events


def user_message(text: str) -> dict[str, Any]:
    """The ``conversation.item.create`` item of a user's typed message."""
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def ask(connection: Any, text: str) -> list[Any]:
    """Type ``text`` as the user, ask for a response, return its events up to ``response.done``."""
    await connection.conversation.item.create(item=user_message(text))
    await connection.response.create()
    return await recv_until(connection, "response.done")
