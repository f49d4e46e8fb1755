"""The provider-neutral agent behaviours, on every registered provider's emulator.

The providers are discovered through the registry (every model provider that
registers a ``local_server``), and each emulator is started by the kit's
``emulator_server`` fixture, so a third provider joins these tests the day its
plugin registers one. The tests name no provider and read no provider type:
a text turn, a tool round trip, ``stop_conversation`` ending ``run()``, the
lifecycle hooks, a barge-in while the answer streams (the emulator started
with ``pace=1.0``, so answers come at speaking pace), and a dropped connection
the agent restarts with its history. A drop is made provider-neutral by a TCP
relay between the model and its emulator, cut by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from fullduplex import BidiAgent
from fullduplex._history import heard_share
from fullduplex.catalog import registry
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiConnectionRestartEvent,
    BidiInputEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
)
from fullduplex.hookspecs import hookimpl
from fullduplex.messages import Message, message_text
from fullduplex.testing import RecordingOutput, ScriptedInput
from fullduplex.tools import stop_conversation
from fullduplex_emulator.pytest_plugin import RunningEmulator, StartEmulator
from fullduplex_emulator.speech import load_speech
from fullduplex_emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_tools import calculator

PROVIDERS = sorted(r.name for r in registry().entries("models") if r.local_server is not None)
Start = StartEmulator


def test_every_bundled_provider_is_covered() -> None:
    assert {"openai", "gemini"} <= set(PROVIDERS)


@pytest.fixture(params=PROVIDERS)
def emulator(request: pytest.FixtureRequest, emulator_server: Start) -> RunningEmulator:
    return emulator_server(request.param)


def assistant_texts(messages: list[Message]) -> list[str]:
    return [message_text(m) for m in messages if m["role"] == "assistant" and message_text(m)]


class Gate(RecordingOutput):
    """Sets ``gate`` once an assistant final transcript contains ``word``."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word = word
        self.gate = asyncio.Event()

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if (
            isinstance(event, BidiTranscriptStreamEvent)
            and event.is_final
            and event.role == "assistant"
            and self.word in event.current_transcript
        ):
            self.gate.set()


async def test_a_text_turn(emulator: RunningEmulator) -> None:
    agent = BidiAgent(emulator.model())
    output = Gate("hello there")
    async with asyncio.timeout(20):
        await agent.run(inputs=[ScriptedInput(["hello there", output.gate])], outputs=[output])
    assert agent.messages[0] == {"role": "user", "content": [{"text": "hello there"}]}
    [answer] = assistant_texts(agent.messages)
    assert "hello there" in answer
    assert output.audio  # every emulator speaks its answer


