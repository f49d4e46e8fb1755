"""Surviving a dropped connection: restart with history, hold input, give up when bounded."""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_kit import drain, only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.errors import ModelAuthenticationError, ModelConnectionError, ModelTimeoutError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiConnectionRestartEvent,
    BidiInputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    event_from_dict,
)
from fullduplex.hookspecs import hookimpl
from fullduplex.testing import FakeModel, emit, expect, fail

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


class GatedStartModel(FakeModel):
    """A FakeModel whose restarts wait for a gate, so input can arrive meanwhile."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gate = asyncio.Event()
        self.restarting = asyncio.Event()

    async def start(self, system_prompt=None, tools=None, messages=None):  # type: ignore[no-untyped-def]
        if self.starts:
            self.restarting.set()
            await self.gate.wait()
        await super().start(system_prompt, tools, messages)


async def test_restart_replays_history_holds_input_and_emits_event() -> None:
    restarts: list[BidiConnectionRestartEvent] = []

    class Watcher:
        @hookimpl
        async def on_connection_restart(
            self, agent: BidiAgent, event: BidiConnectionRestartEvent
        ) -> None:
            await asyncio.sleep(0)
            restarts.append(event)

    model = GatedStartModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                BidiTranscriptStreamEvent("hi", "assistant", True, "hi there", "r1", "a1"),
                BidiResponseCompleteEvent("r1"),
            ),
            fail(ModelConnectionError("socket closed")),
            expect(BidiAudioInputEvent),
            expect(BidiTextInputEvent, where=lambda e: e.text == "after"),
            emit(BidiResponseStartEvent("r2")),
        ]
    )
    agent = BidiAgent(model, system_prompt="sys", plugins=[Watcher()], restart_backoff_s=0)
    received = []
    async with agent:
        await agent.send("hello")
        events = agent.receive()
        async with asyncio.timeout(3):
            async for event in events:
                received.append(event)
                if isinstance(event, BidiResponseCompleteEvent):
                    break
            await model.restarting.wait()
            # input sent while the new connection is being opened is held...
            await agent.send(BidiAudioInputEvent(b"\x01\x00" * 10))
            await agent.send("after")
            assert len(model.sent) == 1
            model.gate.set()
            # ...and delivered after the restart, in order
            async for event in events:
                received.append(event)
                if isinstance(event, BidiResponseStartEvent) and event.response_id == "r2":
                    break
    assert [type(e) for e in model.sent] == [
        BidiTextInputEvent,
        BidiAudioInputEvent,
        BidiTextInputEvent,
    ]
    assert len(model.starts) == 2
    second = model.starts[1]
    assert second.system_prompt == "sys"
    assert second.messages == [
        {"role": "user", "content": [{"text": "hello"}]},
        {"role": "assistant", "content": [{"text": "hi there"}]},
    ]
    (restart,) = [e for e in received if isinstance(e, BidiConnectionRestartEvent)]
    assert restart.reason == "connection_lost"
    assert restart.attempt == 1
    assert "socket closed" in (restart.error or "")
    assert event_from_dict(json.loads(json.dumps(restart.to_dict()))) == restart
    assert restarts == [restart]
    # "after" was recorded once, after the replayed history
    assert [m["content"][0].get("text") for m in agent.messages][-1] == "after"
    await settle_loop()
    assert other_tasks() == set()


async def test_client_timeout_restarts_with_reason_timeout() -> None:
    model = FakeModel(
        [fail(ModelTimeoutError("timeout_s reached")), emit(BidiResponseStartEvent("r"))]
    )
    async with BidiAgent(model, restart_backoff_s=0) as agent:
        async with asyncio.timeout(3):
            events = agent.receive()
            first = await anext(events)
            second = await anext(events)
    assert isinstance(first, BidiConnectionRestartEvent)
    assert first.reason == "timeout"
    assert isinstance(second, BidiResponseStartEvent)
    assert model.stop_calls >= 2  # once for the restart, once at the end


async def test_restarts_are_bounded_then_the_error_is_raised() -> None:
    model = FakeModel([fail(ModelConnectionError(f"drop {n}")) for n in range(10)])
    async with BidiAgent(model, max_restarts=2, restart_backoff_s=0.01) as agent:
        with pytest.raises(ModelConnectionError, match="drop 2"):
            await drain(agent.receive())
    assert len(model.starts) == 3  # the first connection and two restarts


async def test_non_restartable_error_is_raised_without_restart() -> None:
    model = FakeModel([fail(ModelAuthenticationError("key refused"))])
    async with BidiAgent(model) as agent:
        with pytest.raises(ModelAuthenticationError):
            await drain(agent.receive())
    assert len(model.starts) == 1


async def test_a_failed_send_triggers_a_restart_and_the_input_is_resent() -> None:
    model = FakeModel([expect(BidiTextInputEvent), emit(BidiResponseStartEvent("r1"))])
    async with BidiAgent(model, restart_backoff_s=0) as agent:
        model.send_error = ModelConnectionError("broken pipe")
        await agent.send("lost?")
        model.send_error = None
        async with asyncio.timeout(3):
            kinds = []
            async for event in agent.receive():
                kinds.append(event.type)
                if event.type == "bidi_response_start":
                    break
    assert kinds == ["bidi_connection_restart", "bidi_response_start"]
    sent: list[BidiInputEvent] = model.sent
    assert [getattr(e, "text", None) for e in sent] == ["lost?"]
    assert agent.messages == [{"role": "user", "content": [{"text": "lost?"}]}]
