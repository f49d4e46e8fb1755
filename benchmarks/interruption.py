"""Interruption latency: ``speech_started`` on the wire -> outputs silent, truncate sent.

The benchmark server (its own process, CPU 1) starts a response, writes a few
audio deltas, and ``gap_ms`` later writes ``input_audio_buffer.speech_started``,
stamping ``time.monotonic_ns()`` just before the write. The client (its own
process, CPU 0) runs ``BidiAgent.run()`` with two outputs: a "speaker" that
takes 20 ms per audio chunk (so it has a backlog to drop) and a fast one. Each
output stamps the moment the ``BidiInterruptionEvent`` reaches it; the server
stamps the arrival of the ``conversation.item.truncate`` the agent sends.
Both clocks are CLOCK_MONOTONIC on one host, so the differences are direct:

- ``to_outputs_dropped_ms``: speech_started written -> the last output told;
- ``to_truncate_received_ms``: speech_started written -> truncate read by the server.

The stamps are taken outside the client (before the server's write, after the
server's read), so they include two loopback hops. The ``floor`` is a bare
websockets client, same process layout, that on ``speech_started`` stamps
(its "outputs dropped") and sends the truncate at once.

Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/interruption.py [--quick] [--interruptions 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from _common import (
    bare_session,
    command,
    emit,
    floor_and_agent,
    make_model,
    pin,
    quantiles,
    user_message,
)

FRAMES = 5  # 100 ms of audio before each interruption
GAP_MS = 15.0


async def _floor_client(url: str, count: int) -> list[int | None]:
    import orjson

    drops: list[int | None] = []
    async with bare_session(url) as ws:
        create = user_message(command("interrupt", frames=FRAMES, gap_ms=GAP_MS))
        for _ in range(count):
            await ws.send(create)
            await ws.send(json.dumps({"type": "response.create"}))
            item_id = ""
            while True:
                event = orjson.loads(await ws.recv(decode=False))
                kind = event["type"]
                if kind == "response.output_audio.delta":
                    item_id = event["item_id"]
                elif kind == "input_audio_buffer.speech_started":
                    drops.append(time.monotonic_ns())
                    truncate = {
                        "type": "conversation.item.truncate",
                        "item_id": item_id,
                        "content_index": 0,
                        "audio_end_ms": 10,
                    }
                    await ws.send(orjson.dumps(truncate), text=True)
                elif kind == "response.done":
                    break
    return drops


class _Probe:
    """An output that stamps the interruption; optionally slow with audio (a speaker)."""

    def __init__(self, chunk_s: float, cycle: list[int], done: asyncio.Event | None) -> None:
        self.chunk_s = chunk_s
        self.cycle = cycle
        self.done = done
        self.stamps: dict[int, int] = {}

    async def start(self, agent: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def __call__(self, event: Any) -> None:
        from fullduplex.events import (
            BidiAudioStreamEvent,
            BidiInterruptionEvent,
            BidiResponseCompleteEvent,
        )

        kind = type(event)
        if kind is BidiInterruptionEvent:
            self.stamps.setdefault(self.cycle[0], time.monotonic_ns())
        elif kind is BidiAudioStreamEvent and self.chunk_s:
            await asyncio.sleep(self.chunk_s)
        elif kind is BidiResponseCompleteEvent and self.done is not None:
            self.done.set()


class _Commands:
    """An input that asks for the next interrupted response once the last one ended."""

    def __init__(self, count: int, cycle: list[int], done: asyncio.Event) -> None:
        self.count = count
        self.cycle = cycle
        self.done = done
        self.agent: Any = None

    async def start(self, agent: Any) -> None:
        self.agent = agent

    async def stop(self) -> None:
        return None

    async def __call__(self) -> Any:
        from fullduplex import BidiTextInputEvent

        if self.cycle[0] >= 0:
            await self.done.wait()
            self.done.clear()
        if self.cycle[0] + 1 >= self.count:
            self.agent.request_stop()
            return None
        self.cycle[0] += 1
        return BidiTextInputEvent(command("interrupt", frames=FRAMES, gap_ms=GAP_MS))


async def _agent_client(base_url: str, count: int) -> list[int | None]:
    from fullduplex import BidiAgent

    cycle = [-1]
    done = asyncio.Event()
    speaker = _Probe(0.02, cycle, None)
    fast = _Probe(0.0, cycle, done)
    agent = BidiAgent(make_model(base_url))
    await agent.run(inputs=[_Commands(count, cycle, done)], outputs=[speaker, fast])
    drops: list[int | None] = []
    for index in range(count):
        both = [p.stamps.get(index) for p in (speaker, fast)]
        drops.append(None if None in both else max(b for b in both if b is not None))
    return drops


def _summary(server: dict[str, Any], drops: list[int | None]) -> dict[str, Any]:
    sent = server["speech_started_sent_ns"]
    truncated = server["truncate_received_ns"]
    to_drop = [(d - s) / 1e6 for s, d in zip(sent, drops, strict=False) if d is not None]
    to_truncate = [(t - s) / 1e6 for s, t in zip(sent, truncated, strict=False) if t is not None]
    return {
        "interruptions": len(sent),
        "outputs_told": len(to_drop),
        "truncates_received": len(to_truncate),
        **quantiles("to_outputs_dropped_ms", to_drop),
        **quantiles("to_truncate_received_ms", to_truncate),
    }


def main(count: int, quick: bool) -> None:
    results = floor_and_agent(
        __file__, "--interruptions", count, lambda stats, client: _summary(stats, client["drops"])
    )
    emit(
        {
            "benchmark": "interruption",
            "quick": quick,
            "audio_before_interruption_ms": FRAMES * 20,
            "gap_ms": GAP_MS,
            "outputs": ["speaker (20 ms per chunk)", "fast"],
            "results": results,
            "target_p99_ms": 5.0,
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 interruptions")
    parser.add_argument("--interruptions", type=int, default=None, help="how many (500)")
    parser.add_argument("--client", choices=("floor", "agent"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    count = options.interruptions or (200 if options.quick else 500)
    if options.client:
        pin(0)
        if options.client == "floor":
            drops = asyncio.run(_floor_client(options.url, count))
        else:
            drops = asyncio.run(_agent_client(options.url, count))
        print(json.dumps({"drops": drops}))
    else:
        main(count, options.quick)