async def test_a_tool_round_trip(emulator: RunningEmulator) -> None:
    agent = BidiAgent(emulator.model(), tools=[calculator])
    output = Gate("answer is")
    async with asyncio.timeout(20):
        await agent.run(
            inputs=[ScriptedInput(["what is 12 times 7?", output.gate])], outputs=[output]
        )
    [result] = output.of(ToolResultEvent)
    assert (result.name, result.status) == ("calculator", "success")
    uses = [b["toolUse"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    results = [b["toolResult"] for m in agent.messages for b in m["content"] if "toolResult" in b]
    assert [u["name"] for u in uses] == ["calculator"]
    assert [r["toolUseId"] for r in results] == [uses[0]["toolUseId"]]
    # in digits, or in words where the emulator speaks with its real voice ([speech])
    answer = assistant_texts(agent.messages)[-1]
    assert "84" in answer or "eighty four" in answer


async def test_stop_conversation_ends_run(emulator: RunningEmulator) -> None:
    agent = BidiAgent(emulator.model(), tools=[stop_conversation])
    # the input never ends by itself: only the tool can end run()
    never = asyncio.Event()
    async with asyncio.timeout(20):
        await agent.run(inputs=[ScriptedInput(["goodbye", never])], outputs=[RecordingOutput()])
    uses = [b["toolUse"]["name"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    assert uses == ["stop_conversation"]


async def test_lifecycle_hooks(emulator: RunningEmulator) -> None:
    calls: list[str] = []
    added: list[Message] = []

    class Hooks:
        @hookimpl
        def on_agent_start(self, agent: BidiAgent) -> None:
            calls.append("start")

        @hookimpl
        async def on_message_added(self, agent: BidiAgent, message: Message) -> None:
            added.append(message)

        @hookimpl
        def on_agent_stop(self, agent: BidiAgent) -> None:
            calls.append("stop")

    agent = BidiAgent(emulator.model(), plugins=[Hooks()])
    output = Gate("hi")
    async with asyncio.timeout(20):
        await agent.run(inputs=[ScriptedInput(["hi", output.gate])], outputs=[output])
    assert calls == ["start", "stop"]
    assert added == agent.messages
    assert [m["role"] for m in added] == ["user", "assistant"]


LONG = (
    "tell me a long story about the sea and the ships that sail on it from one harbour "
    "to the next while the wind blows and the gulls cry over the waves all day long"
)
#: what the speaker reports it played of the cut answer (of about 2 s received)
PLAYED_MS = 700
RATE = 16_000


def spoken_question() -> bytes:
    """The user's voice at 16 kHz: real speech with the [speech] extra, else a tone.

    Either way the emulator's VAD hears speech (Silero needs real speech; the
    energy VAD takes a tone), then a second of silence ends the turn.
    """
    stack = load_speech("auto")
    voice = (
        stack.speak("what is three plus four", RATE)
        if stack is not None
        else tone_pcm16(600, rate=RATE)
    )
    return silence_pcm16(200, rate=RATE) + voice + silence_pcm16(1200, rate=RATE)


class Speaker(RecordingOutput):
    """A speaker that reports playing ``PLAYED_MS`` of each answer; opens ``barge`` at 2 s."""

    def __init__(self) -> None:
        super().__init__()
        self.agent: Any = None
        self.barge = asyncio.Event()
        self.received_ms: dict[str, float] = {}

    async def start(self, agent: Any) -> None:
        await super().start(agent)
        self.agent = agent
        agent.playback.attach_player()

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if isinstance(event, BidiAudioStreamEvent) and event.item_id:
            item = event.item_id
            ms = len(event.audio) * 1000 / (2 * event.sample_rate * event.channels)
            self.received_ms[item] = self.received_ms.get(item, 0.0) + ms
            self.agent.playback.report(item, min(PLAYED_MS, self.received_ms[item]))
            if self.received_ms[item] >= 2000:
                self.barge.set()


class Answers(RecordingOutput):
    """Counts completed responses; ``done(n)`` is set once ``n`` have completed."""

    def __init__(self) -> None:
        super().__init__()
        self.completed: list[asyncio.Event] = [asyncio.Event() for _ in range(4)]
        self.count = 0

    async def __call__(self, event: BidiOutputEvent) -> None:
        await super().__call__(event)
        if isinstance(event, BidiResponseCompleteEvent) and self.count < len(self.completed):
            self.completed[self.count].set()
            self.count += 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_barge_in_keeps_the_heard_part_and_the_next_turn_works(
    emulator_server: Start, provider: str
) -> None:
    emulator = emulator_server(provider, pace=1.0)
    model = emulator.model()
    sent: list[BidiInputEvent] = []
    send = model.send

    async def recording_send(event: BidiInputEvent) -> None:
        sent.append(event)
        await send(event)

    model.send = recording_send  # type: ignore[method-assign]
    agent = BidiAgent(model)
    speaker, other = Speaker(), Answers()
    voice = spoken_question()
    chunk = RATE * 2 // 10  # 100 ms
    chunks = [BidiAudioInputEvent(voice[i : i + chunk], RATE) for i in range(0, len(voice), chunk)]
    # the long answer is cut by the user's voice; its answer, then a typed turn, follow
    script = ScriptedInput(
        [LONG, speaker.barge, *chunks, other.completed[1], "next", other.completed[2]]
    )
    async with asyncio.timeout(60):
        await agent.run(inputs=[script], outputs=[speaker, other])

    # every output was told, once
    [cut] = speaker.of(BidiInterruptionEvent)
    assert len(other.of(BidiInterruptionEvent)) == 1
    assert cut.item_id
    said = next(
        e.current_transcript
        for e in speaker.of(BidiTranscriptStreamEvent)
        if e.is_final and e.role == "assistant" and e.item_id == cut.item_id
    )
    assert said
    assert f"You said: {LONG}".startswith(said)
    assistants = [m for m in agent.messages if m["role"] == "assistant"]
    first = assistants[0]
    assert first.get("interrupted") is True
    truncates = [e for e in sent if isinstance(e, BidiAudioTruncateEvent)]
    if model.capabilities.truncation:
        # the server forgets what was not heard
        assert [(t.item_id, t.audio_end_ms) for t in truncates] == [(cut.item_id, PLAYED_MS)]
    else:
        # no truncation on the wire: the history keeps only the heard share
        assert truncates == []
        kept = message_text(first)
        assert 0 < len(kept) < len(said)
        assert kept == heard_share(said, PLAYED_MS / cut.audio_received_ms)
    # the spoken question was answered in full, and so was the typed turn after it
    assert [m.get("interrupted", False) for m in assistants[1:]] == [False, False]
    assert message_text(assistants[-1]) == "You said: next"
    users = [message_text(m) for m in agent.messages if m["role"] == "user"]
    assert users[0] == LONG
    assert users[-1] == "next"


class Relay:
    """A TCP relay in front of an emulator; ``cut()`` drops every connection through it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            transport = writer.transport
            transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


async def test_a_dropped_connection_is_restarted_with_history(emulator: RunningEmulator) -> None:
    client: dict[str, Any] = dict(emulator.connect_kwargs["client_config"])
    target = urlsplit(client["base_url"])
    relay = Relay(target.hostname or "127.0.0.1", target.port or 80)
    port = await relay.start()
    try:
        agent = BidiAgent(
            emulator.model(client_config={"base_url": _through(client["base_url"], port)}),
            restart_backoff_s=0,
        )
        first = Gate("first")
        second = Gate("second")

        class Both(RecordingOutput):
            async def __call__(self, event: BidiOutputEvent) -> None:
                await super().__call__(event)
                await first(event)
                await second(event)

        async def drop_after_first() -> None:
            await first.gate.wait()
            relay.cut()

        output = Both()
        async with asyncio.timeout(30):
            dropper = asyncio.create_task(drop_after_first())
            await agent.run(
                inputs=[ScriptedInput(["first", first.gate, 0.5, "second", second.gate])],
                outputs=[output],
            )
            await dropper
    finally:
        await relay.close()
    restarts = output.of(BidiConnectionRestartEvent)
    assert restarts
    assert relay.connections >= 2
    texts = assistant_texts(agent.messages)
    assert any("first" in t for t in texts)
    assert "second" in texts[-1]
    users = [message_text(m) for m in agent.messages if m["role"] == "user"]
    assert users == ["first", "second"]
    assert output.of(BidiResponseCompleteEvent)


def test_a_setting_the_local_server_does_not_take_is_named(emulator_server: Start) -> None:
    with pytest.raises(LookupError, match="takes no setting 'speed'"):
        emulator_server(PROVIDERS[0], speed=2.0)
