"""A call survives its process: SIGKILL mid-answer, and SIGTERM with drain, through a real
nginx in front of two real ``fullduplex serve`` processes sharing a real Redis.

The client speaks docs/browser-protocol.md (tests/serve/browser_client.py); what the
model server received is read from the emulator's ``--record`` file.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest
from browser_client import PageClient
from topology import Topology, item_texts, topology, until

RATE = 16000

pytestmark = pytest.mark.timeout(90)


def answered(page: PageClient, text: str) -> bool:
    """The page got the assistant's final transcript answering ``text``."""
    return any(
        c["final"] and c["role"] == "assistant" and text in (c["text"] or "")
        for c in page.of("transcript")
    )


def user_items(topo: Topology) -> list[tuple[int, str]]:
    """(connection, text) of every user text item the model server received."""
    assert topo.emulator is not None
    return [
        (conn, text)
        for conn, event in topo.emulator.client_events("conversation.item.create")
        if event.get("item", {}).get("role") == "user"
        for text in item_texts(event)
    ]


async def _call_moves(topo: Topology, how: signal.Signals) -> None:
    assert topo.nginx is not None
    assert topo.emulator is not None
    page = PageClient(f"{topo.nginx.ws}/browser", RATE)
    ready = await page.open()
    token = ready["session"]
    first = await asyncio.to_thread(topo.holder)
    await page.send({"type": "text", "id": "q1", "text": "When does the museum open?"})
    await until(lambda: answered(page, "When does the museum open?"), 20, "the first answer")

    # the second question's answer streams at real-time pace: stop its process mid-answer
    await page.send({"type": "text", "id": "q2", "text": "And how much is a ticket?"})
    await until(lambda: page.of("audio_item")[1:], 20, "the second answer's audio")
    assert first.proc is not None
    if how is signal.SIGKILL:
        first.proc.kill()
    else:
        first.proc.send_signal(how)
    await asyncio.wait_for(page.closed.wait(), 20)
    if how is signal.SIGTERM:
        # drained: the page was told to reconnect elsewhere, and the node refused new calls
        assert page.of("reconnect"), page.controls[-5:]
        assert not page.of("bye")

    # the page comes back through the balancer with its token; what the user typed
    # during the gap is sent on the new socket, twice (the page was not sure)
    again = PageClient(f"{topo.nginx.ws}/browser?session={token}", RATE)
    resumed = await again.open(resume=token)
    assert (resumed["resumed"], resumed["session"]) == (True, token)
    second = await asyncio.to_thread(topo.holder)
    assert second is not first
    gap = "Is there parking near the entrance?"
    await again.send({"type": "text", "id": "gap-1", "text": gap})
    await again.send({"type": "text", "id": "gap-1", "text": gap})
    await until(lambda: answered(again, gap), 20, "the answer to the gap input")
    await again.send({"type": "text", "id": "q3", "text": "Thanks, and is it open on Mondays?"})
    await until(lambda: answered(again, "open on Mondays"), 20, "the next answer")

    # the second process's model connection got the history replayed, then the gap input once
    items = user_items(topo)
    texts = Counter(text for _conn, text in items)
    assert texts[gap] == 1, items
    new_conn = next(conn for conn, text in items if text == gap)
    replayed = [text for conn, text in items if conn == new_conn]
    assert replayed[:3] == [
        "When does the museum open?",
        "And how much is a ticket?",
        gap,
    ], replayed
    assistant = [
        text
        for conn, event in topo.emulator.client_events("conversation.item.create")
        if conn == new_conn and event.get("item", {}).get("role") == "assistant"
        for text in item_texts(event)
    ]
    assert assistant[:1] == ["You said: When does the museum open?"], assistant
    takeovers = await asyncio.to_thread(second.metric, "fullduplex_takeovers_total")
    assert takeovers == 1.0
    await again.send({"type": "hangup"})
    await until(lambda: again.of("bye"), 10, "bye")
    await again.close()
    await page.close()


async def test_sigkill_mid_answer_the_call_goes_on_on_the_other_process(tmp_path: Path) -> None:
    with topology(tmp_path) as topo:
        try:
            await _call_moves(topo, signal.SIGKILL)
        except BaseException:
            print(topo.logs())
            raise


async def test_sigterm_drains_and_hands_the_call_over(tmp_path: Path) -> None:
    with topology(tmp_path, drain_grace="0.5") as topo:
        try:
            await _call_moves(topo, signal.SIGTERM)
            drained = next(n for n in topo.nodes if not n.alive())
            assert drained.proc is not None
            assert drained.proc.returncode == 0, topo.logs()
        except BaseException:
            print(topo.logs())
            raise
