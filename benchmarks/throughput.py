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

Gemini Live is measured the same way in the same run, against its own raw
server (``_bench_gemini_server.py``, pinned to CPU 1) writing
``serverContent.modelTurn.parts[].inlineData`` frames (the same 20 ms of 24 kHz
PCM16, base64, binary frames as the service sends them):

- ``gemini_floor``: a bare ``websockets`` client that receives each frame,
  parses it with orjson, walks to ``parts[].inlineData`` and decodes the base64;
- ``gemini_model``: ``BidiGeminiLiveModel.receive()`` alone;
- ``gemini_agent``: ``BidiAgent(BidiGeminiLiveModel).receive()``.

Variants alternate within each repetition (the order rotates); medians are
reported, and ``ratio_cpu`` = agent / floor (``gemini.ratio_cpu`` likewise for
Gemini, against its own floor). Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/throughput.py [--quick] [--frames 20000] [--reps 5]
        [--provider openai|gemini|all]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from binascii import a2b_base64
from typing import Any

from _common import (
    GEMINI_PATH,
    ServerProcess,
    bare_session,
    command,
    emit,
    make_gemini_model,
    make_model,
    median,
    pin,
    rnd,
    run_client,
    user_message,
)

VARIANTS = ("floor", "agent", "model", "floor_stdlib_json")
GEMINI_VARIANTS = ("gemini_floor", "gemini_agent", "gemini_model")


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


async def _gemini_bare_client(url: str, frames: int) -> tuple[int, float, float]:
    import orjson
    import websockets

    from _common import API_KEY, GEMINI_MODEL

    loads = orjson.loads
    async with websockets.connect(
        url, additional_headers={"x-goog-api-key": API_KEY}, compression=None, max_size=None
    ) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{GEMINI_MODEL}"}}))
        await ws.recv()  # setupComplete
        turn = {"role": "user", "parts": [{"text": command("burst", frames=frames)}]}
        count = 0
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await ws.send(json.dumps({"clientContent": {"turns": [turn], "turnComplete": True}}))
        while True:
            content = loads(await ws.recv(decode=False)).get("serverContent")
            if content is None:
                continue
            model_turn = content.get("modelTurn")
            if model_turn is not None:
                for part in model_turn["parts"]:
                    a2b_base64(part["inlineData"]["data"])
                    count += 1
            elif content.get("turnComplete"):
                break
        return count, time.process_time() - cpu0, time.perf_counter() - wall0


async def _model_client(
    base_url: str, frames: int, make: Any = make_model
) -> tuple[int, float, float]:
    from fullduplex import BidiTextInputEvent
    from fullduplex.events import BidiAudioStreamEvent, BidiResponseCompleteEvent

    model = make(base_url)
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


async def _agent_client(
    base_url: str, frames: int, make: Any = make_model
) -> tuple[int, float, float]:
    from fullduplex import BidiAgent
    from fullduplex.events import BidiAudioStreamEvent, BidiResponseCompleteEvent

    async with BidiAgent(make(base_url)) as agent:
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
    elif variant == "gemini_floor":
        result = asyncio.run(_gemini_bare_client(url, frames))
    elif variant == "gemini_model":
        result = asyncio.run(_model_client(url, frames, make_gemini_model))
    elif variant == "gemini_agent":
        result = asyncio.run(_agent_client(url, frames, make_gemini_model))
    else:
        result = asyncio.run(_agent_client(url, frames))
    count, cpu, wall = result
    print(json.dumps({"events": count, "cpu_s": cpu, "wall_s": wall}))


def _measure(
    variants: tuple[str, ...], script: str, urls: dict[str, str], frames: int, reps: int
) -> dict[str, Any]:
    """Run every variant ``reps`` times, alternating, against one server; the medians."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with ServerProcess(cpu=1, script=script) as server:
        for rep in range(reps):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                url = urls[variant].format(port=server.port)
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
    return summary


def _ratios(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    floor = summary[f"{prefix}floor"]
    agent = summary[f"{prefix}agent"]
    return {
        "ratio_cpu": rnd(agent["cpu_us_per_event"] / floor["cpu_us_per_event"], 3),
        "ratio_cpu_model_only": rnd(
            summary[f"{prefix}model"]["cpu_us_per_event"] / floor["cpu_us_per_event"], 3
        ),
        "ratio_events_per_s": rnd(agent["events_per_s"] / floor["events_per_s"], 3),
        "target_ratio_cpu": 1.25,
    }


def main(frames: int, reps: int, quick: bool, provider: str) -> None:
    result: dict[str, Any] = {
        "benchmark": "throughput",
        "quick": quick,
        "frames_per_run": frames,
        "repetitions": reps,
        "chunk": "20 ms PCM16 24 kHz mono (960 bytes, base64)",
    }
    if provider in ("openai", "all"):
        raw = "ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        urls = {v: raw if v.startswith("floor") else "ws://127.0.0.1:{port}/v1" for v in VARIANTS}
        summary = _measure(VARIANTS, "_bench_server.py", urls, frames, reps)
        result.update({"results": summary, **_ratios(summary)})
    if provider in ("gemini", "all"):
        base = "http://127.0.0.1:{port}"
        urls = dict.fromkeys(GEMINI_VARIANTS, base)
        urls["gemini_floor"] = "ws://127.0.0.1:{port}" + GEMINI_PATH
        summary = _measure(GEMINI_VARIANTS, "_bench_gemini_server.py", urls, frames, reps)
        result["gemini"] = {
            "server": "serverContent.modelTurn.parts[].inlineData, binary frames",
            "results": summary,
            **_ratios(summary, "gemini_"),
        }
    emit(result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 frames x 3 repetitions")
    parser.add_argument("--frames", type=int, default=None, help="deltas per run (20000)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (5)")
    parser.add_argument(
        "--provider", choices=("openai", "gemini", "all"), default="all", help="(all)"
    )
    parser.add_argument("--client", choices=VARIANTS + GEMINI_VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        pin(0)
        client_main(options.client, None, options.url, options.frames)
    else:
        frames = options.frames or (5_000 if options.quick else 20_000)
        reps = options.reps or (3 if options.quick else 5)
        main(frames, reps, options.quick, options.provider)
