"""Running the emulator: from a thread, from the CLI, paced; the responder's arithmetic."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
import websockets

from conftest import KEY, ask, assert_valid_server_events, recv_until
from fullduplex_emulator.arithmetic import evaluate, find_arithmetic
from fullduplex_openai.emulator import (
    Emulator,
    FunctionCall,
    Reply,
    Responder,
    TurnContext,
)
from openai import AsyncOpenAI, OpenAI


def test_emulator_thread_serves_synchronous_clients() -> None:
    emulator = Emulator(api_key=KEY)
    with emulator.start_in_thread() as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        client = OpenAI(base_url=emu.base_url, api_key=KEY)
        with client.realtime.connect(model="gpt-realtime") as conn:
            assert conn.recv().type == "session.created"
    assert_valid_server_events(emulator.sent_events)
    with pytest.raises(OSError), websockets.sync.client.connect(emu.websocket_url):  # type: ignore[attr-defined]
        pass


class ToolEverything(Responder):
    """A custom responder: always calls ``lookup`` with the user's words."""

    def respond(self, context: TurnContext) -> Reply:
        last = context.items[-1]
        words = last["content"][0].get("text", "") if last.get("type") == "message" else ""
        return Reply("Let me look.", (FunctionCall("lookup", json.dumps({"q": words})),))


async def test_custom_responder(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(responder=ToolEverything())
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        done = (await ask(conn, "tea"))[-1].response
    assert done.output[0].content[0].transcript == "Let me look."
    assert json.loads(done.output[1].arguments) == {"q": "tea"}


async def test_realtime_pacing_streams_audio_no_faster_than_it_plays(
    make_emulator: Callable[..., Any],
) -> None:
    emu = await make_emulator(pace=1.0)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    loop = asyncio.get_running_loop()
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.response.create()
        first = await recv_until(conn, "response.output_audio.delta")
        start = loop.time()
        rest = await recv_until(conn, "response.done")
        elapsed = loop.time() - start
    deltas = [e for e in first + rest if e.type == "response.output_audio.delta"]
    audio_s = sum(len(e.delta) * 3 // 4 for e in deltas) / 48_000
    # pacing is the behaviour here: everything after the first chunk takes its play time
    assert elapsed >= (audio_s - 0.05) * 0.9


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("What is 12 times 7?", "12*7", 84),
        ("2+2", "2+2", 4),
        ("what's 9 divided by 3", "9/3", 3),
        ("how much is 10 minus 2.5", "10-2.5", Fraction(15, 2)),
        ("3 x 4 plus 1", "3*4+1", 13),
        ("tell me a joke", None, None),
    ],
)
def test_arithmetic_questions(question: str, expression: str | None, value: Any) -> None:
    assert find_arithmetic(question) == expression
    if expression is not None:
        assert evaluate(expression) == value


def test_evaluate_refuses_anything_but_arithmetic() -> None:
    with pytest.raises(ValueError, match="not simple arithmetic"):
        evaluate("__import__('os')")
    with pytest.raises(ValueError, match="cannot evaluate"):
        evaluate("1/0")


def test_cli_prints_url_and_key_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-real-key-must-not-appear"}
    command = [
        sys.executable,
        "-m",
        "fullduplex_openai.emulator",
        "--port",
        "0",
        "--fast",
        "--api-key",
        "cli-key",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        lines = [first] + [proc.stdout.readline() for _ in range(3)]
        url = first.rsplit(" ", 1)[-1].strip()
        client = OpenAI(base_url=url, api_key="cli-key")
        with client.realtime.connect(model="gpt-realtime") as conn:
            assert conn.recv().type == "session.created"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    text = "".join(lines) + out
    assert url.startswith("http://127.0.0.1:")
    assert "cli-key" in text
    assert "sk-real-key" not in text + err
    assert proc.returncode == 0
    assert "Emulator stopped." in err
