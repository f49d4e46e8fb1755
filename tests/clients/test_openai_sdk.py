"""The ``openai`` package's realtime connection against the OpenAI emulator.

The connection parses every event into the package's own models as it reads
it; the fixture validates everything the emulator sent against the same models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fullduplex_openai.emulator import DefaultResponder

from .conftest import require
from .kit import CALCULATOR, KEY, LONG_QUESTION, bounded, chunks_b64, spoken_turn_pcm16

openai = require("openai", "openai")

MODEL = "gpt-realtime"


def _user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def _until(conn: Any, event_type: str) -> list[Any]:
    events: list[Any] = []
    while True:
        event = await bounded(conn.recv())
        events.append(event)
        if event.type == event_type:
            return events


async def test_text_turn(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    client = openai.AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model=MODEL) as conn:
        await _until(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await _until(conn, "session.updated")
        await conn.conversation.item.create(item=_user("hello there"))
        await conn.response.create()
        events = await _until(conn, "response.done")
    assert not [e for e in events if e.type == "error"]
    done = events[-1].response
    assert done.status == "completed"
    assert done.output[0].content[0].text == "You said: hello there"


async def test_tool_round_trip(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    client = openai.AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model=MODEL) as conn:
        await _until(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "tools": [CALCULATOR]})
        await _until(conn, "session.updated")
        await conn.conversation.item.create(item=_user("what is 12 times 7?"))
        await conn.response.create()
        call = (await _until(conn, "response.done"))[-1].response.output[0]
        assert call.type == "function_call"
        assert json.loads(call.arguments) == {"expression": "12*7"}
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "84"}
        )
        await conn.response.create()
        done = (await _until(conn, "response.done"))[-1].response
    assert done.output[0].content[0].transcript == "The answer is 84."


async def test_audio_turn_with_server_vad(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(responder=DefaultResponder(["what is 2 plus 3?"]))
    client = openai.AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model=MODEL) as conn:
        await _until(conn, "session.created")
        for chunk in chunks_b64(spoken_turn_pcm16()):
            await conn.input_audio_buffer.append(audio=chunk)
        events = await _until(conn, "response.done")
    kinds = [e.type for e in events]
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
        "input_audio_buffer.speech_stopped"
    )
    assert "input_audio_buffer.committed" in kinds
    assert events[-1].response.output[0].content[0].transcript == "The answer is 5."


async def test_barge_in_truncates_while_the_answer_streams(
    make_emulator: Callable[..., Any],
) -> None:
    emu = await make_emulator(pace=1.0)  # real-time pace: the answer is still streaming
    client = openai.AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model=MODEL) as conn:
        await _until(conn, "session.created")
        await conn.conversation.item.create(item=_user(LONG_QUESTION))
        await conn.response.create()
        delta = (await _until(conn, "response.output_audio.delta"))[-1]
        await conn.conversation.item.truncate(
            item_id=delta.item_id, content_index=0, audio_end_ms=40
        )
        await conn.response.cancel()
        events = await _until(conn, "response.done")
    assert not [e for e in events if e.type == "error"]
    assert [e.audio_end_ms for e in events if e.type == "conversation.item.truncated"] == [40]
    done = events[-1].response
    assert done.status == "cancelled"
    assert done.output[0].status == "incomplete"
