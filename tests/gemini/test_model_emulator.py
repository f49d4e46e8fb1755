"""``BidiGeminiLiveModel`` against the Gemini Live emulator, over loopback.

Behaviours 1 (turns, rates, lifecycle, transcripts, usage), 3 (tools: one
toolResponse per toolCall, cancellation, NON_BLOCKING), 5 (close codes) fully,
and the provider's side of 2 (barge-in) and 4 (resumption, goAway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from fullduplex.errors import ModelConnectionError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiToolCancelEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.messages import text_message
from fullduplex.tools import ToolSpec
from fullduplex_emulator.faults import Faults
from fullduplex_emulator.responder import FunctionCall, Reply, Responder, TurnContext
from fullduplex_emulator.scripted import ScriptedResponder
from fullduplex_emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_gemini import BidiGeminiLiveModel, GeminiSetupError
from fullduplex_gemini.emulator import GeminiEmulator

from .conftest import KEY, MODEL

Make = Callable[..., BidiGeminiLiveModel]
LOOKUP = ToolSpec(
    "lookup",
    "look a city up",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
WEATHER = ToolSpec("weather", "the weather", {"type": "object", "properties": {}})


async def collect(
    model: BidiGeminiLiveModel,
    until: Callable[[BidiOutputEvent], bool],
    on_event: Callable[[BidiOutputEvent], Any] | None = None,
) -> list[BidiOutputEvent]:
    events: list[BidiOutputEvent] = []
    async with asyncio.timeout(10):
        async for event in model.receive():
            events.append(event)
            if on_event is not None:
                result = on_event(event)
                if asyncio.iscoroutine(result):
                    await result
            if until(event):
                break
    return events


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for the emulator to have read what the client sent."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def complete(event: BidiOutputEvent) -> bool:
    return isinstance(event, BidiResponseCompleteEvent) and event.stop_reason == "complete"


def of(events: list[BidiOutputEvent], kind: type[Any]) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


class Calls(Responder):
    """Answers the first user turn with the given calls, then says what came back."""

    def __init__(self, *calls: FunctionCall) -> None:
        self.calls = calls

    def respond(self, context: TurnContext) -> Reply:
        if context.turns and context.turns[-1].kind == "tool_result":
            outputs = [t.output for t in context.turns if t.kind == "tool_result"]
            return Reply("Results: " + ", ".join(outputs))
        return Reply("Let me check.", self.calls)


# ----------------------------------------------------------------------- behaviour 1


async def test_text_turn_events_transcripts_and_usage(
    emu: GeminiEmulator, make_model: Make
) -> None:
    model = make_model({"audio": {"voice": "Kore"}})
    await model.start("Be brief.")
    await model.send(BidiTextInputEvent("hello there"))
    events = await collect(model, complete)
    await model.stop()

    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "BidiConnectionStartEvent"
    start = of(events, BidiResponseStartEvent)[0]
    assert kinds.index("BidiResponseStartEvent") < kinds.index("BidiAudioStreamEvent")
    audio = of(events, BidiAudioStreamEvent)
    assert audio
    assert all(a.sample_rate == 24000 and a.response_id == start.response_id for a in audio)
    final = [t for t in of(events, BidiTranscriptStreamEvent) if t.is_final]
    assert [(t.role, t.current_transcript) for t in final] == [
        ("assistant", "You said: hello there")
    ]
    usage = of(events, BidiUsageEvent)[0]
    assert usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert events[-1] == BidiResponseCompleteEvent(start.response_id, "complete")

    setup = emu.received[0]["setup"]
    assert setup["model"] == f"models/{MODEL}"
    assert setup["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert setup["sessionResumption"] == {}
    headers = {k.lower(): v for k, v in emu.connections[0].headers.items()}
    assert headers["x-goog-api-key"] == KEY
    assert emu.received[1] == {
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": "hello there"}]}],
            "turnComplete": True,
        }
    }


async def test_audio_turn_is_16k_in_and_resampled_out(
    emu: GeminiEmulator, make_model: Make
) -> None:
    responder = ScriptedResponder(["tell me about the weather"])
    emu.responder = responder
    model = make_model({"audio": {"input_rate": 24000, "output_rate": 48000}})
    assert model.capabilities.input_sample_rate == 24000
    assert model.capabilities.output_sample_rate == 48000
    await model.start()
    speech = tone_pcm16(600, rate=24000) + silence_pcm16(800, rate=24000)
    for i in range(0, len(speech), 4800):  # 100 ms chunks at 24 kHz
        await model.send(BidiAudioInputEvent(speech[i : i + 4800], sample_rate=24000))
    events = await collect(model, complete)
    await model.stop()

    audio_frames = [m["realtimeInput"]["audio"] for m in emu.received if "realtimeInput" in m]
    assert {a["mimeType"] for a in audio_frames} == {"audio/pcm;rate=16000"}
    wire_in = sum(len(a["data"]) * 3 // 4 for a in audio_frames)
    assert abs(wire_in - len(speech) * 2 // 3) < 3200  # 24 kHz -> 16 kHz, minus the filter's tail
    final = {
        t.role: t.current_transcript for t in of(events, BidiTranscriptStreamEvent) if t.is_final
    }
    assert final == {
        "user": "tell me about the weather",
        "assistant": "You said: tell me about the weather",
    }
    out = of(events, BidiAudioStreamEvent)
    assert {a.sample_rate for a in out} == {48000}
    sent_ms = sum(f.audio_ms for f in emu.sent if f.type == "modelTurn")
    received_ms = sum(len(a.audio) for a in out) / 96
    assert abs(received_ms - sent_ms) < 50


# ----------------------------------------------------------------------- behaviour 3


async def test_every_call_of_a_tool_call_answered_in_one_tool_response(
    emu: GeminiEmulator, make_model: Make
) -> None:
    emu.responder = Calls(
        FunctionCall("lookup", '{"city": "Paris"}'), FunctionCall("weather", "{}")
    )
    model = make_model()
    await model.start(tools=[LOOKUP, WEATHER])
    await model.send(BidiTextInputEvent("go"))
    calls: list[ToolUseStreamEvent] = []

    async def answer(event: BidiOutputEvent) -> None:
        if isinstance(event, ToolUseStreamEvent):
            calls.append(event)
            if len(calls) == 2:  # answered out of order, as concurrent tools finish
                for call in reversed(calls):
                    await model.send(ToolResultEvent(call.call_id, call.name, f'"{call.name} ok"'))

    events = await collect(model, complete, answer)
    await model.stop()

    declarations = emu.received[0]["setup"]["tools"][0]["functionDeclarations"]
    assert declarations[0]["parameters"] == {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    }
    assert "parametersJsonSchema" not in declarations[0]
    assert [c.arguments for c in calls] == ['{"city":"Paris"}', "{}"]
    responses = [m["toolResponse"] for m in emu.received if "toolResponse" in m]
    assert len(responses) == 1
    assert [(r["id"], r["name"], r["response"]) for r in responses[0]["functionResponses"]] == [
        (calls[0].call_id, "lookup", {"output": "lookup ok"}),  # in call order
        (calls[1].call_id, "weather", {"output": "weather ok"}),
    ]
    assert of(events, BidiResponseCompleteEvent)[0].stop_reason == "tool_use"
    final = [t.current_transcript for t in of(events, BidiTranscriptStreamEvent) if t.is_final]
    assert final[-1] == "Results: lookup ok, weather ok"


async def test_cancelled_calls_get_no_response(make_model: Make) -> None:
    async with GeminiEmulator(api_key=KEY, pace=1.0) as emu:
        emu.responder = Calls(FunctionCall("lookup", '{"city": "Oslo"}'))
        model = BidiGeminiLiveModel(MODEL, None, {"api_key": KEY, "base_url": emu.base_url})
        await model.start(tools=[LOOKUP])
        await model.send(BidiTextInputEvent("go"))
        seen: list[BidiOutputEvent] = []

        async def barge(event: BidiOutputEvent) -> None:
            if isinstance(event, ToolUseStreamEvent):  # the user speaks while the tool runs
                await model.send(BidiAudioInputEvent(tone_pcm16(200, rate=16000), 16000))

        seen = await collect(model, lambda e: isinstance(e, BidiToolCancelEvent), barge)
        call = of(seen, ToolUseStreamEvent)[0]
        [cancelled] = of(seen, BidiToolCancelEvent)
        assert cancelled.call_ids == (call.call_id,)
        assert not of(seen, ToolResultEvent)  # a fact for the agent, not a result
        assert of(seen, BidiInterruptionEvent)
        assert not model.answer_pending  # nothing is owed for a cancelled call
        await model.send(ToolResultEvent(call.call_id, "lookup", '"too late"'))
        await asyncio.sleep(0.1)
        await model.stop()
        assert not [m for m in emu.received if "toolResponse" in m]
        assert any(
            "toolCallCancellation" in f.event for f in emu.sent if f.type == "toolCallCancellation"
        )


async def test_non_blocking_declaration_and_scheduling(
    emu: GeminiEmulator, make_model: Make
) -> None:
    emu.responder = Calls(FunctionCall("lookup", '{"city": "Rome"}'))
    model = make_model(
        {"tools": {"lookup": {"behavior": "NON_BLOCKING", "scheduling": "WHEN_IDLE"}}}
    )
    await model.start(tools=[LOOKUP])
    await model.send(BidiTextInputEvent("go"))
    events = await collect(model, complete)  # the model goes on talking: its turn completes
    call = of(events, ToolUseStreamEvent)[0]
    await model.send(ToolResultEvent(call.call_id, "lookup", '"sunny"'))
    events = await collect(model, complete)
    await model.stop()
    assert (
        emu.received[0]["setup"]["tools"][0]["functionDeclarations"][0]["behavior"]
        == "NON_BLOCKING"
    )
    response = next(m["toolResponse"] for m in emu.received if "toolResponse" in m)
    assert response["functionResponses"][0]["scheduling"] == "WHEN_IDLE"
    final = [t.current_transcript for t in of(events, BidiTranscriptStreamEvent) if t.is_final]
    assert final == ["Results: sunny"]


# ----------------------------------------------------------------------- behaviour 5


async def test_unknown_model_is_a_1008_setup_error_with_the_reason(make_model: Make) -> None:
    model = make_model(model_id="gemini-9-flash-live-nonexistent")
    with pytest.raises(GeminiSetupError) as caught:
        await model.start()
    assert caught.value.close_code == 1008
    assert not caught.value.restartable
    assert "models/gemini-9-flash-live-nonexistent is not found for API version v1beta" in str(
        caught.value
    )
    assert caught.value.server_reason.startswith("models/gemini-9")


async def test_invalid_setup_is_a_1007_setup_error(make_model: Make) -> None:
    model = make_model({"inference": {"generationConfig": {"bogusKnob": 1}}})
    with pytest.raises(GeminiSetupError) as caught:
        await model.start()
    assert caught.value.close_code == 1007
    assert 'Unknown name "bogusKnob"' in caught.value.server_reason


@pytest.mark.parametrize("close_code", [1011, None])
async def test_1011_and_drops_are_restartable(
    emu: GeminiEmulator, make_model: Make, close_code: int | None
) -> None:
    model = make_model()
    await model.start()
    emu.connections[-1].faults = Faults(drop_after_events=0, close_code=close_code)
    await model.send(BidiTextInputEvent("hi"))
    with pytest.raises(ModelConnectionError) as caught:
        await collect(model, complete)
    assert caught.value.restartable
    await model.stop()


async def test_bad_key_is_an_authentication_error(make_model: Make) -> None:
    from fullduplex.errors import ModelAuthenticationError

    model = make_model(api_key="wrong-key")
    with pytest.raises(ModelAuthenticationError, match="1007"):
        await model.start()


# ----------------------------------------------------------------------- behaviours 2, 4


async def test_barge_in_interrupts_and_the_server_keeps_what_was_sent() -> None:
    long_answer = "This is a rather long answer that goes on and on for a few seconds at least."

    class Long(Responder):
        def respond(self, context: TurnContext) -> Reply:
            return Reply(long_answer)

    async with GeminiEmulator(api_key=KEY, pace=1.0, responder=Long()) as emu:
        model = BidiGeminiLiveModel(MODEL, None, {"api_key": KEY, "base_url": emu.base_url})
        await model.start()
        await model.send(BidiTextInputEvent("talk"))
        audio_ms = 0.0

        async def speak_up(event: BidiOutputEvent) -> None:
            nonlocal audio_ms
            if isinstance(event, BidiAudioStreamEvent):
                audio_ms += len(event.audio) / 48
                if 400 <= audio_ms < 440:
                    await model.send(BidiAudioInputEvent(tone_pcm16(200, rate=16000), 16000))

        events = await collect(model, lambda e: isinstance(e, BidiResponseCompleteEvent), speak_up)
        await model.stop()
        interruption = of(events, BidiInterruptionEvent)[0]
        assert interruption.response_id == of(events, BidiResponseStartEvent)[0].response_id
        assert 400 <= interruption.audio_received_ms < 3000
        assert events[-1].stop_reason == "interrupted"  # type: ignore[union-attr]
        heard = [t for t in of(events, BidiTranscriptStreamEvent) if t.is_final]
        assert heard
        assert long_answer.startswith(heard[0].current_transcript)
        assert heard[0].current_transcript != long_answer
        session = emu.connections[0].session
        assistant = [t.text for t in session.turns if t.kind == "assistant"]  # type: ignore[attr-defined]
        assert assistant == [heard[0].current_transcript]


async def test_go_away_renews_at_the_pause_and_resumes_without_replay() -> None:
    async with GeminiEmulator(api_key=KEY, connection_cap_s=3.0, go_away_lead_s=2.5) as emu:
        model = BidiGeminiLiveModel(MODEL, None, {"api_key": KEY, "base_url": emu.base_url})
        await model.start()
        await model.send(BidiTextInputEvent("remember the number 42"))
        await collect(model, complete)
        handle = model.resumption_handle
        assert handle is not None
        with pytest.raises(ModelConnectionError) as caught:
            await collect(model, lambda e: False)
        assert caught.value.reason == "go_away"
        assert caught.value.restartable
        assert model.go_away_time_left == 2.5
        history = [text_message("user", "remember the number 42"), text_message("assistant", "ok")]
        await model.stop()
        await model.start(messages=history)  # what the agent does after a restartable error
        assert model.resumed
        second = emu.received[len(emu.received) - 1]
        assert second["setup"]["sessionResumption"] == {"handle": model.resumption_handle or handle}
        assert not [m for m in emu.received if "clientContent" in m and m is not emu.received[1]]
        await model.send(BidiTextInputEvent("and now?"))
        events = await collect(model, complete)
        await model.stop()
        restored = emu.connections[1].session.turns  # type: ignore[attr-defined]
        assert [t.text for t in restored if t.kind == "user"] == [
            "remember the number 42",
            "and now?",
        ]
        assert [t.current_transcript for t in of(events, BidiTranscriptStreamEvent) if t.is_final]
        assert emu.connections[0].close_code is not None


async def test_a_refused_handle_falls_back_to_replaying_history(
    emu: GeminiEmulator, make_model: Make
) -> None:
    model = make_model()
    model.resumption_handle = "no-such-handle"
    history = [text_message("user", "hi"), text_message("assistant", "hello")]
    with pytest.raises(ModelConnectionError) as caught:
        await model.start(messages=history)
    assert caught.value.code == "resumption_rejected"
    assert caught.value.restartable
    assert model.resumption_handle is None
    await model.start(messages=history)
    assert not model.resumed
    await until(lambda: any("clientContent" in m for m in emu.received))
    replay = [m for m in emu.received if "clientContent" in m]
    assert replay == [
        {
            "clientContent": {
                "turns": [
                    {"role": "user", "parts": [{"text": "hi"}]},
                    {"role": "model", "parts": [{"text": "hello"}]},
                    {"role": "user", "parts": [{"text": "."}]},
                ],
                "turnComplete": False,
            }
        }
    ]
    await model.stop()


async def test_a_drop_reconnects_with_the_handle(emu: GeminiEmulator, make_model: Make) -> None:
    model = make_model()
    await model.start()
    await model.send(BidiTextInputEvent("first"))
    await collect(model, complete)
    emu.connections[-1].faults = Faults(drop_after_events=0)
    await model.send(BidiTextInputEvent("second"))
    with pytest.raises(ModelConnectionError):
        await collect(model, complete)
    handle = model.resumption_handle
    assert handle in emu.handles
    await model.stop()
    await model.start(messages=[text_message("user", "first")])
    assert model.resumed
    assert emu.received[-1]["setup"]["sessionResumption"]["handle"] == handle
    await model.stop()
