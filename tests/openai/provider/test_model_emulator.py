"""BidiOpenAIRealtimeModel against the emulator over real loopback websockets."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from fullduplex.errors import ModelAuthenticationError, ModelConnectionError, ModelTimeoutError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiConnectionStartEvent,
    BidiErrorEvent,
    BidiImageInputEvent,
    BidiInterruptionEvent,
    BidiLatencyEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.tools import ToolSpec
from fullduplex_openai import BidiOpenAIRealtimeModel, create_client_secret
from fullduplex_openai.emulator import (
    DefaultResponder,
    Emulator,
    Faults,
    FunctionCall,
    Reply,
    Responder,
    TurnContext,
)
from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16

KEY = "emu-key-DO-NOT-LOG-4242"  # the key of the conftest's emulator

Factory = Callable[..., BidiOpenAIRealtimeModel]


async def collect_until(
    model: BidiOpenAIRealtimeModel,
    done: Callable[[BidiOutputEvent], bool],
    seen: list[BidiOutputEvent] | None = None,
) -> list[BidiOutputEvent]:
    events: list[BidiOutputEvent] = [] if seen is None else seen
    async with asyncio.timeout(10):
        async for event in model.receive():
            events.append(event)
            if done(event):
                return events
    raise AssertionError(f"stream ended early: {[e.type for e in events]}")


def is_complete(event: BidiOutputEvent) -> bool:
    return isinstance(event, BidiResponseCompleteEvent)


async def test_text_turn(emu: Emulator, make_model: Factory) -> None:
    model = make_model()
    await model.start(system_prompt="Be brief.")
    try:
        await model.send(BidiTextInputEvent("hello there"))
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    assert isinstance(events[0], BidiConnectionStartEvent)
    assert events[0].connection_id.startswith("sess_")
    finals = [e for e in events if isinstance(e, BidiTranscriptStreamEvent) and e.is_final]
    assert [(e.role, e.text) for e in finals] == [("assistant", "You said: hello there")]
    audio = [e for e in events if isinstance(e, BidiAudioStreamEvent)]
    assert audio
    assert all(e.item_id == finals[0].item_id for e in audio)
    assert events[-1] == BidiResponseCompleteEvent(events[-1].response_id, "complete")
    types = [e["type"] for e in emu.received]
    assert types[:1] == ["session.update"]
    assert types.count("response.create") == 1
    update: dict[str, Any] = emu.received[0]["session"]
    assert update["instructions"] == "Be brief."
    conn = emu.connections[0]
    assert "OpenAI-Beta" not in conn.request.headers


# ------------------------------------------------------------------- audio turns


def speech(ms: int) -> bytes:
    return tone_pcm16(ms)


async def send_audio(model: BidiOpenAIRealtimeModel, pcm: bytes, rate: int = 24000) -> None:
    step = rate * 2 // 10  # 100 ms chunks
    for start in range(0, len(pcm), step):
        await model.send(BidiAudioInputEvent(pcm[start : start + step], sample_rate=rate))


async def test_audio_turn_with_server_vad(emu: Emulator, make_model: Factory) -> None:
    emu.responder = DefaultResponder(["what is the weather"])
    model = make_model(
        {"inference": {"audio": {"input": {"transcription": {"model": "whisper-1"}}}}}
    )
    await model.start()
    try:
        await send_audio(model, speech(600) + silence_pcm16(800))
        events = await collect_until(model, is_complete)
        # the user transcript may come after the answer: wait for it too
        if not any(
            isinstance(e, BidiTranscriptStreamEvent) and e.role == "user" and e.is_final
            for e in events
        ):
            await collect_until(
                model,
                lambda e: (
                    isinstance(e, BidiTranscriptStreamEvent) and e.role == "user" and e.is_final
                ),
                events,
            )
    finally:
        await model.stop()
    speech_events = [e for e in events if isinstance(e, BidiSpeechEvent)]
    assert [e.state for e in speech_events] == ["started", "stopped"]
    user = [
        e
        for e in events
        if isinstance(e, BidiTranscriptStreamEvent) and e.role == "user" and e.is_final
    ]
    assert [e.text for e in user] == ["what is the weather"]
    assert user[0].item_id == speech_events[0].item_id
    assert any(
        isinstance(e, BidiLatencyEvent) and e.metric == "speech_end_to_first_audio" for e in events
    )
    assert any(isinstance(e, BidiAudioStreamEvent) for e in events)
    appended = [e for e in emu.received if e["type"] == "input_audio_buffer.append"]
    assert len(appended) == 14
    assert not any(e["type"] == "response.create" for e in emu.received)  # VAD made the response


async def test_audio_at_16k_is_resampled_to_24k(emu: Emulator, make_model: Factory) -> None:
    model = make_model({"audio": {"input_rate": 16000, "output_rate": 16000}})
    assert model.capabilities.output_sample_rate == 16000
    await model.start()
    try:
        pcm16k = silence_pcm16(1000)[: 16000 * 2]  # one second at 16 kHz
        await send_audio(model, pcm16k, rate=16000)
        await model.send(BidiTextInputEvent("hi"))
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    appended = [e for e in emu.received if e["type"] == "input_audio_buffer.append"]
    total = sum(len(base64.b64decode(e["audio"])) for e in appended)
    assert 0.9 * 48000 <= total <= 48000  # ~1 s at 24 kHz mono (the filter holds a tail)
    audio = [e for e in events if isinstance(e, BidiAudioStreamEvent)]
    assert audio
    assert all(e.sample_rate == 16000 for e in audio)


async def test_barge_in_is_reported_as_a_fact_and_truncate_is_sent_as_asked(
    emu: Emulator, make_model: Factory
) -> None:
    # The provider reports that the user started speaking; whether that cut the
    # answer short (and how much was heard) is the agent's decision, so the
    # model alone emits no interruption and sends the truncate as asked, tagged.
    model = make_model()
    await model.start()
    try:
        await model.send(BidiTextInputEvent("tell me a long story about the sea and the ships"))
        events = await collect_until(model, is_complete)
        item_id = next(e.item_id for e in events if isinstance(e, BidiAudioStreamEvent))
        await send_audio(model, speech(400) + silence_pcm16(600))
        events = await collect_until(
            model, lambda e: isinstance(e, BidiSpeechEvent) and e.state == "started"
        )
        assert not any(isinstance(e, BidiInterruptionEvent) for e in events)
        await model.send(BidiAudioTruncateEvent(item_id, 700))
        await collect_until(model, is_complete)  # the answer to the barge-in
    finally:
        await model.stop()
    truncates = [e for e in emu.received if e["type"] == "conversation.item.truncate"]
    assert truncates == [
        {
            "type": "conversation.item.truncate",
            "event_id": "fd_item_truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 700,
        }
    ]
    truncated = [e for e in emu.sent_events if e["type"] == "conversation.item.truncated"]
    assert truncated
    assert truncated[0]["audio_end_ms"] == 700
    assert not [e for e in emu.sent_events if e["type"] == "error"]


# ------------------------------------------------------------------------- tools


class TwoCalls(Responder):
    def respond(self, context: TurnContext) -> Reply:
        last = context.items[-1] if context.items else {}
        if last.get("type") == "function_call_output":
            outputs = [
                i["output"] for i in context.items if i.get("type") == "function_call_output"
            ]
            return Reply("Results: " + ", ".join(outputs))
        return Reply(
            "Let me check both.",
            (
                FunctionCall("lookup", '{"city": "Paris"}'),
                FunctionCall("lookup", '{"city": "Oslo"}'),
            ),
        )


LOOKUP = ToolSpec(
    "lookup",
    "Weather of a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


async def test_two_parallel_tool_calls_get_a_single_response_create(
    emu: Emulator, make_model: Factory
) -> None:
    emu.responder = TwoCalls()
    model = make_model()
    await model.start(tools=[LOOKUP])
    try:
        await model.send(BidiTextInputEvent("weather in Paris and Oslo?"))
        events = await collect_until(model, is_complete)
        calls = [e for e in events if isinstance(e, ToolUseStreamEvent) and e.is_final]
        assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
        assert events[-1].stop_reason == "tool_use"  # type: ignore[union-attr]
        # answer the second call first, with a pause between the two results
        await model.send(ToolResultEvent(calls[1].call_id, "lookup", "cold"))
        await asyncio.sleep(0.05)
        assert sum(e["type"] == "response.create" for e in emu.received) == 1
        await model.send(ToolResultEvent(calls[0].call_id, "lookup", "mild"))
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    finals = [e.text for e in events if isinstance(e, BidiTranscriptStreamEvent) and e.is_final]
    assert finals == ["Results: cold, mild"]
    types = [e["type"] for e in emu.received]
    assert types.count("response.create") == 2  # the user's turn, then one for both results
    assert types[-1] == "response.create"
    assert not [e for e in emu.sent_events if e["type"] == "error"]
    assert emu.received[0]["session"]["tools"][0]["name"] == "lookup"


# ----------------------------------------------------------------------- errors


async def test_server_error_is_an_event_and_the_conversation_goes_on(
    emu: Emulator, make_model: Factory
) -> None:
    emu.faults = Faults(server_error_after_events=2)
    model = make_model()
    await model.start()
    try:
        await model.send(BidiTextInputEvent("first"))
        events = await collect_until(model, is_complete)
        await model.send(BidiTextInputEvent("second"))
        events += await collect_until(model, is_complete)
    finally:
        await model.stop()
    errors = [e for e in events if isinstance(e, BidiErrorEvent)]
    assert len(errors) == 1
    assert errors[0].code is not None or errors[0].message
    finals = [e.text for e in events if isinstance(e, BidiTranscriptStreamEvent) and e.is_final]
    assert finals == ["You said: first", "You said: second"]


async def test_wrong_key_fails_with_a_clear_error(emu: Emulator) -> None:
    model = BidiOpenAIRealtimeModel(client_config={"api_key": "sk-wrong", "base_url": emu.base_url})
    with pytest.raises(ModelAuthenticationError, match="OPENAI_API_KEY") as info:
        await model.start()
    assert "sk-wrong" not in str(info.value)
    assert [e async for e in model.receive()] == []  # nothing hangs


@pytest.mark.parametrize(
    ("faults", "exc", "reason"),
    [
        (
            Faults(drop_at_event_type="response.output_audio.delta"),
            ModelConnectionError,
            "connection_lost",
        ),
        (
            Faults(drop_at_event_type="response.output_audio.delta", close_code=1011),
            ModelConnectionError,
            "server_error",
        ),
        (
            Faults(drop_at_event_type="response.output_audio.delta", close_code=1001),
            ModelConnectionError,
            "session_expired",
        ),
        (
            Faults(drop_at_event_type="response.output_audio.delta", close_code=4000),
            ModelAuthenticationError,
            None,
        ),
    ],
)
async def test_dropped_connection_raises_mapped_error(
    emu: Emulator, make_model: Factory, faults: Faults, exc: type[Exception], reason: str | None
) -> None:
    emu.faults = faults
    model = make_model()
    await model.start()
    try:
        await model.send(BidiTextInputEvent("hello"))
        with pytest.raises(exc) as info:
            await collect_until(model, is_complete)
    finally:
        await model.stop()
    if reason is not None:
        assert isinstance(info.value, ModelConnectionError)
        assert info.value.reason == reason
        assert info.value.restartable


async def test_session_cap_error_then_close_is_restartable(make_model: Factory) -> None:
    async with Emulator(api_key=KEY, port=0, session_cap_s=0.5) as emu:
        model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
        await model.start()
        try:
            with pytest.raises(ModelConnectionError) as info:
                await collect_until(model, lambda e: False)
        finally:
            await model.stop()
    assert info.value.reason == "session_expired"


async def test_timeout_s_ends_at_a_pause_and_start_works_again(
    emu: Emulator, make_model: Factory
) -> None:
    model = make_model(timeout_s=1)
    await model.start()
    await model.send(BidiTextInputEvent("hello"))
    events = await collect_until(model, is_complete)
    with pytest.raises(ModelTimeoutError):
        await collect_until(model, lambda e: False, events)
    await model.stop()
    history: list[Any] = [
        {"role": "user", "content": [{"text": "hello"}]},
        {"role": "assistant", "content": [{"text": "You said: hello"}]},
    ]
    await model.start(messages=history)
    try:
        await model.send(BidiTextInputEvent("again"))
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    assert len(emu.connections) == 2
    finals = [e.text for e in events if isinstance(e, BidiTranscriptStreamEvent) and e.is_final]
    assert finals == ["You said: again"]
    second = emu.received[[e["type"] for e in emu.received].index("session.update", 1) :]
    replay = [e["item"] for e in second if e["type"] == "conversation.item.create"]
    assert replay[0]["content"] == [{"type": "input_text", "text": "hello"}]
    assert replay[1] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "You said: hello"}],
    }


async def test_stop_ends_a_waiting_receive(emu: Emulator, make_model: Factory) -> None:
    model = make_model()
    await model.start()
    seen: list[BidiOutputEvent] = []

    async def reader() -> None:
        async for event in model.receive():
            seen.append(event)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.1)
    await model.stop()
    async with asyncio.timeout(5):
        await task
    assert isinstance(seen[0], BidiConnectionStartEvent)


async def test_key_never_logged(
    emu: Emulator, make_model: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("websockets", "websockets.client", "fullduplex_openai", "aiohttp"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    model = make_model()
    await model.start()
    try:
        await model.send(BidiTextInputEvent("hello"))
        await collect_until(model, is_complete)
    finally:
        await model.stop()
    bad = BidiOpenAIRealtimeModel(
        client_config={"api_key": "sk-bad-SECRET", "base_url": emu.base_url}
    )
    with pytest.raises(ModelAuthenticationError):
        await bad.start()
    assert "Authorization" in caplog.text  # the handshake was logged, redacted
    assert KEY not in caplog.text
    assert "sk-bad-SECRET" not in caplog.text


async def test_client_secret_works_as_api_key(emu: Emulator) -> None:
    secret = await create_client_secret(
        api_key=KEY, base_url=emu.base_url, session={"instructions": "hi"}, expires_after_s=60
    )
    assert secret.value.startswith("ek_")
    assert secret.expires_at > 0
    assert secret.value not in repr(secret)
    model = BidiOpenAIRealtimeModel(
        client_config={"api_key": secret.value, "base_url": emu.base_url}
    )
    await model.start()
    try:
        await model.send(BidiTextInputEvent("hello"))
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    assert any(isinstance(e, BidiAudioStreamEvent) for e in events)
    with pytest.raises(ModelAuthenticationError):
        await create_client_secret(api_key="sk-wrong", base_url=emu.base_url)


async def test_image_input_is_sent_as_a_data_uri(emu: Emulator, make_model: Factory) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    model = make_model()
    await model.start()
    try:
        await model.send(BidiImageInputEvent(png, mime_type="image/png"))
        await model.send(BidiTextInputEvent("what do you see?"))
        await collect_until(model, is_complete)
    finally:
        await model.stop()
    items = [e["item"] for e in emu.received if e["type"] == "conversation.item.create"]
    url = items[0]["content"][0]["image_url"]
    assert url == "data:image/png;base64," + base64.b64encode(png).decode()
    assert not [e for e in emu.sent_events if e["type"] == "error"]


async def test_an_owed_answer_survives_a_restart_that_fails_before_the_session(
    emu: Emulator, make_model: Factory
) -> None:
    """Dropped mid-answer, then a reconnect dies before the session is confirmed:
    the connection after that still owes the user the answer."""
    model = make_model()
    emu.faults = Faults(drop_at_event_type="response.output_audio.delta")
    await model.start()
    await model.send(BidiTextInputEvent("are you there?"))
    with pytest.raises(ModelConnectionError):
        await collect_until(model, is_complete)
    await model.stop()
    history: list[Any] = [{"role": "user", "content": [{"text": "are you there?"}]}]
    emu.faults = Faults(drop_at_event_type="session.updated")
    with pytest.raises(ModelConnectionError):
        await model.start(messages=history)
    emu.faults = Faults()
    await model.start(messages=history)
    try:
        events = await collect_until(model, is_complete)
    finally:
        await model.stop()
    finals = [e.text for e in events if isinstance(e, BidiTranscriptStreamEvent) and e.is_final]
    assert finals == ["You said: are you there?"]


async def test_receive_ends_quietly_when_stopped_with_a_request_to_flush(
    emu: Emulator, make_model: Factory
) -> None:
    """stop() while receive() is between events that queued a response.create: the
    iteration ends, it does not raise a connection error for the socket stop() closed."""
    model = make_model()
    await model.start()
    seen: list[BidiOutputEvent] = []
    try:
        await model.send(BidiTextInputEvent("first"))
        async with asyncio.timeout(10):
            stream = model.receive()
            async for event in stream:
                seen.append(event)
                if isinstance(event, BidiResponseStartEvent):
                    # answered after this response: response.create waits for response.done
                    await model.send(BidiTextInputEvent("second"))
                if isinstance(event, BidiUsageEvent):
                    break
            await model.stop()
            rest = [event async for event in stream]
    finally:
        await model.stop()
    assert all(not isinstance(e, BidiErrorEvent) for e in rest)


async def test_calls_still_running_at_a_restart_get_one_response_create(
    emu: Emulator, make_model: Factory
) -> None:
    """Two calls were running when the connection was replaced: the first result
    alone does not ask for an answer; the last one does, once."""
    history: list[Any] = [
        {"role": "user", "content": [{"text": "add and multiply"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c1", "name": "add"}}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c2", "name": "mul"}}]},
    ]
    model = make_model()
    await model.start(messages=history)
    try:
        await model.send(ToolResultEvent("c1", "add", "3"))
        await model.send(ToolResultEvent("c2", "mul", "2"))
        await collect_until(model, is_complete)
    finally:
        await model.stop()
    kinds = [e.get("type") for e in emu.received]
    outputs = [i for i, kind in enumerate(kinds) if kind == "conversation.item.create"][-2:]
    assert kinds.count("response.create") == 1
    assert kinds.index("response.create") > outputs[-1]
