"""Truncating an answer, as the service does: while it streams, and what it keeps.

Real clients (the Agents SDK's ``session.interrupt()``, pydantic-ai's
``interrupt(played_bytes=...)``) send ``conversation.item.truncate`` for the
answer still streaming, before their ``response.cancel``. The service has the
item's audio part from ``response.content_part.added`` on, so it truncates it.
After a truncate the service deletes the item's transcript, not only the
unheard part of it: the API reference says truncating "will delete the
server-side text transcript", and clients that retrieve the item afterwards see
``transcript: ""`` (openai/openai-realtime-agents#112, openai/openai-agents-js#523).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from conftest import KEY, assert_valid_frames, recv_until, user_message
from fullduplex_openai.emulator import Frame, RealtimeSession
from openai import AsyncOpenAI

LONG = " ".join(["word"] * 60)


def _start_answer(session: RealtimeSession, text: str = LONG) -> list[Frame]:
    """Ask for an audio answer; pump until three audio deltas went out (it still streams)."""
    frames = session.handle({"type": "conversation.item.create", "item": user_message(text)})
    frames += session.handle({"type": "response.create"})
    while sum(f.type == "response.output_audio.delta" for f in frames) < 3:
        frames += session.pump(max_frames=1)
    assert session.has_pending_output()
    return frames


def _answer_item_id(frames: list[Frame]) -> str:
    added = next(f for f in frames if f.type == "response.output_item.added")
    item_id: str = added.event["item"]["id"]
    return item_id


def _truncate(item_id: str, ms: int) -> dict[str, Any]:
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": ms,
    }


def _drain(session: RealtimeSession) -> list[Frame]:
    frames: list[Frame] = []
    while session.has_pending_output():
        frames += session.pump()
    return frames


def test_a_streaming_answer_has_its_audio_part_and_can_be_truncated() -> None:
    session = RealtimeSession()
    frames = _start_answer(session)
    item_id = _answer_item_id(frames)
    retrieved = session.handle({"type": "conversation.item.retrieve", "item_id": item_id})
    content = retrieved[0].event["item"]["content"]
    assert [part["type"] for part in content] == ["output_audio"]
    sent_words = "".join(
        f.event["delta"] for f in frames if f.type == "response.output_audio_transcript.delta"
    )
    assert content[0]["transcript"] == sent_words

    truncated = session.handle(_truncate(item_id, 100))
    assert [f.type for f in truncated] == ["conversation.item.truncated"]
    assert truncated[0].event["audio_end_ms"] == 100
    rest = _drain(session)
    assert_valid_frames(frames + truncated + rest)
    # the conversation keeps what was heard, however much audio streamed afterwards
    assert len(session.conversation.audio_of(item_id)) == 100 * 48
    assert session.conversation.get(item_id)["content"][0]["transcript"] == ""


def test_a_streaming_answer_refuses_a_truncate_past_the_audio_sent_so_far() -> None:
    session = RealtimeSession()
    frames = _start_answer(session)
    item_id = _answer_item_id(frames)
    sent_ms = len(session.conversation.audio_of(item_id)) // 48
    (error,) = session.handle(_truncate(item_id, sent_ms + 1))
    assert error.type == "error"
    assert error.event["error"]["param"] == "audio_end_ms"
    assert f"{sent_ms}ms is already shorter than {sent_ms + 1}ms" in error.event["error"]["message"]


def test_an_answer_with_no_audio_part_yet_is_still_refused() -> None:
    """Before ``response.content_part.added`` the item has no audio to cut (as the service says)."""
    session = RealtimeSession()
    session.handle({"type": "conversation.item.create", "item": user_message("hi")})
    frames = session.handle({"type": "response.create"})
    while not any(f.type == "conversation.item.added" for f in frames):
        frames += session.pump(max_frames=1)
    assert frames[-1].event["item"]["content"] == []
    (error,) = session.handle(_truncate(_answer_item_id(frames), 0))
    assert error.event["error"]["message"] == "Only model output audio messages can be truncated"


def test_truncate_then_cancel_closes_the_item_without_its_transcript() -> None:
    session = RealtimeSession()
    frames = _start_answer(session)
    item_id = _answer_item_id(frames)
    frames += session.handle(_truncate(item_id, 50))
    frames += session.handle({"type": "response.cancel"})
    frames += _drain(session)
    assert_valid_frames(frames)
    done = next(f for f in frames if f.type == "response.done").event["response"]
    assert done["status"] == "cancelled"
    (item,) = done["output"]
    assert item["status"] == "incomplete"
    assert item["content"] == [{"type": "output_audio", "transcript": ""}]
    retrieved = session.handle({"type": "conversation.item.retrieve", "item_id": item_id})
    assert retrieved[0].event["item"]["content"][0]["transcript"] == ""


def test_a_finished_answer_loses_its_whole_transcript_on_truncate() -> None:
    session = RealtimeSession()
    session.handle({"type": "conversation.item.create", "item": user_message(LONG)})
    session.handle({"type": "response.create"})
    frames = _drain(session)
    item_id = _answer_item_id(frames)
    assert session.conversation.get(item_id)["content"][0]["transcript"]
    session.handle(_truncate(item_id, 500))
    assert session.conversation.get(item_id)["content"][0]["transcript"] == ""
    assert len(session.conversation.audio_of(item_id)) == 500 * 48
    # the next answer is built on a conversation without the unheard words
    session.handle({"type": "response.create"})
    assert_valid_frames(_drain(session))


async def test_the_openai_client_truncates_an_answer_while_it_streams(
    make_emulator: Callable[..., Any],
) -> None:
    """Over a real socket, paced at real time: truncate after the first audio chunk, then cancel."""
    emu = await make_emulator(pace=1.0)
    client = AsyncOpenAI(base_url=emu.base_url, api_key=KEY)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await recv_until(conn, "session.created")
        await conn.conversation.item.create(item=user_message(LONG))
        await conn.response.create()
        first = (await recv_until(conn, "response.output_audio.delta"))[-1]
        await conn.conversation.item.truncate(
            item_id=first.item_id, content_index=0, audio_end_ms=20
        )
        await conn.response.cancel()
        events = await recv_until(conn, "response.done")
        assert not [e for e in events if e.type == "error"]
        truncated = [e for e in events if e.type == "conversation.item.truncated"]
        assert [(e.item_id, e.audio_end_ms) for e in truncated] == [(first.item_id, 20)]
        assert events[-1].response.status == "cancelled"
        await conn.conversation.item.retrieve(item_id=first.item_id)
        async with asyncio.timeout(10):
            retrieved = (await recv_until(conn, "conversation.item.retrieved"))[-1]
        assert retrieved.item.content[0].transcript == ""
