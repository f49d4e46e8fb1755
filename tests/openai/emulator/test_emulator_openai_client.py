"""The official ``openai`` client against the emulator, over real loopback websockets."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

import openai
from conftest import KEY, ask, recv_until, user_message
from fullduplex_openai.emulator import DefaultResponder, Emulator
from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16
from openai import AsyncOpenAI

CALCULATOR = {
    "type": "function",
    "name": "calculator",
    "description": "Evaluate an arithmetic expression.",
    "parameters": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


async def test_text_turn_gets_a_spoken_transcribed_answer(
    emu: Emulator, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        created = await recv_until(conn, "session.created")
        assert created[-1].session.model == "gpt-realtime"
        await conn.session.update(session={"type": "realtime", "instructions": "Be brief."})
        updated = (await recv_until(conn, "session.updated"))[-1]
        assert updated.session.instructions == "Be brief."
        assert updated.session.audio.output.voice == "alloy"  # the untouched rest is echoed
        events = await ask(conn, "hello there")

    types = [e.type for e in events]
    # the GA order of §5 (d)/(a), with deltas collapsed
    collapsed = [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]
    assert collapsed[:6] == [
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    audio = b"".join(
        base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
    )
    transcript = "".join(
        e.delta for e in events if e.type == "response.output_audio_transcript.delta"
    )
    assert transcript == "You said: hello there"
    assert len(audio) > 48 * 400
    assert len(audio) % 2 == 0
    assert (
        max(abs(int.from_bytes(audio[i : i + 2], "little", signed=True)) for i in range(0, 4800, 2))
        > 1000
    )
    done = events[-1].response
    assert done.status == "completed"
    assert done.usage is not None
    assert done.usage.output_tokens
    assert done.usage.total_tokens
    assert done.output[0].content[0].transcript == transcript
    assert [e["type"] for e in emu.received] == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]


async def test_text_only_output(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        events = await ask(conn, "2+2")
    types = {e.type for e in events}
    assert "response.output_audio.delta" not in types
    text_done = next(e for e in events if e.type == "response.output_text.done")
    assert text_done.text == "The answer is 4."
    part_done = next(e for e in events if e.type == "response.content_part.done")
    assert part_done.part.type == "text"
    assert events[-1].response.output[0].content[0].type == "output_text"


async def test_audio_turn_with_server_vad(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            }
        )
        await recv_until(conn, "session.updated")
        speech = silence_pcm16(400) + tone_pcm16(1200) + silence_pcm16(500)
        for start in range(0, len(speech), 4800):  # 100 ms chunks
            await conn.input_audio_buffer.append(audio=b64(speech[start : start + 4800]))
        events = await recv_until(conn, "response.done")
        tail = await recv_until(conn, "conversation.item.input_audio_transcription.completed")

    by_type = {e.type: e for e in events}
    started = by_type["input_audio_buffer.speech_started"]
    stopped = by_type["input_audio_buffer.speech_stopped"]
    assert started.audio_start_ms == 400 - 300  # speech at 400 ms, minus prefix padding
    assert stopped.audio_end_ms == 1600 + 200  # speech end + silence duration
    assert by_type["input_audio_buffer.committed"].item_id == started.item_id
    user_item = next(e for e in events if e.type == "conversation.item.done").item
    assert user_item.role == "user"
    assert user_item.content[0].type == "input_audio"
    transcript = "".join(
        e.delta for e in events if e.type == "response.output_audio_transcript.delta"
    )
    assert transcript == "I heard 1.7 seconds of audio."
    completed = tail[-1]
    assert completed.item_id == started.item_id
    assert completed.transcript == "(1.7 seconds of audio)"


async def test_scripted_audio_turn_is_answered_by_its_words(
    make_emulator: Callable[..., Any],
) -> None:
    responder = DefaultResponder(["what is 6 times 7"])
    emu = await make_emulator(responder=responder)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.input_audio_buffer.append(audio=b64(tone_pcm16(600) + silence_pcm16(300)))
        events = await recv_until(conn, "response.done")
    transcript = next(e for e in events if e.type == "response.output_audio_transcript.done")
    assert transcript.transcript == "The answer is 42."


async def test_interruption_cancels_and_truncates(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(realtime=True)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.conversation.item.create(item=user_message("please tell me a long story " * 3))
        await conn.response.create()
        before = await recv_until(conn, "response.output_audio.delta")
        answer_id = before[-1].item_id
        heard = len(base64.b64decode(before[-1].delta))
        # the user barges in: speech, then enough silence to end the turn
        await conn.input_audio_buffer.append(audio=b64(tone_pcm16(300) + silence_pcm16(300)))
        events = await recv_until(conn, "response.done")
        heard += sum(
            len(base64.b64decode(e.delta))
            for e in events
            if e.type == "response.output_audio.delta"
        )
        types = [e.type for e in events]
        assert "input_audio_buffer.speech_started" in types
        cancelled = events[-1].response
        assert cancelled.status == "cancelled"
        assert cancelled.status_details.reason == "turn_detected"
        assert cancelled.output[0].status == "incomplete"
        after_start = types[types.index("input_audio_buffer.speech_started") :]
        assert "response.output_audio.delta" not in after_start

        played_ms = heard // 48 // 2
        await conn.conversation.item.truncate(
            item_id=answer_id, content_index=0, audio_end_ms=played_ms
        )
        truncated = (await recv_until(conn, "conversation.item.truncated"))[-1]
        assert truncated.audio_end_ms == played_ms
        await conn.conversation.item.retrieve(item_id=answer_id)
        retrieved = (await recv_until(conn, "conversation.item.retrieved"))[-1]
        assert len(base64.b64decode(retrieved.item.content[0].audio)) == played_ms * 48
        full = "please tell me a long story " * 3
        assert len(retrieved.item.content[0].transcript) < len(f"You said: {full}")
        # the barge-in turn then gets its own answer
        next_turn = await recv_until(conn, "response.done")
        assert next_turn[-1].response.status == "completed"


async def test_function_call_round_trip(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "tools": [CALCULATOR]})
        events = await ask(conn, "What is 12 times 7?")
        deltas = "".join(
            e.delta for e in events if e.type == "response.function_call_arguments.delta"
        )
        done = next(e for e in events if e.type == "response.function_call_arguments.done")
        assert done.name == "calculator"
        assert json.loads(done.arguments) == {"expression": "12*7"}
        assert deltas == done.arguments
        call = events[-1].response.output[0]
        assert call.type == "function_call"
        assert call.call_id == done.call_id

        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": done.call_id,
                "output": '{"result": 84}',
            }
        )
        added = await recv_until(conn, "conversation.item.done")
        assert added[-1].item.type == "function_call_output"
        await conn.response.create()
        answer = await recv_until(conn, "response.done")
    spoken = next(e for e in answer if e.type == "response.output_audio_transcript.done")
    assert spoken.transcript == "The answer is 84."


async def test_goodbye_calls_stop_conversation(client: AsyncOpenAI) -> None:
    stop_tool = {
        "type": "function",
        "name": "stop_conversation",
        "description": "End.",
        "parameters": {"type": "object", "properties": {}},
    }
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "tools": [stop_tool]})
        events = await ask(conn, "ok, bye!")
    output = events[-1].response.output
    assert [item.type for item in output] == ["message", "function_call"]
    assert output[1].name == "stop_conversation"
    indexes = [e.output_index for e in events if e.type == "response.output_item.added"]
    assert indexes == [0, 1]


async def test_client_secret_minting_and_use(emu: Emulator, client: AsyncOpenAI) -> None:
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 120},
        session={
            "type": "realtime",
            "instructions": "From the secret.",
            "output_modalities": ["text"],
        },
    )
    assert secret.value.startswith("ek_")
    assert secret.session.instructions == "From the secret."
    ephemeral = AsyncOpenAI(base_url=emu.base_url, api_key=secret.value)
    async with ephemeral.realtime.connect(model="gpt-realtime") as conn:
        created = (await recv_until(conn, "session.created"))[-1]
    assert created.session.instructions == "From the secret."
    assert created.session.output_modalities == ["text"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"expires_after": {"anchor": "created_at", "seconds": 5}}, "expires_after.seconds"),
        ({"expires_after": {"anchor": "created_at", "seconds": 7201}}, "expires_after.seconds"),
        ({"expires_after": {"anchor": "now", "seconds": 60}}, "expires_after.anchor"),
        ({"session": {"type": "realtime", "voice": "alloy"}}, "session.voice"),
    ],
)
async def test_client_secret_request_validation(
    client: AsyncOpenAI, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.realtime.client_secrets.create(**body)
    assert caught.value.body["param"] == param  # type: ignore[index]


async def test_expired_client_secret_is_refused(make_emulator: Callable[..., Any]) -> None:
    now = [1_000_000.0]
    emu = await make_emulator(clock=lambda: now[0])
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 10}
    )
    assert secret.expires_at == 1_000_010
    ephemeral = AsyncOpenAI(base_url=emu.base_url, api_key=secret.value)
    async with ephemeral.realtime.connect(model="gpt-realtime") as conn:
        await recv_until(conn, "session.created")
    now[0] += 11
    import websockets

    with pytest.raises(websockets.InvalidStatus) as refused:
        async with ephemeral.realtime.connect(model="gpt-realtime") as conn:
            await conn.recv()
    assert refused.value.response.status_code == 401
