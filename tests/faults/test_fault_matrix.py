"""The fault matrix: every way a realtime connection dies, at every point of a conversation.

``BidiAgent`` + ``BidiOpenAIRealtimeModel`` over real loopback websockets, against the
scripted raw server (exact drop points, half-open sockets) and the emulator's fault
injection (a full audio conversation). Each case asserts three things:

- what reached the user: the answer once, a restart notice for a survivable loss, the
  error that ended the conversation for a fatal one;
- what the server received: the history replayed once, each tool result once, one
  ``response.create`` per owed answer (never one before a tool batch is complete);
- the history: no duplicate user message, each tool result exactly once, nothing held
  forever (input after the end is refused, not parked).

Close codes: 1000 (a close the client did not ask for), 1001 (going away), 1006 (no
close frame: the TCP connection is aborted), 1011 (server error) are survivable; 4000
(the beta shape refused) and 1008 (policy: credentials) end the conversation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fault_kit import (
    KEEPALIVE,
    Watch,
    assistant_texts,
    leftover_tasks,
    make_agent,
    make_model,
    tool_results,
    tool_uses,
    user_texts,
)
from raw_server import ABORT, RawConn, RawServer

from fullduplex.errors import FullDuplexError, ModelAuthenticationError, ModelConnectionError
from fullduplex.events import BidiAudioStreamEvent, BidiErrorEvent
from fullduplex_openai.emulator import Emulator, Faults
from fullduplex_tools import calculator

SURVIVABLE = (1000, 1001, ABORT, 1011)
FATAL = (4000, 1008)
CODES = (*SURVIVABLE, *FATAL)


def _is_output(call_id: str) -> Any:
    return lambda e: (
        e.get("type") == "conversation.item.create"
        and e["item"].get("type") == "function_call_output"
        and e["item"].get("call_id") == call_id
    )


async def _answer_each_create(conn: RawConn, *texts: str) -> None:
    """Confirm, then answer one ``response.create`` per text, in order."""
    await conn.confirm()
    for text in texts:
        await conn.until_type("response.create")
        await conn.answer(text)


async def _assert_ended_by(watch: Watch, code: int) -> None:
    """A fatal close: receive() raised the authentication error; send() raises it too and
    keeps nothing."""
    await watch.end()
    assert isinstance(watch.error, ModelAuthenticationError), watch.error
    assert str(code) in str(watch.error)
    assert watch.restarts() == []
    before = list(watch.agent.messages)
    with pytest.raises(FullDuplexError):
        await watch.agent.send("anyone there?")
    assert watch.agent.messages == before  # refused input never reaches history


# -------------------------------------------------------------- close code x drop point


@pytest.mark.parametrize("code", CODES)
async def test_before_session_confirmed(code: int) -> None:
    """The server hangs up before confirming the first session: start() fails with the
    matching error, nothing is left running, nothing was recorded."""

    async def hang_up(conn: RawConn) -> None:
        await conn.close(code)

    async with RawServer([hang_up]) as server:
        tasks = set(asyncio.all_tasks())
        agent = make_agent(make_model(server.base_url))
        expected = ModelConnectionError if code in SURVIVABLE else ModelAuthenticationError
        async with asyncio.timeout(10):
            with pytest.raises(expected):
                await agent.start()
        assert not agent.started
        assert agent.messages == []
        with pytest.raises(FullDuplexError):
            await agent.send("hello?")
        assert agent.messages == []
        assert len(server.conns) == 1
    assert leftover_tasks(tasks) == []


@pytest.mark.parametrize("code", CODES)
async def test_mid_response(code: int) -> None:
    """The connection dies while the answer streams: a survivable loss reconnects, replays
    the question once and gets the answer once; a fatal one ends the conversation."""

    async def drop_mid_answer(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        rid = await conn.start_response()
        await conn.send(
            type="response.output_text.delta", response_id=rid, item_id="item_cut", delta="The a"
        )
        await conn.close(code)

    async def answer(conn: RawConn) -> None:
        await _answer_each_create(conn, "The answer is 4.")

    async with RawServer([drop_mid_answer, answer]) as server:
        agent = make_agent(make_model(server.base_url))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("what is 2 plus 2?")
            if code in FATAL:
                await _assert_ended_by(watch, code)
                assert user_texts(agent.messages) == ["what is 2 plus 2?"]
                assert len(server.conns) == 1
                return
            await watch.said("The answer is 4.", timeout=5)
        finally:
            await watch.close()

    assert len(watch.restarts()) == 1
    assert watch.answers() == ["The answer is 4."]
    replay = server.conns[1]
    assert replay.texts("user") == ["what is 2 plus 2?"]
    assert replay.count("response.create") == 1
    assert user_texts(agent.messages) == ["what is 2 plus 2?"]
    assert assistant_texts(agent.messages) == ["The answer is 4."]


@pytest.mark.parametrize("code", CODES)
async def test_mid_tool_call(code: int) -> None:
    """The connection dies while a tool runs: its result reaches the new connection and
    the history exactly once, followed by one request for the answer."""

    async def call_then_drop(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.call_tools([("call_1", "slow_lookup", '{"key": "x"}')])
        await conn.close(code)

    async def answer_after_result(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until(_is_output("call_1"))
        await conn.until_type("response.create")
        await conn.answer("x is slow:x")

    async with RawServer([call_then_drop, answer_after_result]) as server:
        agent = make_agent(make_model(server.base_url))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("look x up")
            if code in FATAL:
                await _assert_ended_by(watch, code)
                await agent.stop()
                # the call is in history with exactly one result (cancelled or done)
                assert len(tool_uses(agent.messages, "call_1")) == 1
                assert len(tool_results(agent.messages, "call_1")) == 1
                return
            await watch.said("x is slow:x", timeout=5)
        finally:
            await watch.close()

    assert len(watch.restarts()) == 1
    assert ["slow:x" in r.content for r in watch.results("call_1")] == [True]
    replay = server.conns[1]
    assert len(replay.outputs("call_1")) == 1
    assert replay.count("response.create") == 1
    creates = [i for i, t in enumerate(replay.types()) if t == "response.create"]
    output_at = replay.received.index(next(e for e in replay.received if _is_output("call_1")(e)))
    assert creates[0] > output_at  # the answer is asked for once the result is there
    assert server.conns[0].outputs("call_1") == []
    assert len(tool_uses(agent.messages, "call_1")) == 1
    assert len(tool_results(agent.messages, "call_1")) == 1
    assert user_texts(agent.messages) == ["look x up"]


@pytest.mark.parametrize("code", CODES)
async def test_between_tool_results(code: int) -> None:
    """Two parallel calls; the connection dies after the first result. The new connection
    gets both results once each and exactly one ``response.create``, after both."""

    async def two_calls_then_drop(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.call_tools(
            [("call_a", "fast_lookup", '{"key": "a"}'), ("call_b", "slow_lookup", '{"key": "b"}')]
        )
        await conn.until(_is_output("call_a"))
        await conn.close(code)

    async def answer_after_both(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until(_is_output("call_b"))
        await conn.until_type("response.create")
        await conn.answer("a and b")

    async with RawServer([two_calls_then_drop, answer_after_both]) as server:
        agent = make_agent(make_model(server.base_url))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("look a and b up")
            if code in FATAL:
                await _assert_ended_by(watch, code)
                await agent.stop()
                for call in ("call_a", "call_b"):
                    assert len(tool_results(agent.messages, call)) == 1
                return
            await watch.said("a and b", timeout=5)
            await asyncio.sleep(0.2)  # a second, wrong response.create would come now
        finally:
            await watch.close()

    first, replay = server.conns[0], server.conns[1]
    # no answer was requested on the first connection for a half-answered batch
    assert first.count("response.create") == 1  # the user's question only
    assert len(replay.outputs("call_a")) == 1
    assert len(replay.outputs("call_b")) == 1
    assert replay.count("response.create") == 1
    create_at = replay.types().index("response.create")
    for call in ("call_a", "call_b"):
        output_at = next(i for i, e in enumerate(replay.received) if _is_output(call)(e))
        assert output_at < create_at, replay.types()
        assert len(tool_results(agent.messages, call)) == 1
    assert watch.answers() == ["a and b"]
    assert user_texts(agent.messages) == ["look a and b up"]


@pytest.mark.parametrize("code", CODES)
async def test_during_replay(code: int) -> None:
    """The first connection dies mid-answer; the second dies while the history is being
    replayed into it; the third carries the conversation on, with the history once."""

    async def answer_then_drop(conn: RawConn) -> None:
        await _answer_each_create(conn, "one")
        await conn.until_type("response.create")
        await conn.start_response()
        await conn.close(1011)

    async def drop_in_replay(conn: RawConn) -> None:
        await conn.send(type="session.created", session={"id": "sess_replay"})
        await conn.until_type("conversation.item.create")
        await conn.close(code)

    async def answer(conn: RawConn) -> None:
        await _answer_each_create(conn, "two")

    async with RawServer([answer_then_drop, drop_in_replay, answer]) as server:
        agent = make_agent(make_model(server.base_url))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("first")
            await watch.said("one")
            await agent.send("second")
            if code in FATAL:
                await _assert_ended_by_replay(watch, code)
                assert user_texts(agent.messages) == ["first", "second"]
                assert len(server.conns) == 2
                return
            await watch.said("two")
        finally:
            await watch.close()

    assert len(server.conns) == 3
    third = server.conns[2]
    assert third.texts("user") == ["first", "second"]
    assert third.texts("assistant") == ["one"]
    assert third.count("response.create") == 1
    assert watch.answers() == ["one", "two"]
    assert user_texts(agent.messages) == ["first", "second"]
    assert assistant_texts(agent.messages) == ["one", "two"]


async def _assert_ended_by_replay(watch: Watch, code: int) -> None:
    """A fatal close while reconnecting: the conversation ends with that error."""
    await watch.end()
    assert isinstance(watch.error, ModelAuthenticationError), watch.error
    assert str(code) in str(watch.error)
    with pytest.raises(FullDuplexError):
        await watch.agent.send("still there?")
    assert "still there?" not in user_texts(watch.agent.messages)


# -------------------------------------------------------------- giving up, holding nothing


async def test_giving_up_after_the_reconnect_budget_refuses_later_input() -> None:
    """Every reconnect fails before its session is confirmed: after ``max_restarts``
    attempts receive() raises, send() raises that error, and nothing sits in a hold."""

    async def drop_mid_answer(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.start_response()
        await conn.close(1011)

    async def refuse(conn: RawConn) -> None:
        await conn.close(1011)

    async with RawServer([drop_mid_answer, refuse]) as server:
        agent = make_agent(make_model(server.base_url), max_restarts=2)
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("hello")
            await watch.end()
            assert isinstance(watch.error, ModelConnectionError), watch.error
            with pytest.raises(FullDuplexError):
                await agent.send("later")
        finally:
            await watch.close()
    assert len(server.conns) == 1 + 2
    assert user_texts(agent.messages) == ["hello"]


# ------------------------------------------------------------- stalls and half-open sockets


async def test_half_open_mid_response_is_noticed_by_the_keepalive() -> None:
    """The server stops reading (no pong) and writing mid-answer: with a 0.2 s ping and a
    0.4 s timeout the client notices in about a second, not after the default 40 s."""

    async def freeze(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.start_response()
        await conn.half_open()

    async def answer(conn: RawConn) -> None:
        await _answer_each_create(conn, "back again")

    async with RawServer([freeze, answer]) as server:
        agent = make_agent(make_model(server.base_url, **KEEPALIVE))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("are you there?")
            await watch.said("back again", timeout=6)
        finally:
            await watch.close()
    assert len(watch.restarts()) == 1
    assert server.conns[1].texts("user") == ["are you there?"]
    assert user_texts(agent.messages) == ["are you there?"]
    assert assistant_texts(agent.messages) == ["back again"]


async def test_half_open_idle_connection_is_replaced() -> None:
    """An idle connection whose peer went silent is replaced before the user speaks, and
    the next line is answered on the new one."""

    async def freeze(conn: RawConn) -> None:
        await conn.confirm()
        await conn.half_open()

    async def answer(conn: RawConn) -> None:
        await _answer_each_create(conn, "hi there")

    async with RawServer([freeze, answer]) as server:
        agent = make_agent(make_model(server.base_url, **KEEPALIVE))
        await agent.start()
        watch = Watch(agent)
        try:
            await watch.until(lambda: bool(watch.restarts()), "a reconnect", timeout=6)
            await agent.send("hello")
            await watch.said("hi there")
        finally:
            await watch.close()
    assert server.conns[0].texts("user") == []
    assert server.conns[1].texts("user") == ["hello"]
    assert user_texts(agent.messages) == ["hello"]


async def test_silent_server_before_session_fails_start_within_the_connect_timeout() -> None:
    """The server accepts the websocket and never confirms a session: start() fails with
    ``session_timeout`` after ``connect_timeout_s``, and leaves nothing running."""

    async def say_nothing(conn: RawConn) -> None:
        await conn.hold()

    async with RawServer([say_nothing]) as server:
        tasks = set(asyncio.all_tasks())
        agent = make_agent(make_model(server.base_url, connect_timeout_s=0.5))
        async with asyncio.timeout(5):
            with pytest.raises(ModelConnectionError) as caught:
                await agent.start()
        assert caught.value.code == "session_timeout"
        assert not agent.started
    assert leftover_tasks(tasks) == []


async def test_a_refused_response_create_without_event_id_does_not_block_later_turns() -> None:
    """The server answers ``response.create`` with an ``error`` that echoes no event id
    and never creates the response: the user sees the error, and the next line still
    gets its own ``response.create`` and its answer."""

    async def refuse_first(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.send(
            type="error",
            error={
                "type": "invalid_request_error",
                "code": "invalid_value",
                "message": "The response could not be created.",
            },
        )
        await conn.until_type("response.create")
        await conn.answer("second answer")

    async with RawServer([refuse_first]) as server:
        agent = make_agent(make_model(server.base_url))
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("first")
            await watch.until(
                lambda: any(isinstance(e, BidiErrorEvent) for e in watch.events), "the refusal"
            )
            await agent.send("second")
            await watch.said("second answer", timeout=5)
        finally:
            await watch.close()
    assert server.conns[0].count("response.create") == 2
    assert watch.restarts() == []
    assert user_texts(agent.messages) == ["first", "second"]


# ----------------------------------------------------- the emulator's faults, with audio


@pytest.mark.parametrize("code", [1000, 1001, None, 1011])
@pytest.mark.parametrize(
    "drop_at", ["response.output_audio.delta", "response.function_call_arguments.done"]
)
async def test_emulator_drop_during_a_spoken_answer(code: int | None, drop_at: str) -> None:
    """The emulator drops the first connection (``None``: no close frame) at the first
    audio chunk or at the tool call: the spoken answer arrives once, after one restart,
    with the question and each tool result in history once."""
    async with Emulator(api_key="emu-fault-key") as emu:
        emu.faults = Faults(drop_at_event_type=drop_at, close_code=code)
        agent = make_agent(make_model(emu.base_url, key="emu-fault-key"), tools=[calculator])
        await agent.start()
        emu.faults = Faults()  # only the first connection breaks
        watch = Watch(agent)
        try:
            await agent.send("what is 12 times 7?")
            await watch.said("The answer is 84.", timeout=10)
            await asyncio.sleep(0.2)  # a duplicate answer would arrive now
        finally:
            await watch.close()
        received = list(emu.received)
        connections = len(emu.connections)

    assert connections == 2
    assert len(watch.restarts()) == 1
    assert watch.answers().count("The answer is 84.") == 1
    assert any(isinstance(e, BidiAudioStreamEvent) for e in watch.events)
    assert user_texts(agent.messages) == ["what is 12 times 7?"]
    calls = [
        block["toolUse"]["toolUseId"]
        for message in agent.messages
        for block in message["content"]
        if "toolUse" in block
    ]
    assert len(calls) == len(set(calls)) == 1
    assert len(tool_results(agent.messages, calls[0])) == 1
    # each connection got the result at most once (live, or replayed with the history)
    starts = [i for i, e in enumerate(received) if e.get("type") == "session.update"]
    assert len(starts) == 2
    for begin, end in zip(starts, [*starts[1:], len(received)], strict=True):
        outputs = [
            e
            for e in received[begin:end]
            if e.get("type") == "conversation.item.create"
            and e["item"].get("type") == "function_call_output"
        ]
        assert len(outputs) <= 1
        assert sum(e.get("type") == "response.create" for e in received[begin:end]) <= 2
