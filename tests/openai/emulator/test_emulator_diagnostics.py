"""What the emulator tells whoever runs it: every refusal logged, and the wire recorded.

A refused client event is otherwise visible only to the client, as an ``error``
event; someone debugging their own client runs ``fullduplex emulator -v`` to see
each refusal with its event type and the field at fault, and ``--record FILE``
to keep both directions of the conversation as JSON lines.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import KEY, assert_valid_server_events, recv_until
from openai import AsyncOpenAI, OpenAI

LOGGER = "fullduplex_openai.emulator"


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "refused" in r.message]


async def test_every_refused_event_is_logged_with_its_type_and_field(
    make_emulator: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu = await make_emulator()
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await recv_until(conn, "session.created")
        await conn.send(
            {  # type: ignore[arg-type]
                "type": "conversation.item.truncate",
                "event_id": "evt_mine",
                "item_id": "item_x",
                "content_index": 0,
                "audio_end_ms": -5,
            }
        )
        await conn.send({"type": "response.create", "response": {"modalities": ["text"]}})  # type: ignore[typeddict-unknown-key]
        await recv_until(conn, "error")
        await recv_until(conn, "error")
    truncate, create = _refusals(caplog)
    assert "refused conversation.item.truncate" in truncate
    assert "field item_id" in truncate
    assert "evt_mine" in truncate
    assert "refused response.create" in create
    assert "field response.modalities" in create


async def test_refused_http_requests_are_logged_and_keys_are_not(
    make_emulator: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu = await make_emulator()
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{emu.base_url}/realtime/client_secrets",
            headers={"Authorization": "Bearer sk-wrong-key-never-logged"},
        )
        assert response.status == 401
    (line,) = _refusals(caplog)
    assert "POST /v1/realtime/client_secrets (401)" in line
    assert "invalid_api_key" in line
    assert "sk-wrong" not in caplog.text


async def test_record_file_holds_both_directions_in_order(
    make_emulator: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "wire.jsonl"
    emu = await make_emulator(record_file=path)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await recv_until(conn, "session.created")
        await conn.send({"type": "input_audio_buffer.commit"})
        await recv_until(conn, "error")
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            }
        )
        await conn.response.create()
        await recv_until(conn, "response.done")
    await emu.stop()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["connection"] for line in lines} == {0}
    flow = [(line["direction"], line["event"]["type"]) for line in lines]
    assert flow[:3] == [
        ("server", "session.created"),
        ("client", "input_audio_buffer.commit"),
        ("server", "error"),
    ]
    assert ("client", "response.create") in flow
    assert flow[-2:] == [("server", "response.done"), ("server", "rate_limits.updated")]
    server = [line["event"] for line in lines if line["direction"] == "server"]
    assert server == emu.sent_events
    assert_valid_server_events(server)
    assert all(isinstance(line["t"], float) for line in lines)


def test_cli_logs_refusals_with_v_and_records_with_record(tmp_path: Path) -> None:
    path = tmp_path / "cli-wire.jsonl"
    command = [
        sys.executable,
        "-m",
        "fullduplex_openai.emulator",
        "--port",
        "0",
        "--fast",
        "--api-key",
        "cli-key",
        "-v",
        "--record",
        str(path),
    ]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        with OpenAI(base_url=url, api_key="cli-key").realtime.connect(model="gpt-realtime") as conn:
            assert conn.recv().type == "session.created"
            conn.send({"type": "response.cancel"})
            assert conn.recv().type == "error"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "INFO fullduplex_openai.emulator: " in err
    assert "refused response.cancel: field -: Cancellation failed" in err
    assert "response_cancel_not_active" in err
    directions = [json.loads(line)["direction"] for line in path.read_text().splitlines()]
    assert directions == ["server", "client", "server"]
