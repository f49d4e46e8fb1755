"""The OpenAI Agents SDK's realtime runner (``agents.realtime``) against the OpenAI emulator.

The SDK validates every server event with its own type adapter (built on the
``openai`` models) and reports a failure as an error event; each check asserts
there was none, and validates the raw events it saw with that same adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fullduplex_openai.emulator import DefaultResponder, Emulator

from .conftest import require
from .kit import KEY, LONG_QUESTION, chunks, first, spoken_turn_pcm16

realtime = require("agents.realtime", "openai-agents")
openai_realtime = require("agents.realtime.openai_realtime", "openai-agents")
agents = require("agents", "openai-agents")

ADAPTER = openai_realtime.get_server_event_type_adapter()


@agents.function_tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "84" if expression.replace(" ", "") == "12*7" else "unknown"


def _runner(emu: Emulator, *, tools: bool = False) -> Any:
    agent = realtime.RealtimeAgent(
        name="assistant", instructions="Be brief.", tools=[calculator] if tools else []
    )
    return realtime.RealtimeRunner(agent, config={"tracing_disabled": True})


def _model_config(emu: Emulator) -> dict[str, Any]:
    # the SDK's session.update names its default model; the URL's must be the same one
    return {
        "api_key": KEY,
        "url": f"{emu.websocket_url}?model=gpt-realtime",
        "initial_model_settings": {"model_name": "gpt-realtime"},
    }


def _raw(event: Any) -> dict[str, Any] | None:
    """The server event under a session event, if it is one."""
    if event.type == "raw_model_event" and event.data.type == "raw_server_event":
        data: dict[str, Any] = event.data.data
        return data
    return None


def _is_done(event: Any) -> bool:
    raw = _raw(event)
    return raw is not None and raw["type"] == "response.done"


def _check(seen: list[Any]) -> list[dict[str, Any]]:
    """No error the SDK reported; every raw event valid for its adapter; the raw events."""
    errors = [e for e in seen if e.type == "error"]
    assert not errors, errors
    raws = [raw for raw in map(_raw, seen) if raw is not None]
    for raw in raws:
        ADAPTER.validate_python(raw)
    return raws


def _transcript(done: Any) -> str:
    raw = _raw(done)
    assert raw is not None
    part = raw["response"]["output"][0]["content"][0]
    return str(part.get("transcript") or part.get("text"))


async def test_text_turn(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    seen: list[Any] = []
    async with await _runner(emu).run(model_config=_model_config(emu)) as session:
        await session.send_message("hello there")
        done = await first(session, _is_done, seen)
    _check(seen)
    assert _transcript(done) == "You said: hello there"


async def test_tool_round_trip(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator()
    seen: list[Any] = []
    async with await _runner(emu, tools=True).run(model_config=_model_config(emu)) as session:
        await session.send_message("what is 12 times 7?")
        await first(session, lambda e: e.type == "tool_end", seen)
        done = await first(session, _is_done, seen)
    _check(seen)
    (tool_end,) = [e for e in seen if e.type == "tool_end"]
    assert tool_end.output == "84"
    assert _transcript(done) == "The answer is 84."


async def test_audio_turn_with_server_vad(make_emulator: Callable[..., Any]) -> None:
    emu = await make_emulator(responder=DefaultResponder(["what is 2 plus 3?"]))
    seen: list[Any] = []
    async with await _runner(emu).run(model_config=_model_config(emu)) as session:
        for chunk in chunks(spoken_turn_pcm16()):
            await session.send_audio(chunk)
        done = await first(session, _is_done, seen)
    kinds = [raw["type"] for raw in _check(seen)]
    assert "input_audio_buffer.speech_started" in kinds
    assert "input_audio_buffer.committed" in kinds
    assert _transcript(done) == "The answer is 5."


async def test_barge_in_truncates_while_the_answer_streams(
    make_emulator: Callable[..., Any],
) -> None:
    emu = await make_emulator(pace=1.0)  # real-time pace: the answer is still streaming
    seen: list[Any] = []
    async with await _runner(emu).run(model_config=_model_config(emu)) as session:
        await session.send_message(LONG_QUESTION)
        await first(session, lambda e: e.type == "audio", seen)
        await session.interrupt()
        truncated = await first(
            session, lambda e: (_raw(e) or {}).get("type") == "conversation.item.truncated", seen
        )
    _check(seen)
    sent = [frame.type for frame in emu.sent]
    assert "error" not in sent
    # the truncate was applied while the answer streamed: before that response ended (if it did)
    ended_at = sent.index("response.done") if "response.done" in sent else len(sent)
    assert sent.index("conversation.item.truncated") < ended_at
    assert _raw(truncated)["audio_end_ms"] >= 0  # type: ignore[index]
