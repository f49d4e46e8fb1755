"""CPU per audio event and events per second through ``BidiAgent.receive()``, against a floor.

The server (its own process, pinned to CPU 1) writes ``response.output_audio.delta``
frames (20 ms of PCM16 at 24 kHz, 960 bytes, base64) as fast as the socket takes
them. Each client runs in a fresh process pinned to CPU 0 and measures its own
process CPU time (``time.process_time``) and wall time over the stream:

- ``floor``: a bare ``websockets`` client that only receives each frame, parses
  it with orjson and decodes the base64 (the least any client must do);
- ``floor_stdlib_json``: the same with the standard ``json`` module;
- ``model``: ``BidiOpenAIRealtimeModel.receive()`` alone (the provider's share);
- ``agent``: ``BidiAgent(model).receive()`` (what a user iterates: "ours").

Variants alternate within each repetition (the order rotates); medians are
reported, and ``ratio_cpu`` = agent / floor. Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/throughput.py [--quick] [--frames 20000] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from binascii import a2b_base64
from typing import Any

from _common import (
    ServerProcess,
    bare_session,
    command,
    emit,
    make_model,
    median,
    pin,
    rnd,
    run_client,
    user_message,
)

VARIANTS = ("floor", "agent", "model", "floor_stdlib_json")


async def _bare_client(url: str, frames: int, use_orjson: bool) -> tuple[int, float, float]:
    import orjson

    loads = orjson.loads if use_orjson else json.loads
    async with bare_session(url) as ws:
        await ws.send(user_message(command("burst", frames=frames)))
        count = 0
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await ws.send(json.dumps({"type": "response.create"}))
        while True:
            event = loads(await ws.recv(decode=False))
            kind = event["type"]
            if kind == "response.output_audio.delta":
                a2b_base64(event["delta"])
                count += 1
            elif kind == "response.done":
                break
        return count, time.process_time() - cpu0, time.perf_counter() - wall0


async def _model_client(base_url: str, frames: int) -> tuple[int, float, float]:
    from fullduplex import BidiTextInputEvent
    from fullduplex.events import BidiAudioStreamEvent, BidiResponseCompleteEvent

    model = make_model(base_url)
    await model.start()
    try:
        count = 0
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await model.send(BidiTextInputEvent(command("burst", frames=frames)))
        async for event in model.receive():
            if type(event) is BidiAudioStreamEvent:
                count += 1
            elif type(event) is BidiResponseCompleteEvent:
                break
        return count, time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await model.stop()


async def _agent_client(base_url: str, frames: int) -> tuple[int, float, float]:
    from fullduplex import BidiAgent
    from fullduplex.events import BidiAudioStreamEvent, BidiResponseCompleteEvent

    async with BidiAgent(make_model(base_url)) as agent:
        count = 0
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await agent.send(command("burst", frames=frames))
        async for event in agent.receive():
            if type(event) is BidiAudioStreamEvent:
                count += 1
            elif type(event) is BidiResponseCompleteEvent:
                break
        return count, time.process_time() - cpu0, time.perf_counter() - wall0


def client_main(variant: str, server: ServerProcess | None, url: str, frames: int) -> None:
    del server
    if variant == "floor":
        result = asyncio.run(_bare_client(url, frames, use_orjson=True))
    elif variant == "floor_stdlib_json":
        result = asyncio.run(_bare_client(url, frames, use_orjson=False))
    elif variant == "model":
        result = asyncio.run(_model_client(url, frames))
    else:
        result = asyncio.run(_agent_client(url, frames))
    count, cpu, wall = result
    print(json.dumps({"events": count, "cpu_s": cpu, "wall_s": wall}))


def main(frames: int, reps: int, quick: bool) -> None:
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with ServerProcess(cpu=1) as server:
        for rep in range(reps):
            order = VARIANTS[rep % len(VARIANTS) :] + VARIANTS[: rep % len(VARIANTS)]
            for variant in order:
                url = server.raw_url if variant.startswith("floor") else server.url
                runs[variant].append(
                    run_client(
                        [__file__, "--client", variant, "--url", url, "--frames", str(frames)]
                    )
                )
    summary: dict[str, Any] = {}
    for variant, results in runs.items():
        cpu_us = [r["cpu_s"] * 1e6 / r["events"] for r in results]
        rate = [r["events"] / r["wall_s"] for r in results]
        summary[variant] = {
            "cpu_us_per_event": rnd(median(cpu_us), 2),
            "events_per_s": round(median(rate) or 0),
            "cpu_us_per_event_runs": [round(v, 2) for v in cpu_us],
            "events": results[0]["events"],
        }
    floor = summary["floor"]["cpu_us_per_event"]
    emit(
        {
            "benchmark": "throughput",
            "quick": quick,
            "frames_per_run": frames,
            "repetitions": reps,
            "chunk": "20 ms PCM16 24 kHz mono (960 bytes, base64)",
            "results": summary,
            "ratio_cpu": rnd(summary["agent"]["cpu_us_per_event"] / floor, 3),
            "ratio_cpu_model_only": rnd(summary["model"]["cpu_us_per_event"] / floor, 3),
            "ratio_events_per_s": rnd(
                summary["agent"]["events_per_s"] / summary["floor"]["events_per_s"], 3
            ),
            "target_ratio_cpu": 1.25,
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 frames x 3 repetitions")
    parser.add_argument("--frames", type=int, default=None, help="deltas per run (20000)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (5)")
    parser.add_argument("--client", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        pin(0)
        client_main(options.client, None, options.url, options.frames)
    else:
        frames = options.frames or (5_000 if options.quick else 20_000)
        reps = options.reps or (3 if options.quick else 5)
        main(frames, reps, options.quick)
