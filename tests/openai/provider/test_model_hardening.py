"""Issue 10 at the model: real websockets over loopback (the emulator or a raw server)."""

from __future__ import annotations

import asyncio
import http
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from openai_raw_server import RawServer, answer, frame
from test_model_emulator import KEY, collect_until, is_complete
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from fullduplex import BidiAgent
from fullduplex.errors import (
    ConfigurationError,
    EventError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelProtocolError,
)
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiOutputEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
)
from fullduplex.testing import RecordingOutput, ScriptedInput
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.audio_convert import InputAudioConverter
from fullduplex_openai.emulator import Emulator, Faults

Factory = Callable[..., BidiOpenAIRealtimeModel]


def raw_model(server: RawServer, **client: Any) -> BidiOpenAIRealtimeModel:
    return BidiOpenAIRealtimeModel(
        client_config={"api_key": KEY, "base_url": server.base_url, **client}
    )


def finals(events: list[BidiOutputEvent]) -> list[str]:
    return [
        e.text
        for e in events
        if isinstance(e, BidiTranscriptStreamEvent) and e.is_final and e.role == "assistant"
    ]


# ---------------------------------------------- 1: a response.create left unanswered


async def test_an_unanswered_response_create_does_not_block_later_turns() -> None:
    creates = 0

    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        nonlocal creates
        if event["type"] == "response.create":
            creates += 1
            if creates > 1:  # the first one is silently lost
                await answer(ws, f"resp_{creates}", "second answer")

    async with RawServer(script) as server:
        model = raw_model(server, response_start_timeout_s=0.3)
        await model.start()
        try:
            await model.send(BidiTextInputEvent("one"))
            async with asyncio.timeout(5):  # the timer gives the request up (0.3 s)
                while model.answer_pending:
                    await asyncio.sleep(0.02)
            await model.send(BidiTextInputEvent("two"))
            seen = await collect_until(model, is_complete)
        finally:
            await model.stop()
    assert creates == 2
    assert finals(seen) == ["second answer"]
    # the user was told, with the next events the stream delivered
    assert [e.code for e in seen if isinstance(e, BidiErrorEvent)] == ["response_timeout"]


async def test_an_error_without_event_id_refuses_the_create(make_model: Factory) -> None:
    creates = 0

    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        nonlocal creates
        if event["type"] == "response.create":
            creates += 1
            if creates == 1:
                await ws.send(
                    frame(type="error", error={"type": "invalid_request_error", "message": "no"})
                )
            else:
                await answer(ws, "resp_2", "answered")

    async with RawServer(script) as server:
        model = raw_model(server)
        await model.start()
        try:
            await model.send(BidiTextInputEvent("one"))
            seen = await collect_until(model, lambda e: isinstance(e, BidiErrorEvent))
            await model.send(BidiTextInputEvent("two"))
            await collect_until(model, is_complete, seen)
        finally:
            await model.stop()
    assert creates == 2


# ---------------------------------------------- 2: lines typed during an answer


class FirstAudioGate(RecordingOutput):
    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__()
        self.gate = gate

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if isinstance(event, BidiAudioStreamEvent):
            self.gate.set()


async def test_every_line_sent_during_a_streaming_answer_is_answered_in_order() -> None:
    streaming = asyncio.Event()
    output = FirstAudioGate(streaming)
    async with Emulator(api_key=KEY, port=0, pace=0.2) as emu:
        model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
        agent = BidiAgent(model=model)
        lines = ScriptedInput(["one", streaming, "two", "three", "four"])
        async with asyncio.timeout(30):
            await agent.run(inputs=[lines], outputs=[output])
        kinds = [e["type"] for e in emu.received]
    spoken = [
        e.text for e in output.of(BidiTranscriptStreamEvent) if e.is_final and e.role == "assistant"
    ]
    assert spoken == ["You said: one", "You said: two", "You said: three", "You said: four"]
    assert kinds.count("response.create") == 4


# ---------------------------------------------- 3: a close the client did not ask for


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1012, 4500])
async def test_an_unrequested_close_mid_answer_is_restartable(
    emu: Emulator, make_model: Factory, code: int
) -> None:
    emu.faults = Faults(drop_at_event_type="response.output_audio.delta", close_code=code)
    model = make_model()
    await model.start()
    try:
        await model.send(BidiTextInputEvent("hello"))
        with pytest.raises(ModelConnectionError) as info:
            await collect_until(model, is_complete)
    finally:
        await model.stop()
    assert info.value.restartable
    assert info.value.code == "closed_by_server"
    assert str(code) in str(info.value)


# ---------------------------------------------- 5: one response.create per tool batch


