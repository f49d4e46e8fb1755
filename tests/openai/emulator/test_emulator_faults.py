"""Each injected fault, observed by a real client over loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import websockets

from conftest import KEY
from fullduplex_openai.emulator import Emulator, Faults

USER_HI = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
}


async def connect(emu: Emulator) -> websockets.ClientConnection:
    return await websockets.connect(
        emu.websocket_url + "?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {KEY}"},
    )


async def drain(ws: websockets.ClientConnection, timeout_s: float = 10) -> list[str | bytes]:
    """Every frame until the connection closes."""
    frames: list[str | bytes] = []
    async with asyncio.timeout(timeout_s):
        try:
            while True:
                frames.append(await ws.recv())
        except websockets.ConnectionClosed:
            return frames


async def start_turn(emu: Emulator) -> websockets.ClientConnection:
    ws = await connect(emu)
    await ws.send(json.dumps(USER_HI))
    await ws.send(json.dumps({"type": "response.create"}))
    return ws


@pytest.mark.parametrize("code", [1001, 1011, 4001])
async def test_drop_after_n_events_with_a_close_code(
    make_emulator: Callable[..., Any], code: int
) -> None:
    emu = await make_emulator(faults=Faults(drop_after_events=5, close_code=code))
    ws = await start_turn(emu)
    frames = await drain(ws)
    assert len(frames) == 5
    assert ws.close_code == code


async def test_drop_without_close_frame(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(faults=Faults(drop_after_events=3))
    ws = await start_turn(emu)
    frames = await drain(ws)
    assert len(frames) == 3
    assert ws.close_code == 1006  # abnormal closure: no close frame arrived


async def test_drop_at_event_type(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(
        faults=Faults(drop_at_event_type="response.output_audio.delta", close_code=1011)
    )
    ws = await start_turn(emu)
    types = [json.loads(f)["type"] for f in await drain(ws)]
    # the first transcript delta precedes the first audio chunk, which is never sent
    assert types[-2:] == ["response.content_part.added", "response.output_audio_transcript.delta"]
    assert "response.output_audio.delta" not in types
    assert ws.close_code == 1011


async def test_malformed_frame(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(faults=Faults(malformed_frame_after_events=1))
    ws = await connect(emu)
    async with asyncio.timeout(10):
        first = json.loads(await ws.recv())
        second = await ws.recv()
    await ws.close()
    assert first["type"] == "session.created"
    with pytest.raises(json.JSONDecodeError):
        json.loads(second)


async def test_server_error_event_keeps_the_session(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(faults=Faults(server_error_after_events=1))
    ws = await connect(emu)
    async with asyncio.timeout(10):
        await ws.recv()
        error = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        after = json.loads(await ws.recv())
    await ws.close()
    assert error["error"]["type"] == "server_error"
    assert after["type"] == "input_audio_buffer.cleared"


async def test_failed_responses(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(faults=Faults(fail_responses=True))
    ws = await start_turn(emu)
    async with asyncio.timeout(10):
        while (event := json.loads(await ws.recv()))["type"] != "response.done":
            assert not event["type"].startswith("response.output")
    await ws.close()
    assert event["response"]["status"] == "failed"


async def test_response_delay(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(faults=Faults(response_delay_s=0.5))
    ws = await start_turn(emu)
    async with asyncio.timeout(10):
        while json.loads(await ws.recv())["type"] != "response.created":
            pass
        created_at = time.monotonic()
        await ws.recv()  # the first output event, held back by the delay
        waited = time.monotonic() - created_at
        # read the rest: a client that stops reading cannot complete the close handshake
        while json.loads(await ws.recv())["type"] != "response.done":
            pass
    await ws.close()
    assert waited >= 0.45  # the delay is the behaviour under test


async def test_faults_can_change_on_a_live_connection(emu: Emulator) -> None:
    ws = await connect(emu)
    async with asyncio.timeout(10):
        assert json.loads(await ws.recv())["type"] == "session.created"
        await asyncio.sleep(0)
        emu.connections[0].faults = Faults(drop_at_event_type="response.created", close_code=1001)
        await ws.send(json.dumps({"type": "response.create"}))
        frames = await drain(ws)
    assert frames == []
    assert ws.close_code == 1001
    # a new connection gets the emulator-wide (empty) faults
    ws2 = await connect(emu)
    async with asyncio.timeout(10):
        assert json.loads(await ws2.recv())["type"] == "session.created"
    await ws2.close()


def test_faults_validate_their_settings() -> None:
    with pytest.raises(ValueError, match="close_code"):
        Faults(close_code=999)
    with pytest.raises(ValueError, match="drop_after_events"):
        Faults(drop_after_events=-1)
    with pytest.raises(ValueError, match="response_delay_s"):
        Faults(response_delay_s=-1)
