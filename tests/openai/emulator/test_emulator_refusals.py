"""Every refusal the service makes, made by the emulator too (real sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets

from conftest import KEY, recv_until
from fullduplex_openai.emulator import Emulator
from fullduplex_openai.emulator.synth import tone_pcm16
from openai import AsyncOpenAI


def ws_url(emu: Emulator) -> str:
    return emu.websocket_url + "?model=gpt-realtime"


async def recv_json(ws: websockets.ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        event: dict[str, Any] = json.loads(await ws.recv())
        return event


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic " + KEY}],
    ids=["no-auth", "wrong-key", "not-bearer"],
)
async def test_bad_auth_is_refused_with_401_and_json(
    emu: Emulator, headers: dict[str, str]
) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(emu), additional_headers=headers):
            pass
    response = refused.value.response
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["type"] == "invalid_request_error"
    assert "wrong-key" not in response.body.decode()
    assert emu.connections == []


async def test_browser_subprotocol_auth(emu: Emulator) -> None:
    async with websockets.connect(
        ws_url(emu),
        subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"],  # type: ignore[list-item]
    ) as ws:
        assert ws.subprotocol == "realtime"
        assert (await recv_json(ws))["type"] == "session.created"


@pytest.mark.parametrize(
    ("headers", "subprotocols"),
    [
        ({"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "realtime=v1"}, None),
        ({}, ["realtime", f"openai-insecure-api-key.{KEY}", "openai-beta.realtime-v1"]),
    ],
    ids=["header", "subprotocol"],
)
async def test_beta_shape_is_disabled(
    emu: Emulator, headers: dict[str, str], subprotocols: list[str] | None
) -> None:
    async with websockets.connect(
        ws_url(emu),
        additional_headers=headers,
        subprotocols=subprotocols,  # type: ignore[arg-type]
    ) as ws:
        error = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                await ws.recv()
    assert error["type"] == "error"
    assert error["error"]["code"] == "beta_api_shape_disabled"
    assert ws.close_code == 4000


async def request_error(client: AsyncOpenAI, *events: dict[str, Any]) -> Any:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await recv_until(conn, "session.created")
        for event in events:
            await conn.send(event)  # type: ignore[arg-type]
        return (await recv_until(conn, "error"))[-1].error


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"instructions": "hi"}, "missing_required_parameter", "session.type"),
        ({"type": "realtime", "voice": "alloy"}, "unknown_parameter", "session.voice"),
        ({"type": "realtime", "modalities": ["text"]}, "unknown_parameter", "session.modalities"),
        ({"type": "realtime", "temperature": 0.7}, "unknown_parameter", "session.temperature"),
        (
            {"type": "realtime", "audio": {"input": {"format": "pcm16"}}},
            "invalid_value",
            "session.audio.input.format",
        ),
        (
            {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm"}}}},
            "missing_required_parameter",
            "session.audio.output.format.rate",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_ms": 5}}},
            },
            "unknown_parameter",
            "session.audio.input.turn_detection.silence_ms",
        ),
        (
            {"type": "realtime", "output_modalities": ["audio", "text"]},
            "invalid_value",
            "session.output_modalities",
        ),
        ({"type": "session"}, "invalid_value", "session.type"),
    ],
)
async def test_bad_session_update(
    emu: Emulator, client: AsyncOpenAI, session: dict[str, Any], code: str, param: str
) -> None:
    error = await request_error(
        client, {"type": "session.update", "event_id": "evt_1", "session": session}
    )
    assert (error.code, error.param) == (code, param)
    assert error.event_id == "evt_1"
    assert not any(f.type == "session.updated" for f in emu.sent)


async def test_second_active_response_is_refused(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(realtime=True)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.response.create()
        created = (await recv_until(conn, "response.created"))[-1]
        await conn.response.create()
        error = (await recv_until(conn, "error"))[-1].error
        assert error.code == "conversation_already_has_active_response"
        assert created.response.id in error.message
        await conn.response.cancel()
        done = (await recv_until(conn, "response.done"))[-1].response
        assert (done.status, done.status_details.reason) == ("cancelled", "client_cancelled")
        await conn.response.cancel()
        again = (await recv_until(conn, "error"))[-1].error
        assert again.code == "response_cancel_not_active"


async def test_truncate_past_the_end_is_refused(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.response.create()
        events = await recv_until(conn, "response.done")
        item = events[-1].response.output[0]
        audio_ms = (
            sum(
                len(base64.b64decode(e.delta))
                for e in events
                if e.type == "response.output_audio.delta"
            )
            // 48
        )
        await conn.conversation.item.truncate(
            item_id=item.id, content_index=0, audio_end_ms=audio_ms + 500
        )
        error = (await recv_until(conn, "error"))[-1].error
        assert (
            error.message
            == f"Audio content of {audio_ms}ms is already shorter than {audio_ms + 500}ms"
        )
        await conn.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item.id,
                "content_index": 0,
                "audio_end_ms": 10.5,
            }
        )  # type: ignore[arg-type]
        error = (await recv_until(conn, "error"))[-1].error
        assert error.param == "audio_end_ms"
        assert error.code == "invalid_type"
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "x"}],
            }
        )
        user = (await recv_until(conn, "conversation.item.done"))[-1].item
        await conn.conversation.item.truncate(item_id=user.id, content_index=0, audio_end_ms=0)
        error = (await recv_until(conn, "error"))[-1].error
        assert error.message == "Only model output audio messages can be truncated"
        await conn.conversation.item.truncate(item_id="item_nope", content_index=0, audio_end_ms=0)
        error = (await recv_until(conn, "error"))[-1].error
        assert error.code == "item_not_found"


async def test_commit_under_100ms_is_refused(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        )
        await conn.input_audio_buffer.append(audio=base64.b64encode(tone_pcm16(60)).decode())
        await conn.input_audio_buffer.commit()
        error = (await recv_until(conn, "error"))[-1].error
        assert error.code == "input_audio_buffer_commit_empty"
        assert "buffer only has 60.00ms of audio" in error.message
        await conn.input_audio_buffer.append(audio=base64.b64encode(tone_pcm16(60)).decode())
        await conn.input_audio_buffer.commit()
        committed = await recv_until(conn, "conversation.item.done")
        assert committed[0].type == "input_audio_buffer.committed"
        assert not any(e.type == "response.created" for e in committed)


async def test_session_cap_sends_session_expired_then_closes_1001(
    make_emulator: Callable[..., Any],
) -> None:
    emu = await make_emulator(session_cap_s=0.3)
    async with websockets.connect(
        ws_url(emu), additional_headers={"Authorization": f"Bearer {KEY}"}
    ) as ws:
        assert (await recv_json(ws))["type"] == "session.created"
        error = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed):
            await recv_json(ws)
    assert error["error"]["code"] == "session_expired"
    assert error["error"]["message"] == "Your session hit the maximum duration of 0.3 seconds."
    assert ws.close_code == 1001


async def test_http_get_without_upgrade_is_a_json_400(emu: Emulator) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.get(
            emu.base_url + "/realtime", headers={"Authorization": f"Bearer {KEY}"}
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["message"] == "Expected a WebSocket upgrade."