async def test_a_replayed_partial_batch_asks_for_one_answer_after_the_last_result(
    emu: Emulator, make_model: Factory
) -> None:
    """The drop fell between two results: c1's result is in the history, c2 still runs."""
    history: list[Any] = [
        {"role": "user", "content": [{"text": "add and multiply"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c1", "name": "add"}}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c2", "name": "mul"}}]},
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "c1", "content": [{"text": "3"}]}}],
        },
    ]
    model = make_model()
    await model.start(messages=history)
    try:
        await asyncio.sleep(0.2)  # a premature response.create would have been sent by now
        assert [e["type"] for e in emu.received].count("response.create") == 0
        assert model.answer_pending  # still owed: the batch's answer
        await model.send(ToolResultEvent("c2", "mul", "2"))
        await collect_until(model, is_complete)
    finally:
        await model.stop()
    kinds = [e["type"] for e in emu.received]
    assert kinds.count("response.create") == 1
    assert kinds.index("response.create") > max(
        i for i, k in enumerate(kinds) if k == "conversation.item.create"
    )


# ---------------------------------------------- 8: keepalive settings


async def test_ping_settings_detect_a_silent_peer() -> None:
    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        ws.transport.pause_reading()  # alive but deaf: pings go unanswered

    async with RawServer(script) as server:
        model = raw_model(server, ping_interval_s=0.2, ping_timeout_s=0.2)
        await model.start()
        try:
            await model.send(BidiTextInputEvent("anyone?"))

            async def drain() -> None:
                # 0.4 s to notice, 2 s for the close handshake; the default would wait 40 s
                async with asyncio.timeout(8):
                    async for _ in model.receive():
                        pass

            with pytest.raises(ModelConnectionError):
                await drain()
        finally:
            await model.stop()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ping_interval_s", 0),
        ("ping_interval_s", -1),
        ("ping_timeout_s", 0),
        ("ping_interval_s", "often"),
        ("max_frame_bytes", 0),
        ("max_frame_bytes", 1.5),
        ("response_start_timeout_s", 0),
    ],
)
def test_connection_settings_are_validated(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"client_config.{field}") as info:
        BidiOpenAIRealtimeModel(client_config={"api_key": KEY, field: value})
    assert "unknown field" not in str(info.value)


def test_keepalive_can_be_disabled() -> None:
    BidiOpenAIRealtimeModel(
        client_config={"api_key": KEY, "ping_interval_s": None, "ping_timeout_s": None}
    )


# ---------------------------------------------- 9: a key provider


