"""The provider under the core agent, against the emulator: the seed example,
restarts after a drop and after ``timeout_s``, and interruption through playback."""

from __future__ import annotations

import asyncio
from typing import Any

from fullduplex import BidiAgent
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiConnectionRestartEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
)
from fullduplex.models import BidiOpenAIRealtimeModel
from fullduplex.testing import RecordingOutput, ScriptedInput
from fullduplex.tools import stop_conversation
from fullduplex_openai.emulator import Emulator, Faults
from fullduplex_openai.emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_tools import calculator

KEY = "emu-key-DO-NOT-LOG-4242"  # the key of the conftest's emulator


class GateOutput(RecordingOutput):
    """Records events and opens a gate when an assistant final transcript contains a word."""

    def __init__(self, word: str, gate: asyncio.Event) -> None:
        super().__init__()
        self.word = word
        self.gate = gate

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if (
            isinstance(event, BidiTranscriptStreamEvent)
            and event.is_final
            and event.role == "assistant"
            and self.word in event.text
        ):
            self.gate.set()


def finals(output: RecordingOutput, role: str = "assistant") -> list[str]:
    return [e.text for e in output.of(BidiTranscriptStreamEvent) if e.is_final and e.role == role]


async def test_seed_example_with_scripted_io(emu: Emulator) -> None:
    """The seed page's example, imports changed, IO scripted, against the emulator."""
    model = BidiOpenAIRealtimeModel(
        model_id="gpt-realtime",
        provider_config={
            "audio": {
                "voice": "coral",
            },
        },
        client_config={"api_key": KEY, "base_url": emu.base_url},
    )
    # stop_conversation tool allows user to verbally stop agent execution.
    agent = BidiAgent(model=model, tools=[calculator, stop_conversation])

    answered = asyncio.Event()
    text_input = ScriptedInput(["what is 12 times 7?", answered, "goodbye"])
    text_output = GateOutput("84", answered)
    async with asyncio.timeout(20):
        await agent.run(inputs=[text_input], outputs=[text_output])

    spoken = finals(text_output)
    assert spoken[0] == "The answer is 84."
    assert spoken[-1] == "Goodbye!"
    results = text_output.of(ToolResultEvent)
    assert [r.name for r in results][:1] == ["calculator"]
    assert results[0].content.strip('"') == "84"
    assert text_output.audio  # it spoke, in PCM16
    calls = [e for e in emu.received if e["type"] == "conversation.item.create"]
    assert any(e["item"]["type"] == "function_call_output" for e in calls)
    assert emu.received[0]["session"]["audio"]["output"]["voice"] == "coral"
    tools = {t["name"] for t in emu.received[0]["session"]["tools"]}
    assert tools == {"calculator", "stop_conversation"}


async def test_lines_typed_before_the_first_answer_each_get_an_answer() -> None:
    """run() ends only when every queued line was answered, not after the first answer.

    The server is slow to start each response (as over a real network), so the
    second answer is owed for a while after the first one completes.
    """
    output = RecordingOutput()
    async with Emulator(api_key=KEY, port=0, faults=Faults(response_delay_s=0.3)) as slow:
        model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": slow.base_url})
        agent = BidiAgent(model=model)
        async with asyncio.timeout(20):
            await agent.run(
                inputs=[ScriptedInput(["hello there", "tell me a joke"])], outputs=[output]
            )
    assert finals(output) == ["You said: hello there", "You said: tell me a joke"]


async def test_dropped_connection_restarts_with_history_and_held_input(emu: Emulator) -> None:
    model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
    agent = BidiAgent(model=model, restart_backoff_s=0.05)
    first_done = asyncio.Event()
    output = GateOutput("first", first_done)
    # the first answer streams, then the connection drops on the second answer's audio
    text_input = ScriptedInput(["first", first_done, "second", 0.3, "third"])

    async def drop_second_answer() -> None:
        await first_done.wait()
        emu.connections[-1].faults = Faults(drop_at_event_type="response.output_audio.delta")

    dropper = asyncio.create_task(drop_second_answer())
    async with asyncio.timeout(20):
        await agent.run(inputs=[text_input], outputs=[output])
    await dropper

    assert len(emu.connections) >= 2
    restarts = output.of(BidiConnectionRestartEvent)
    assert restarts
    assert restarts[0].reason == "connection_lost"
    # the new connection got the history as items before anything else
    second = emu.connections[1]
    index = next(i for i, e in enumerate(emu.received) if e["type"] == "session.update" and i > 0)
    replayed = [e["item"] for e in emu.received[index:] if e["type"] == "conversation.item.create"]
    texts = [c.get("text") for item in replayed for c in item.get("content", [])]
    assert texts[:2] == ["first", "You said: first"]
    assert "second" in texts
    # no input lost: "third" reached the new connection and was answered
    assert "You said: third" in finals(output)
    assert second.model == "gpt-realtime"


