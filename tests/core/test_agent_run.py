"""run(inputs, outputs): how a whole conversation starts, flows and ends."""

from __future__ import annotations

import asyncio

import pytest
from agent_kit import only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.errors import IOChannelError, ModelProtocolError, NotRegisteredError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
)
from fullduplex.testing import (
    FakeModel,
    RecordingOutput,
    ScriptedInput,
    emit,
    end,
    expect,
    fail,
    pause,
)

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


def reply(response_id: str, text: str) -> list[BidiOutputEvent]:
    return [
        BidiResponseStartEvent(response_id),
        BidiTranscriptStreamEvent(text, "assistant", True, text, response_id, f"i-{response_id}"),
        BidiResponseCompleteEvent(response_id),
    ]


async def test_run_waits_for_the_answer_to_the_last_input_then_ends() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            pause(0.3),  # the answer comes well after the input finished
            emit(*reply("r1", "hello to you")),
        ]
    )
    source = ScriptedInput(["hello"])
    first, second = RecordingOutput(), RecordingOutput()
    agent = BidiAgent(model)
    async with asyncio.timeout(5):
        await agent.run(inputs=[source], outputs=[first, second])
    for output in (first, second):
        assert [e.type for e in output.events] == [
            "bidi_response_start",
            "bidi_transcript_stream",
            "bidi_response_complete",
        ]
        assert output.started_with is agent
        assert output.stopped == 1
    assert first.events[0] is second.events[0]  # the same object, no copies
    assert source.stopped == 1
    assert agent.messages[-1]["content"] == [{"text": "hello to you"}]
    await settle_loop()
    assert other_tasks() == set()


async def test_audio_input_is_delivered_in_order_and_its_answer_awaited() -> None:
    chunks = [BidiAudioInputEvent(bytes([n, 0]) * 10) for n in range(50)]
    model = FakeModel(
        [
            expect(BidiAudioInputEvent, where=lambda e: e.audio[0] == 49),
            pause(0.2),
            emit(BidiSpeechEvent("started"), BidiSpeechEvent("stopped")),
            pause(0.2),
            emit(*reply("r1", "I heard you")),
        ]
    )
    agent = BidiAgent(model, audio_grace_s=1.0)
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput(chunks)])
    assert [e.audio[0] for e in model.sent_of(BidiAudioInputEvent)] == list(range(50))
    assert agent.messages[-1]["content"] == [{"text": "I heard you"}]


async def test_settle_timeout_bounds_the_wait_for_an_answer_that_never_comes() -> None:
    agent = BidiAgent(FakeModel(), settle_timeout_s=0.2)
    async with asyncio.timeout(3):
        await agent.run(inputs=[ScriptedInput(["anyone there?"])])
    assert not agent.started


async def test_fatal_model_error_is_raised_from_run_and_everything_stops() -> None:
    model = FakeModel([expect(BidiTextInputEvent), fail(ModelProtocolError("nonsense"))])
    source = ScriptedInput(["hi", asyncio.Event()])
    output = RecordingOutput()
    with pytest.raises(ModelProtocolError):
        async with asyncio.timeout(3):
            await BidiAgent(model).run(inputs=[source], outputs=[output])
    assert source.stopped == 1
    assert output.stopped == 1
    await settle_loop()
    assert other_tasks() == set()


async def test_model_closing_the_conversation_ends_run() -> None:
    model = FakeModel([emit(*reply("r1", "bye")), pause(0.05), end()])
    async with asyncio.timeout(3):
        await BidiAgent(model).run(inputs=[ScriptedInput([asyncio.Event()])])
    assert model.finished


async def test_cancelling_run_stops_inputs_outputs_and_model() -> None:
    model = FakeModel()
    source = ScriptedInput([asyncio.Event()])
    output = RecordingOutput()
    agent = BidiAgent(model)
    task = asyncio.create_task(agent.run(inputs=[source], outputs=[output]))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(3):
            await task
    assert source.stopped == 1
    assert output.stopped == 1
    assert model.stop_calls == 1
    await settle_loop()
    assert other_tasks() == set()


async def test_a_failing_output_is_raised_from_run() -> None:
    class Broken(RecordingOutput):
        async def __call__(self, event: BidiOutputEvent) -> None:
            raise IOChannelError("speaker unplugged")

    model = FakeModel([emit(*reply("r1", "hi"))])
    with pytest.raises(IOChannelError, match="unplugged"):
        async with asyncio.timeout(3):
            await BidiAgent(model).run(
                inputs=[ScriptedInput([asyncio.Event()])], outputs=[Broken()]
            )


async def test_a_failing_input_is_raised_from_run() -> None:
    class Broken(ScriptedInput):
        async def __call__(self) -> None:
            raise IOChannelError("no microphone")

    source = Broken()
    with pytest.raises(IOChannelError, match="no microphone"):
        async with asyncio.timeout(3):
            await BidiAgent(FakeModel()).run(inputs=[source])
    assert source.stopped == 1


def test_an_unknown_model_name_is_an_error_listing_what_exists() -> None:
    with pytest.raises(NotRegisteredError):
        BidiAgent("nobody/no-such-model")