@pytest.mark.parametrize("is_async", [False, True])
async def test_api_key_callable_is_called_on_every_connect(
    emu: Emulator, is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = 0

    def sync_key() -> str:
        nonlocal calls
        calls += 1
        return KEY

    async def async_key() -> str:
        return sync_key()

    model = BidiOpenAIRealtimeModel(
        client_config={"api_key": async_key if is_async else sync_key, "base_url": emu.base_url}
    )
    assert calls == 0  # not at construction
    for _ in range(2):
        await model.start()
        await model.stop()
    assert calls == 2
    assert KEY not in caplog.text


async def test_a_key_provider_returning_a_bad_key_fails_clearly(emu: Emulator) -> None:
    model = BidiOpenAIRealtimeModel(
        client_config={"api_key": lambda: "sk-expired-123456", "base_url": emu.base_url}
    )
    with pytest.raises(ModelAuthenticationError) as info:
        await model.start()
    assert "sk-expired-123456" not in str(info.value)
    broken = BidiOpenAIRealtimeModel(
        client_config={"api_key": lambda: 42, "base_url": emu.base_url}
    )
    with pytest.raises(ConfigurationError, match=r"client_config.api_key"):
        await broken.start()


# ---------------------------------------------- 13: stop() while an answer streams


async def test_stop_while_an_answer_streams_is_quick() -> None:
    """The consumer stopped reading, so the socket's buffers are full and the
    server's close frame cannot be read: stop() must not wait the 5 s close timeout."""
    async with Emulator(api_key=KEY, port=0) as emu:
        model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
        await model.start()
        await model.send(BidiTextInputEvent("please tell me a long story about the sea " * 25))
        await collect_until(model, lambda e: isinstance(e, BidiAudioStreamEvent))
        started = time.monotonic()
        async with asyncio.timeout(10):
            await model.stop()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"stop() took {elapsed:.2f} s"


# ---------------------------------------------- 15: frames of the wrong shape


async def test_wrongly_shaped_frames_are_error_events_and_the_answer_still_comes() -> None:
    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        if event["type"] != "response.create":
            return
        for bad in ("[1,2]", '"str"', "null", "{not json", frame(type="error", error="down")):
            await ws.send(bad)
        await ws.send(frame(type="response.output_audio.delta", response_id="r", item_id="i"))
        await ws.send(frame(type="response.output_audio.delta", delta="@@", item_id="i"))
        await ws.send(frame(type="input_audio_buffer.speech_started", audio_start_ms="x"))
        await answer(ws, "r", "still here")

    async with RawServer(script) as server:
        model = raw_model(server)
        await model.start()
        try:
            await model.send(BidiTextInputEvent("hi"))
            events = await collect_until(model, is_complete)
        finally:
            await model.stop()
    errors = [e for e in events if isinstance(e, BidiErrorEvent)]
    assert len(errors) == 8
    assert [e.code for e in errors].count("malformed_event") == 7
    assert "delta" in errors[5].message
    assert "audio_start_ms" in errors[7].message
    assert finals(events) == ["still here"]


# ---------------------------------------------- 16: incoming frame size cap


async def test_an_oversize_frame_is_a_clear_error_naming_the_setting() -> None:
    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        if event["type"] == "response.create":
            await ws.send(frame(type="response.output_text.delta", delta="x" * 200_000))

    async with RawServer(script) as server:
        model = raw_model(server, max_frame_bytes=65536)
        await model.start()
        try:
            await model.send(BidiTextInputEvent("hi"))
            with pytest.raises(ModelProtocolError, match=r"client_config\['max_frame_bytes'\]"):
                await collect_until(model, is_complete)
        finally:
            await model.stop()


# ---------------------------------------------- 18: odd-length PCM16 at the wire rate


@pytest.mark.parametrize("rate", [24000, 16000])
def test_odd_length_pcm16_is_refused_at_every_rate(rate: int) -> None:
    converter = InputAudioConverter("pcm16", 24000)
    with pytest.raises(EventError, match="audio"):
        converter.convert(BidiAudioInputEvent(b"\x00\x01\x02", rate, 1, "pcm16"))


# ---------------------------------------------- 19: the config arguments themselves


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"provider_config": "abc"}, "provider_config"),
        ({"provider_config": [("audio", {})]}, "provider_config"),
        ({"client_config": 5}, "client_config"),
        ({"client_config": "api_key=x"}, "client_config"),
        ({"model_id": 5}, "model_id"),
    ],
)
def test_config_arguments_of_the_wrong_type_name_the_argument(
    kwargs: dict[str, Any], name: str
) -> None:
    kwargs.setdefault("client_config", {"api_key": KEY})
    with pytest.raises(ConfigurationError, match=name):
        BidiOpenAIRealtimeModel(**kwargs)


# ---------------------------------------------- 21: secrets in server text


def echo_the_key(connection: ServerConnection, request: Request) -> Response:
    auth = request.headers.get("Authorization", "")
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {auth}"}})
    return connection.respond(http.HTTPStatus.UNAUTHORIZED, body)


async def test_a_401_body_echoing_the_key_is_redacted() -> None:
    secret = "my-org-key-0123456789"
    async with RawServer(gate=echo_the_key) as server:
        for key in (secret, "sk-proj-abcdef0123456789"):
            model = BidiOpenAIRealtimeModel(
                client_config={"api_key": key, "base_url": server.base_url}
            )
            with pytest.raises(ModelAuthenticationError) as info:
                await model.start()
            assert "Incorrect API key provided" in str(info.value)
            assert key not in str(info.value)


async def test_a_close_reason_echoing_the_key_is_redacted() -> None:
    secret = "my-org-key-0123456789"

    async def script(ws: ServerConnection, event: dict[str, Any]) -> None:
        await ws.close(1011, f"boom for {secret}")

    async with RawServer(script) as server:
        model = BidiOpenAIRealtimeModel(
            client_config={"api_key": secret, "base_url": server.base_url}
        )
        await model.start()
        try:
            await model.send(BidiTextInputEvent("hi"))
            with pytest.raises(ModelConnectionError) as info:
                await collect_until(model, is_complete)
        finally:
            await model.stop()
    assert "boom for" in str(info.value)
    assert secret not in str(info.value)


async def test_a_client_secret_error_body_echoing_the_key_is_redacted() -> None:
    from aiohttp import web

    from fullduplex.errors import ModelError
    from fullduplex_openai import create_client_secret

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text=f"upstream said: {request.headers['Authorization']}")

    app = web.Application()
    app.router.add_post("/v1/realtime/client_secrets", fail)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with pytest.raises(ModelError) as info:
            await create_client_secret(
                api_key="my-org-key-0123456789", base_url=f"http://127.0.0.1:{port}/v1"
            )
    finally:
        await runner.cleanup()
    assert "upstream said" in str(info.value)
    assert "my-org-key-0123456789" not in str(info.value)
