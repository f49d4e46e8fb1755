"""stop() and cancellation at every await point, over real sockets (issue 10, 10-13).

``tests/core/test_stop_races.py`` walks the agent's own await points with a fake
model; here ``BidiAgent`` + ``BidiOpenAIRealtimeModel`` talk to a raw websockets
server on loopback that holds the client at each point where the real stack
awaits the network:

- ``start()``: in the TCP/HTTP upgrade, after ``session.update`` went out and
  before ``session.updated`` came back, in the middle of replaying a history
  (the server stops reading, so the client's writes back up);
- ``run()``: the same while it starts, then while it waits for input, for an
  answer, and for the answer to the last input (settling);
- a reconnect: in the backoff, in the new upgrade, before the new session is
  confirmed, in the middle of the history replay and of the held input's flush;
- a tool: while it runs, while its result is being written, while it runs across
  a dropped connection, and when the tool itself stops the agent.

Each race stops (or cancels) there and checks, every wait bounded, that stop()
returned within STOP_BOUND_S, the caller ended, and (``race_kit.racing``) the
server saw the connection closed, no socket, task or ResourceWarning is left.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fault_kit import Watch, make_model, tool_results, user_texts
from race_kit import (
    STOP_BOUND_S,
    Race,
    big_history,
    bounded_stop,
    client_backlog,
    racing,
    settled,
    until,
)
from raw_server import RawConn

from fullduplex import BidiAgent
from fullduplex.errors import FullDuplexError
from fullduplex.retry import RetryPolicy
from fullduplex.testing import RecordingOutput, ScriptedInput
from fullduplex.tools import ToolContext, tool

#: a bound on a whole race: nothing in here may hang the suite
RACE_BOUND_S = 15.0
#: enough history that its replay cannot fit in loopback buffers (64 x 256 KiB = 16 MiB)
HISTORY_ITEMS, HISTORY_ITEM_CHARS = 64, 256 * 1024
#: a long backoff, so a test can stop the agent while it waits
SLOW_RETRY = RetryPolicy(initial_backoff_s=30.0, max_backoff_s=30.0, jitter=0.0)
#: reconnect at once
FAST_RETRY = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.01, jitter=0.0)


def agent_for(race: Race, **kwargs: Any) -> BidiAgent:
    kwargs.setdefault("retry", FAST_RETRY)
    return BidiAgent(make_model(race.server.base_url), **kwargs)


async def _refused_after(agent: BidiAgent) -> None:
    """Once stopped, the agent is stopped and refuses input."""
    assert not agent.started
    with pytest.raises(FullDuplexError):
        await agent.send("anyone there?")


# ----------------------------------------------------------------------- scripts


async def _answer_every_create(conn: RawConn) -> None:
    await conn.confirm()
    while True:
        await conn.until_type("response.create")
        await conn.answer("Sure.")


def _configured_then(gate_name: str, race_gates: dict[str, Any]) -> Any:
    """A script: session.created, read session.update, then pause at a gate."""

    async def script(conn: RawConn) -> None:
        await conn.send(type="session.created", session={"id": f"sess_{conn.index}"})
        await conn.until_type("session.update")
        await race_gates[gate_name].pause()

    return script


async def _stop_reading_after(conn: RawConn, kind: str, count: int) -> None:
    """Read ``count`` events of ``kind``, then stop reading the socket."""
    for _ in range(count):
        await conn.until_type(kind)
    conn.ws.transport.pause_reading()


# --------------------------------------------------------------------------- start()

START_POINTS = ("connecting", "configuring", "replaying")


async def _hold_start_at(point: str, how: str) -> None:
    gates: dict[str, Any] = {}

    async def replaying(conn: RawConn) -> None:
        await conn.send(type="session.created", session={"id": "sess_0"})
        await conn.until_type("session.update")
        await _stop_reading_after(conn, "conversation.item.create", 2)
        await gates["replaying"].pause()

    script = {
        "connecting": _answer_every_create,
        "configuring": _configured_then("configuring", gates),
        "replaying": replaying,
    }[point]
    async with racing([script], hold_handshakes=[0] if point == "connecting" else []) as race:
        if point == "connecting":
            gates[point] = race.handshake(0)
        else:
            gates[point] = race.gate(point)
        history = big_history(HISTORY_ITEMS, HISTORY_ITEM_CHARS) if point == "replaying" else None
        agent = agent_for(race, messages=history)
        starting = asyncio.create_task(agent.start())
        await gates[point].wait_reached()
        if point == "replaying":
            await until(lambda: client_backlog(agent) > 0, "the client's replay backs up")
            replayed = race.server.conns[0].count("conversation.item.create")
            assert replayed < HISTORY_ITEMS  # the client is in the middle of it
        if how == "stop":
            await bounded_stop(agent)
            ended = await settled(starting, "start()")
            assert ended is None, ended  # stop() won: start() returns, the agent stopped
        else:
            starting.cancel()
            ended = await settled(starting, "start()")
            assert isinstance(ended, asyncio.CancelledError), ended
            await bounded_stop(agent)  # nothing to do, and it says so quickly
        await _refused_after(agent)
        assert agent.messages == (history or [])  # replayed history is kept as it was


@pytest.mark.parametrize("how", ["stop", "cancel"])
@pytest.mark.parametrize("point", START_POINTS)
async def test_start_interrupted(point: str, how: str) -> None:
    """stop() during start() wins at every await point, and a cancelled start() leaves
    no socket, at every point: in the upgrade, before the session is confirmed, in the
    middle of the history replay."""
    async with asyncio.timeout(RACE_BOUND_S):
        await _hold_start_at(point, how)


# ---------------------------------------------------------------------------- run()

RUN_POINTS = ("connecting", "configuring", "awaiting_input", "answering", "settling")


async def _hold_run_at(point: str, how: str) -> None:
    gates: dict[str, Any] = {}

    async def answer_starts_then_stalls(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        rid = await conn.start_response()
        await conn.send(
            type="response.output_text.delta", response_id=rid, item_id="item_a", delta="Let me"
        )
        await gates[point].pause()

    script = {
        "connecting": _answer_every_create,
        "configuring": _configured_then("configuring", gates),
        "awaiting_input": _answer_every_create,
        "answering": answer_starts_then_stalls,
        "settling": answer_starts_then_stalls,
    }[point]
    never = asyncio.Event()
    lines: list[object] = {
        "connecting": ["hello", never],
        "configuring": ["hello", never],
        "awaiting_input": ["hello", never],
        "answering": ["hello", never],  # the input stays open: run() waits on both
        "settling": ["hello"],  # the input is done: run() waits for the answer alone
    }[point]
    async with racing([script], hold_handshakes=[0] if point == "connecting" else []) as race:
        if point == "connecting":
            gates[point] = race.handshake(0)
        elif point != "awaiting_input":
            gates[point] = race.gate(point)
        agent = agent_for(race, settle_timeout_s=60.0)
        output = RecordingOutput()
        running = asyncio.create_task(agent.run(inputs=[ScriptedInput(lines)], outputs=[output]))
        if point == "awaiting_input":
            await until(
                lambda: any(getattr(e, "text", None) == "Sure." for e in output.events),
                "the first line is answered",
            )
        else:
            await gates[point].wait_reached()
        if how == "stop":
            await bounded_stop(agent)
            ended = await settled(running, "run()")
            assert ended is None, ended
        else:
            running.cancel()
            ended = await settled(running, "run()")
            assert isinstance(ended, asyncio.CancelledError), ended
        await _refused_after(agent)


@pytest.mark.parametrize("how", ["stop", "cancel"])
@pytest.mark.parametrize("point", RUN_POINTS)
async def test_run_interrupted(point: str, how: str) -> None:
    """stop() from outside, or cancelling run(), at every await point of run(): run()
    ends (returning, or cancelled), everything it started is stopped."""
    async with asyncio.timeout(RACE_BOUND_S):
        await _hold_run_at(point, how)


# ----------------------------------------------------------------------- a reconnect

RECONNECT_POINTS = ("backoff", "connecting", "configuring", "replaying", "flushing_held_input")


async def _hold_reconnect_at(point: str) -> None:
    gates: dict[str, Any] = {}

    async def confirm_then_fail(conn: RawConn) -> None:
        await conn.confirm()
        if point == "replaying":  # take the whole first replay, then fail
            await _stop_reading_after(conn, "conversation.item.create", HISTORY_ITEMS)
            conn.ws.transport.resume_reading()
        await conn.close(1011)

    async def replaying(conn: RawConn) -> None:
        await conn.send(type="session.created", session={"id": f"sess_{conn.index}"})
        await conn.until_type("session.update")
        await _stop_reading_after(conn, "conversation.item.create", 2)
        await gates["replaying"].pause()

    async def confirm_then_stop_reading(conn: RawConn) -> None:
        await conn.confirm()
        conn.ws.transport.pause_reading()
        await gates["flushing_held_input"].pause()

    second = {
        "backoff": _answer_every_create,
        "connecting": _answer_every_create,
        "configuring": _configured_then("configuring", gates),
        "replaying": replaying,
        "flushing_held_input": confirm_then_stop_reading,
    }[point]
    held_handshake = [1] if point in ("connecting", "flushing_held_input") else []
    async with racing([confirm_then_fail, second], hold_handshakes=held_handshake) as race:
        for name in ("configuring", "replaying", "flushing_held_input"):
            gates[name] = race.gate(name)
        history = big_history(HISTORY_ITEMS, HISTORY_ITEM_CHARS) if point == "replaying" else None
        agent = agent_for(
            race, messages=history, retry=SLOW_RETRY if point == "backoff" else FAST_RETRY
        )
        await agent.start()
        held: list[str] = []
        if point == "backoff":
            await until(lambda: agent._input.restarting, "the agent is reconnecting")
            await asyncio.sleep(0.05)  # well into a 30 s backoff
        elif point == "connecting":
            await race.handshake(1).wait_reached()
        elif point == "flushing_held_input":
            await race.handshake(1).wait_reached()
            # the agent is reconnecting: these are held, and flushed once it is back
            # one line (later lines wait in the provider for their own turn) bigger
            # than loopback buffers
            held = ["y" * (HISTORY_ITEMS * HISTORY_ITEM_CHARS)]
            for text in held:
                await agent.send(text)
            assert user_texts(agent.messages) == []  # held, not yet delivered
            race.handshake(1).open()
            await gates[point].wait_reached()
            await until(lambda: client_backlog(agent) > 0, "the held input backs up")
        else:
            await gates[point].wait_reached()
        if point == "replaying":
            await until(lambda: client_backlog(agent) > 0, "the client's replay backs up")
        await bounded_stop(agent)
        await _refused_after(agent)
        if point == "backoff":
            assert len(race.server.handshakes) == 1  # no reconnect after the stop
        # what was held and never fully written to a server is not history; what was
        # delivered is, in order
        delivered = user_texts(agent.messages)[len(user_texts(history or [])) :]
        assert delivered == held[: len(delivered)]


@pytest.mark.parametrize("point", RECONNECT_POINTS)
async def test_reconnect_interrupted(point: str) -> None:
    """stop() at every await point of a reconnect ends it: in the backoff, in the new
    upgrade, before the new session is confirmed, in the middle of replaying the
    history and of flushing the input held meanwhile."""
    async with asyncio.timeout(RACE_BOUND_S):
        await _hold_reconnect_at(point)


# ---------------------------------------------------------------------------- tools


def _calls_tool(name: str, then: Any) -> Any:
    async def script(conn: RawConn) -> None:
        await conn.confirm()
        await conn.until_type("response.create")
        await conn.call_tools([("call_1", name, "{}")])
        await then(conn)

    return script


async def test_stop_while_a_tool_runs() -> None:
    """The tool is cancelled, its cancellation recorded once, nothing sent after the stop."""
    began = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Waits for ever."""
        began.set()
        await asyncio.Event().wait()
        return "never"

    async def hold(conn: RawConn) -> None:
        """Say nothing more (the server goes on reading until the client leaves)."""

    async with asyncio.timeout(RACE_BOUND_S):
        async with racing([_calls_tool("wait_forever", hold)]) as race:
            agent = agent_for(race, tools=[wait_forever])
            await agent.start()
            await agent.send("go")
            await asyncio.wait_for(began.wait(), 5)
            await bounded_stop(agent)
            await _refused_after(agent)
            results = tool_results(agent.messages, "call_1")
            assert len(results) == 1
            assert results[0]["status"] == "cancelled"
            assert race.server.conns[0].outputs("call_1") == []


