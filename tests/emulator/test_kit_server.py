"""A second provider's emulator, built on the kit alone, and the ``emulator_server`` fixture.

``Echo`` is a toy wire (``{"say": text}`` in, ``{"kind": "answer", ...}`` frames out)
served by the kit's server base: the writer, the faults and the thread runner work for
it unchanged. The fixture finds emulators through a provider's registered
``local_server``: the real ``openai`` one, and ``Echo`` registered as ``echo``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import websockets
from aiohttp import web

from fullduplex.events import BidiTextInputEvent, BidiTranscriptStreamEvent
from fullduplex.registry import ModelRecord
from fullduplex_emulator import Faults, Frame, ScriptedResponder, Turn, TurnContext
from fullduplex_emulator.connection import Connection
from fullduplex_emulator.server import EmulatorServer
from fullduplex_emulator.thread import EmulatorThread


class EchoSession:
    """A toy sans-I/O session: each ``say`` gets the scripted brain's answer."""

    fail_responses = False
    idle_deadline = None

    def __init__(self) -> None:
        self.brain = ScriptedResponder()
        self.turns: list[Turn] = []

    def open(self) -> list[Frame]:
        return [Frame.of({"kind": "hello"}, "hello")]

    def handle(self, message: str | bytes | dict[str, Any]) -> list[Frame]:
        said = message.get("say") if isinstance(message, dict) else None
        self.turns.append(Turn("user", str(len(self.turns)), str(said)))
        reply = self.brain.respond(
            TurnContext(items=(), tools=(), instructions="", turns=tuple(self.turns))
        )
        return [Frame.of({"kind": "answer", "text": reply.text}, "answer")]

    def has_pending_output(self) -> bool:
        return False

    def next_response_id(self) -> str | None:
        return None

    def pump(self, max_frames: int = 64, max_audio_ms: int | None = None) -> list[Frame]:
        return []

    def tick(self, now: float | None = None) -> list[Frame]:
        return []

    def server_error_frame(self, message: str) -> Frame:
        return Frame.of({"kind": "error", "message": message}, "error")

    def session_expired_frame(self, message: str) -> Frame:
        return Frame.of({"kind": "expired", "message": message}, "expired")

    def malformed_frame(self) -> Frame:
        return Frame("<malformed>", b'{"kind": ')


class Echo(EmulatorServer):
    """The toy provider's emulator: one WebSocket route, no authentication."""

    @property
    def base_url(self) -> str:
        return f"ws://{self.host}:{self.port}/echo"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/echo", self._echo)

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(len(self.connections), request, ws, EchoSession(), self.faults, "echo")
        await self.serve(conn)
        return ws


async def _talk(url: str, *lines: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(10), websockets.connect(url) as ws:
        got.append(orjson.loads(await ws.recv()))
        for line in lines:
            await ws.send(orjson.dumps({"say": line}).decode())
            got.append(orjson.loads(await ws.recv()))
    return got


async def test_a_second_provider_runs_on_the_kit_unchanged() -> None:
    async with Echo() as echo:
        got = await _talk(echo.base_url, "what is 6 times 7?", "bye")
    assert [g["kind"] for g in got] == ["hello", "answer", "answer"]
    assert got[1]["text"] == "The answer is 42."
    assert got[2]["text"] == "Goodbye!"
    assert [f.type for f in echo.sent] == ["hello", "answer", "answer"]
    assert echo.received == [{"say": "what is 6 times 7?"}, {"say": "bye"}]


async def test_the_kit_writer_applies_faults_and_caps_to_any_wire() -> None:
    faulty = Echo(faults=Faults(server_error_after_events=1, drop_after_events=2))
    async with faulty, asyncio.timeout(10), websockets.connect(faulty.base_url) as ws:
        assert orjson.loads(await ws.recv())["kind"] == "hello"
        assert orjson.loads(await ws.recv())["kind"] == "error"
        await ws.send(orjson.dumps({"say": "hi"}).decode())
        assert orjson.loads(await ws.recv())["kind"] == "answer"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    capped = Echo(session_cap_s=0.2)
    async with capped, asyncio.timeout(10), websockets.connect(capped.base_url) as ws:
        await ws.recv()
        expired = orjson.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert expired == {
        "kind": "expired",
        "message": "Your session hit the maximum duration of 0.2 seconds.",
    }
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001


@contextmanager
def _echo_local_server() -> Iterator[Mapping[str, Any]]:
    with EmulatorThread(Echo()).start() as running:
        yield {"url": running.base_url}


def test_fixture_starts_a_provider_it_has_never_heard_of(
    emulator_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registration = ModelRecord("echo", object, "echo-plugin", None, local_server=_echo_local_server)
    monkeypatch.setattr("fullduplex.registry.model_registration", lambda name: (registration, None))
    running = emulator_server("echo")
    got = asyncio.run(_talk(running.connect_kwargs["url"], "hello there"))
    assert got[1]["text"] == "You said: hello there"


def test_fixture_refuses_a_provider_without_a_local_server(
    emulator_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registration = ModelRecord("cloud", object, "cloud-plugin", None)
    monkeypatch.setattr("fullduplex.registry.model_registration", lambda name: (registration, None))
    with pytest.raises(LookupError, match=r"'cloud'.*no local_server"):
        emulator_server("cloud")


async def test_fixture_starts_the_registered_openai_emulator(emulator_server: Any) -> None:
    model = emulator_server("openai/gpt-realtime").model(
        provider_config={"inference": {"output_modalities": ["text"]}}
    )
    await model.start(system_prompt="", tools=[], messages=[])
    try:
        await model.send(BidiTextInputEvent(text="what is 12 times 7?"))
        text = ""
        async with asyncio.timeout(20):
            async for event in model.receive():
                if isinstance(event, BidiTranscriptStreamEvent) and event.is_final:
                    text = event.text
                    break
    finally:
        await model.stop()
    # the embedded emulator speaks (its [speech] extra is in the test deps): numbers in words
    assert text == "The answer is eighty four."
