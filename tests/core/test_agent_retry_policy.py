"""The reconnect policy, and what the conversation does once it is over (issue 10, 3, 4, 6, 8)."""

from __future__ import annotations

import asyncio

import pytest
from agent_kit import drain, only_core_plugins, other_tasks, settle_loop

from fullduplex.agent import BidiAgent
from fullduplex.errors import (
    FullDuplexError,
    ModelAuthenticationError,
    ModelConnectionError,
)
from fullduplex.events import (
    BidiConnectionStartEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
)
from fullduplex.testing import FakeModel, emit, end, expect, fail

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


def _confirm_then_drop(times: int) -> FakeModel:
    """A server that confirms every session and then drops it."""
    steps = []
    for n in range(times):
        steps += [emit(BidiConnectionStartEvent(f"conn-{n}")), fail(ModelConnectionError(f"d{n}"))]
    return FakeModel(steps)


async def test_confirm_then_drop_is_bounded_with_growing_jittered_delays() -> None:
    from fullduplex.errors import ModelRetriesExhaustedError
    from fullduplex.retry import RetryPolicy

    policy = RetryPolicy(max_attempts=4, initial_backoff_s=0.25, max_backoff_s=1.5, jitter=0.2)
    model = _confirm_then_drop(50)
    agent = BidiAgent(model, retry=policy)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    agent._restarts.sleep = fake_sleep  # the test seam: no real waiting
    agent._restarts.rand = lambda: 1.0  # the largest jitter upwards
    async with agent:
        with pytest.raises(ModelRetriesExhaustedError, match="gave up reconnecting") as caught:
            await drain(agent.receive())
        # the conversation is over: send() raises what ended it
        with pytest.raises(ModelRetriesExhaustedError):
            await agent.send("anyone there?")
    assert isinstance(caught.value, ModelConnectionError)
    assert not caught.value.restartable
    assert len(model.starts) == 1 + 4  # bounded: the first connection and four reconnects
    assert waits == pytest.approx([0.3, 0.6, 1.2, 1.8])  # doubling, capped, +20 %
    assert agent.messages == []  # the refused text is not history


def test_default_policy_outlasts_a_ten_second_outage() -> None:
    from fullduplex.retry import RetryPolicy

    policy = RetryPolicy()
    assert policy.total_backoff_s(rand=0.0) > 10.0  # even with the jitter all the way down
    assert policy.backoff_s(1, 0.5) == 0.25
    assert policy.backoff_s(20, 0.5) == policy.max_backoff_s


async def test_a_connection_healthy_long_enough_resets_the_count() -> None:
    from fullduplex.retry import RetryPolicy

    clock = [0.0]
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0, healthy_after_s=5, window_s=15)
    # each connection carries a real response, then lives 10 s (fake clock), then drops
    steps = []
    for n in range(4):
        steps += [emit(BidiResponseStartEvent(f"r{n}")), fail(ModelConnectionError(f"d{n}"))]
    model = FakeModel(steps)
    agent = BidiAgent(model, retry=policy)
    agent._restarts.clock = lambda: clock[0]
    real_handle = agent._handle

    async def handle(event: object) -> None:
        await real_handle(event)  # type: ignore[arg-type]
        clock[0] += 10.0

    agent._handle = handle  # type: ignore[method-assign]
    async with agent:
        async with asyncio.timeout(3):
            events = agent.receive()
            seen = 0
            async for event in events:
                if isinstance(event, BidiResponseStartEvent):
                    seen += 1
                    if seen == 4:
                        break
    # four drops, each after a healthy connection: never more than one attempt in a row
    assert len(model.starts) == 4


async def test_too_many_failures_in_the_window_give_up_even_if_briefly_healthy() -> None:
    from fullduplex.errors import ModelRetriesExhaustedError
    from fullduplex.retry import RetryPolicy

    clock = [0.0]
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0, healthy_after_s=5, window_s=1000)
    steps = []
    for n in range(10):
        steps += [emit(BidiResponseStartEvent(f"r{n}")), fail(ModelConnectionError(f"d{n}"))]
    model = FakeModel(steps)
    agent = BidiAgent(model, retry=policy)
    agent._restarts.clock = lambda: clock[0]
    real_handle = agent._handle

    async def handle(event: object) -> None:
        await real_handle(event)  # type: ignore[arg-type]
        clock[0] += 10.0

    agent._handle = handle  # type: ignore[method-assign]
    async with agent:
        with pytest.raises(ModelRetriesExhaustedError, match="within 1000 s"):
            await drain(agent.receive())
    assert len(model.starts) == 3  # two reconnects, the third failure in the window ends it


async def test_send_after_a_fatal_error_raises_it() -> None:
    model = FakeModel([expect(BidiTextInputEvent), fail(ModelAuthenticationError("key gone"))])
    async with BidiAgent(model) as agent:
        await agent.send("hello")
        with pytest.raises(ModelAuthenticationError):
            await drain(agent.receive())
        with pytest.raises(ModelAuthenticationError, match="key gone"):
            await agent.send("still there?")
    assert [getattr(e, "text", None) for e in model.sent] == ["hello"]
    assert [m["content"][0]["text"] for m in agent.messages] == ["hello"]


async def test_send_after_the_model_closed_is_refused_and_not_history() -> None:
    model = FakeModel([end()])
    async with BidiAgent(model) as agent:
        await drain(agent.receive())
        with pytest.raises(FullDuplexError, match="conversation is over"):
            await agent.send("lost")
    assert model.sent == []
    assert agent.messages == []


async def test_input_held_during_a_restart_that_gives_up_never_lands_in_history() -> None:
    gate = asyncio.Event()

    class SlowRestart(FakeModel):
        async def start(self, system_prompt=None, tools=None, messages=None):  # type: ignore[no-untyped-def]
            if self.starts:
                await gate.wait()
                self.starts.append(self.starts[0])
                raise ModelAuthenticationError("refused on reconnect")
            await super().start(system_prompt, tools, messages)

    model = SlowRestart([fail(ModelConnectionError("drop"))])
    agent = BidiAgent(model, restart_backoff_s=0)
    async with agent:
        async with asyncio.timeout(3):
            while not agent._input.restarting:
                await asyncio.sleep(0)
            await agent.send("held while reconnecting")  # held: a restart is under way
            gate.set()
            with pytest.raises(ModelAuthenticationError):
                await drain(agent.receive())
    assert model.sent == []
    assert agent.messages == []  # it never reached a server
    await settle_loop()
    assert other_tasks() == set()