async def test_stop_while_a_tool_result_is_being_written() -> None:
    """The server stops reading right after calling the tool, and the tool's result is
    bigger than loopback buffers: stop() while the result's send waits for the socket."""
    returned = asyncio.Event()

    @tool
    async def big_answer() -> str:
        """Returns a lot of text."""
        returned.set()
        return "z" * (16 * 1024 * 1024)

    async def stop_reading(conn: RawConn) -> None:
        conn.ws.transport.pause_reading()

    async with asyncio.timeout(RACE_BOUND_S):
        async with racing([_calls_tool("big_answer", stop_reading)]) as race:
            # stop() waits up to output_drain_timeout_s for a tool whose result is
            # on its way (it is no longer cancellable), then closes the socket
            agent = agent_for(race, tools=[big_answer], output_drain_timeout_s=0.5)
            await agent.start()
            watch = Watch(agent)
            await agent.send("go")
            await asyncio.wait_for(returned.wait(), 5)
            await until(lambda: client_backlog(agent) > 0, "the tool result backs up")
            await bounded_stop(agent)
            await watch.end(timeout=STOP_BOUND_S)
            # the user stopped it: the result's failed send is not the conversation's error
            assert watch.error is None, watch.error
            await _refused_after(agent)
            await watch.close()


async def test_stop_while_a_tool_runs_across_a_dropped_connection() -> None:
    """The connection drops while the tool runs; stop() in the reconnect backoff cancels
    the tool and the reconnect, and no new connection is made."""
    began = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Waits for ever."""
        began.set()
        await asyncio.Event().wait()
        return "never"

    async def drop(conn: RawConn) -> None:
        await conn.close(1011)

    async with asyncio.timeout(RACE_BOUND_S):
        async with racing([_calls_tool("wait_forever", drop)]) as race:
            agent = agent_for(race, tools=[wait_forever], retry=SLOW_RETRY)
            await agent.start()
            await agent.send("go")
            await asyncio.wait_for(began.wait(), 5)
            await until(lambda: agent._input.restarting, "the agent is reconnecting")
            await bounded_stop(agent)
            await _refused_after(agent)
            assert len(race.server.handshakes) == 1
            assert len(tool_results(agent.messages, "call_1")) == 1


async def test_a_tool_that_stops_the_agent() -> None:
    """A tool calling ``ctx.agent.stop()`` over a live socket: no deadlock, and the
    socket is closed."""
    began = asyncio.Event()

    @tool
    async def ender(ctx: ToolContext) -> str:
        """Ends the conversation from inside."""
        began.set()
        await ctx.agent.stop()  # the shutdown cancels this very tool: it ends here
        return "never reached"

    async def hold(conn: RawConn) -> None:
        """Say nothing more (the server goes on reading until the client leaves)."""

    async with asyncio.timeout(RACE_BOUND_S):
        async with racing([_calls_tool("ender", hold)]) as race:
            agent = agent_for(race, tools=[ender])
            await agent.start()
            await agent.send("go")
            await until(lambda: not agent.started, "the tool stopped the agent")
            assert began.is_set()
            await bounded_stop(agent)
            await _refused_after(agent)
            assert race.server.conns[0].outputs("call_1") == []
