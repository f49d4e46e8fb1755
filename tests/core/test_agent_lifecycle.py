"""Start, stop, receive: the agent never hangs and leaves no task behind."""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_kit import drain, only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.errors import (
    ConfigurationError,
    FullDuplexError,
    ModelError,
    ModelProtocolError,
)
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
)
from fullduplex.testing import FakeModel, emit, end, expect, fail

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


async def test_stop_ends_a_receive_running_in_another_task() -> None:
    model = FakeModel()  # an open connection that never says anything
    agent = BidiAgent(model)
    await agent.start()
    received: list[object] = []

    async def consume() -> None:
        async for event in agent.receive():
            received.append(event)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert not consumer.done()
    async with asyncio.timeout(2):
        await agent.stop()
        await consumer
    await settle_loop()
    assert other_tasks() == set()
    assert model.stop_calls == 1
    assert received == []


async def test_model_stream_ending_ends_receive() -> None:
    model = FakeModel([emit(BidiResponseStartEvent("r1")), end()])
    async with BidiAgent(model) as agent:
        async with asyncio.timeout(2):
            events = [event async for event in agent.receive()]
    assert [e.type for e in events] == ["bidi_response_start"]
    await settle_loop()
    assert other_tasks() == set()


async def test_fatal_model_error_is_raised_from_receive() -> None:
    model = FakeModel([emit(BidiResponseStartEvent("r1")), fail(ModelProtocolError("garbled"))])
    async with BidiAgent(model) as agent:
        events = agent.receive()
        first = await anext(events)
        with pytest.raises(ModelProtocolError, match="garbled"):
            await drain(events)
    assert first.type == "bidi_response_start"
    await settle_loop()
    assert other_tasks() == set()


async def test_unexpected_exception_in_model_is_raised_not_hung() -> None:
    model = FakeModel([fail(RuntimeError("bug in provider"))])
    async with BidiAgent(model) as agent:
        with pytest.raises(RuntimeError, match="bug in provider"):
            await drain(agent.receive())


async def test_send_accepts_text_events_and_dicts_and_records_user_text() -> None:
    model = FakeModel()
    async with BidiAgent(model) as agent:
        await agent.send("hello")
        await agent.send(BidiTextInputEvent("again"))
        await agent.send({"type": "bidi_audio_input", "audio": "AAA=", "sample_rate": 16000})
        with pytest.raises(FullDuplexError, match="expected text, an input event"):
            await agent.send(42)  # type: ignore[arg-type]
    assert [type(e) for e in model.sent] == [
        BidiTextInputEvent,
        BidiTextInputEvent,
        BidiAudioInputEvent,
    ]
    assert model.sent[2].audio == b"\x00\x00"  # type: ignore[union-attr]
    assert [m["content"][0].get("text") for m in agent.messages] == ["hello", "again"]


async def test_send_before_start_is_a_clear_error() -> None:
    agent = BidiAgent(FakeModel())
    with pytest.raises(FullDuplexError, match="not started"):
        await agent.send("hi")


async def test_history_is_json_and_seeds_a_new_agent() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiTranscriptStreamEvent("what", "user", True, "what time", item_id="u1"),
                BidiResponseStartEvent("r1"),
                BidiTranscriptStreamEvent("noon", "assistant", True, "noon", "r1", "a1"),
                BidiResponseCompleteEvent("r1"),
            ),
        ]
    )
    async with BidiAgent(model, system_prompt="be brief") as agent:
        await agent.send("typed")
        async with asyncio.timeout(2):
            async for event in agent.receive():
                if isinstance(event, BidiResponseCompleteEvent):
                    break
    dumped = json.loads(json.dumps(agent.messages))
    assert dumped == [
        {"role": "user", "content": [{"text": "typed"}]},
        {"role": "user", "content": [{"text": "what time"}]},
        {"role": "assistant", "content": [{"text": "noon"}]},
    ]
    second_model = FakeModel()
    async with BidiAgent(second_model, messages=dumped, system_prompt="again"):
        pass
    assert second_model.starts[0].messages == dumped
    assert second_model.starts[0].system_prompt == "again"
    assert model.starts[0].messages == []


def test_seed_history_errors_name_the_index_and_field() -> None:
    bad = [
        {"role": "user", "content": [{"text": "ok"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c1", "input": {}}}]},
    ]
    with pytest.raises(ConfigurationError, match=r"messages\[1\]\.content\[0\]\.toolUse\.name"):
        BidiAgent(FakeModel(), messages=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"messages\[0\]\.role"):
        BidiAgent(FakeModel(), messages=[{"role": "robot", "content": []}])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_restarts", -1), ("restart_backoff_s", "x"), ("settle_timeout_s", 0)],
)
def test_bad_configuration_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        BidiAgent(FakeModel(), **{field: value})  # type: ignore[arg-type]


async def test_stop_is_idempotent_and_ends_later_receives() -> None:
    agent = BidiAgent(FakeModel())
    await agent.start()
    await agent.stop()
    await agent.stop()
    async with asyncio.timeout(1):
        assert [e async for e in agent.receive()] == []


async def test_model_receive_cancelled_from_inside_ends_receive_with_an_error() -> None:
    # A provider whose receive() awaits a future it cancelled itself raises
    # CancelledError out of the stream: the reader task ends cancelled though
    # nobody cancelled it. receive() must end with an error, not hang.
    model = FakeModel([fail(asyncio.CancelledError())])
    async with BidiAgent(model) as agent:
        with pytest.raises(ModelError, match="cancelled"):
            await drain(agent.receive(), timeout=2)
    await settle_loop()
    assert other_tasks() == set()


async def test_receive_waiting_before_start_gets_the_conversation() -> None:
    model = FakeModel([emit(BidiResponseStartEvent("r1")), end()])
    agent = BidiAgent(model)
    consumer = asyncio.create_task(drain(agent.receive(), timeout=2))
    await asyncio.sleep(0)  # the consumer is now waiting for its first event
    await agent.start()
    events = await consumer
    await agent.stop()
    assert [e.type for e in events] == ["bidi_response_start"]  # type: ignore[attr-defined]