async def test_an_answer_cut_off_by_a_drop_is_given_after_the_restart(emu: Emulator) -> None:
    """The user asked, the connection died mid-answer: the new connection answers."""
    model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
    agent = BidiAgent(model=model, restart_backoff_s=0.05)
    armed = asyncio.Event()

    async def drop_the_first_answer() -> None:
        while not emu.connections:
            await asyncio.sleep(0.01)
        emu.connections[0].faults = Faults(drop_at_event_type="response.output_audio.delta")
        armed.set()

    arming = asyncio.create_task(drop_the_first_answer())
    output = RecordingOutput()
    async with asyncio.timeout(20):
        await agent.run(inputs=[ScriptedInput([armed, "are you there?"])], outputs=[output])
    await arming
    assert [r.reason for r in output.of(BidiConnectionRestartEvent)] == ["connection_lost"]
    assert finals(output) == ["You said: are you there?"]


async def test_timeout_s_restart_keeps_the_conversation(emu: Emulator) -> None:
    model = BidiOpenAIRealtimeModel(
        client_config={"api_key": KEY, "base_url": emu.base_url, "timeout_s": 1}
    )
    agent = BidiAgent(model=model, restart_backoff_s=0.05)
    first_done = asyncio.Event()
    output = GateOutput("one", first_done)
    text_input = ScriptedInput(["one", first_done, 1.5, "two"])
    async with asyncio.timeout(20):
        await agent.run(inputs=[text_input], outputs=[output])

    restarts = output.of(BidiConnectionRestartEvent)
    assert restarts
    assert restarts[0].reason == "timeout"
    assert finals(output) == ["You said: one", "You said: two"]
    later = emu.received[
        next(i for i, e in enumerate(emu.received) if e["type"] == "session.update" and i > 0) :
    ]
    replayed = [e["item"] for e in later if e["type"] == "conversation.item.create"]
    assert replayed[0]["content"] == [{"type": "input_text", "text": "one"}]
    # the restart came at the pause: the first connection never saw a cut response
    first_conn_events = [f.event for f in emu.sent if isinstance(f.event, dict)]
    cancelled = [
        e
        for e in first_conn_events
        if e.get("type") == "response.done" and e["response"]["status"] != "completed"
    ]
    assert cancelled == []


class Player(RecordingOutput):
    """A fake speaker: reports that it played exactly ``played_ms`` of each item."""

    def __init__(self, played_ms: int) -> None:
        super().__init__()
        self.played_ms = played_ms
        self.agent: Any = None

    async def start(self, agent: Any) -> None:
        await super().start(agent)
        self.agent = agent
        agent.playback.attach_player()

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if isinstance(event, BidiAudioStreamEvent) and event.item_id:
            self.agent.playback.report(event.item_id, self.played_ms)


async def test_interruption_truncates_to_the_played_milliseconds(emu: Emulator) -> None:
    model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
    agent = BidiAgent(model=model)
    player = Player(played_ms=650)
    answered = asyncio.Event()
    gate = GateOutput("ships", answered)
    speech = tone_pcm16(400) + silence_pcm16(800)
    chunks = [BidiAudioInputEvent(speech[i : i + 4800]) for i in range(0, len(speech), 4800)]
    text_input = ScriptedInput(["a long story about the sea and the ships", answered, *chunks])
    async with asyncio.timeout(20):
        await agent.run(inputs=[text_input], outputs=[player, gate])

    interruptions = player.of(BidiInterruptionEvent)
    assert len(interruptions) == 1
    truncates = [e for e in emu.received if e["type"] == "conversation.item.truncate"]
    assert len(truncates) == 1
    assert truncates[0]["audio_end_ms"] == 650
    assert truncates[0]["item_id"] == interruptions[0].item_id


class FirstAudio(RecordingOutput):
    """Records events; opens a gate at the first assistant audio."""

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__()
        self.gate = gate

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if isinstance(event, BidiAudioStreamEvent):
            self.gate.set()


async def test_barge_in_with_interrupt_response_off_is_cancelled_by_the_agent() -> None:
    # The server leaves the response running when the user speaks
    # (interrupt_response false): the agent decides it was an interruption and
    # asks for the cancel; the response ends as "interrupted".
    turn = {"type": "server_vad", "interrupt_response": False}
    async with Emulator(api_key=KEY, port=0, pace=1.0) as emu:
        model = BidiOpenAIRealtimeModel(
            provider_config={"inference": {"audio": {"input": {"turn_detection": turn}}}},
            client_config={"api_key": KEY, "base_url": emu.base_url},
        )
        assert not model.capabilities.server_interrupts
        agent = BidiAgent(model=model, settle_timeout_s=10)
        speaking = asyncio.Event()
        output = FirstAudio(speaking)
        speech = tone_pcm16(400) + silence_pcm16(800)
        chunks = [BidiAudioInputEvent(speech[i : i + 4800]) for i in range(0, len(speech), 4800)]
        story = "tell me a very long story about the sea, the ships and the sailors"
        async with asyncio.timeout(30):
            await agent.run(inputs=[ScriptedInput([story, speaking, *chunks])], outputs=[output])
        cancels = [e for e in emu.received if e["type"] == "response.cancel"]
    [interruption] = output.of(BidiInterruptionEvent)
    assert len(cancels) == 1
    assert cancels[0]["response_id"] == interruption.response_id
    ends = {e.response_id: e.stop_reason for e in output.of(BidiResponseCompleteEvent)}
    assert ends[interruption.response_id] == "interrupted"
    assistant = [m for m in agent.messages if m["role"] == "assistant"]
    assert assistant[0].get("interrupted") is True
