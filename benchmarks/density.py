"""How many real-time sessions one core carries: CPU per session and event lag.

For each N, one client process pinned to CPU 0 runs N ``BidiAgent`` sessions
against the benchmark server (its own process, pinned to CPU 1). Every session
sends a 20 ms PCM16 chunk every 20 ms (``agent.send``, on an absolute schedule
with a random phase) and receives a real-time stream of 20 ms deltas through
``agent.receive()``. The server writes each delta's scheduled and sent times
(``monotonic_ns``) into its first 16 audio bytes, so the client measures:

- ``recv_lag_ms``: event taken out of ``receive()`` minus its schedule;
- ``recv_client_lag_ms``: the same minus the server's actual send time (the
  part the client is responsible for, when the server itself runs late);
- ``send_lag_ms``: how late each input chunk was handed to ``agent.send``;
- ``cpu_per_session_pct``: client process CPU over the window / wall / N.

Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/density.py [--quick] [--sessions 10,50,100,200,400]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import struct
import time
from typing import Any

from _common import (
    ServerProcess,
    command,
    emit,
    load_average,
    make_model,
    median,
    pin,
    quantiles,
    rnd,
    run_client,
)

PERIOD_NS = 20_000_000
CHUNK = bytes(960)


async def _session_client(url: str, sessions: int, warmup_s: float, window_s: float) -> None:
    from fullduplex import BidiAgent, BidiAudioInputEvent
    from fullduplex.events import BidiAudioStreamEvent, BidiResponseCompleteEvent

    gc_pauses: list[tuple[int, int]] = []  # (generation, ns)
    gc_started = [0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter_ns()
        else:
            gc_pauses.append((int(info["generation"]), time.perf_counter_ns() - gc_started[0]))

    gc.callbacks.append(on_gc)
    agents = [BidiAgent(make_model(url)) for _ in range(sessions)]
    for first in range(0, sessions, 50):
        await asyncio.gather(*(a.start() for a in agents[first : first + 50]))

    frames = int((warmup_s + window_s + 1.0) * 1e9 / PERIOD_NS)
    begin = time.monotonic_ns() + 200_000_000
    window_start = begin + int(warmup_s * 1e9)
    window_end = window_start + int(window_s * 1e9)
    recv_lag: list[int] = []
    client_lag: list[int] = []
    send_lag: list[int] = []
    unpack = struct.Struct("<QQ").unpack_from
    monotonic_ns = time.monotonic_ns

    async def reader(agent: BidiAgent) -> None:
        async for event in agent.receive():
            if type(event) is BidiAudioStreamEvent:
                now = monotonic_ns()
                scheduled, sent = unpack(event.audio)
                if window_start <= scheduled < window_end:
                    recv_lag.append(now - scheduled)
                    client_lag.append(now - sent)
            elif type(event) is BidiResponseCompleteEvent:
                return

    async def sender(agent: BidiAgent) -> None:
        due = begin + random.randrange(PERIOD_NS)
        while due < window_end:
            delay = (due - monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            if due >= window_start:
                send_lag.append(monotonic_ns() - due)
            await agent.send(BidiAudioInputEvent(CHUNK, 24000, 1))
            due += PERIOD_NS

    async def cpu_window() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, (window_start - monotonic_ns()) / 1e9))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(max(0.0, (window_end - monotonic_ns()) / 1e9))
        return time.process_time() - cpu0, time.perf_counter() - wall0

    for agent in agents:
        await agent.send(command("paced", frames=frames))
    tasks = [asyncio.create_task(reader(a)) for a in agents]
    tasks += [asyncio.create_task(sender(a)) for a in agents]
    gc_pauses.clear()
    cpu, wall = await cpu_window()
    window_gc = list(gc_pauses)
    try:
        async with asyncio.timeout(warmup_s + window_s + 60):
            await asyncio.gather(*tasks)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(a.stop() for a in agents))

    def ms(values: list[int]) -> list[float]:
        return [v / 1e6 for v in values]

    print(
        json.dumps(
            {
                "sessions": sessions,
                "window_s": round(wall, 3),
                "cpu_core_pct": round(cpu / wall * 100, 1),
                "cpu_per_session_pct": round(cpu / wall * 100 / sessions, 3),
                "events_received": len(recv_lag),
                "chunks_sent": len(send_lag),
                **quantiles("recv_lag_ms", ms(recv_lag)),
                **quantiles("recv_client_lag_ms", ms(client_lag), ("p50", "p99")),
                **quantiles("send_lag_ms", ms(send_lag), ("p50", "p99")),
                "gc_collections_by_generation": [
                    sum(1 for g, _ in window_gc if g == gen) for gen in range(3)
                ],
                "gc_pause_ms_max": rnd(max((ns for _, ns in window_gc), default=0) / 1e6),
            }
        )
    )


def main(counts: list[int], warmup_s: float, window_s: float, reps: int, quick: bool) -> None:
    rows: list[dict[str, Any]] = []
    with ServerProcess(cpu=1) as server:
        for sessions in counts:
            runs: list[dict[str, Any]] = []
            for _ in range(reps):
                load = load_average()
                run = run_client(
                    [
                        __file__,
                        "--client",
                        server.url,
                        "--sessions",
                        str(sessions),
                        "--warmup",
                        str(warmup_s),
                        "--window",
                        str(window_s),
                    ]
                )
                stats = server.stats()
                run["load_average_before"] = load
                run["server_send_late_ms_p99"] = rnd(stats["server_send_late_ms_p99"])
                run["server_appends_received"] = stats["appends"]
                runs.append(run)
            row: dict[str, Any] = {"sessions": sessions, "repetitions": reps}
            for key in (
                "cpu_core_pct",
                "cpu_per_session_pct",
                "recv_lag_ms_p50",
                "recv_lag_ms_p99",
                "recv_client_lag_ms_p99",
                "send_lag_ms_p99",
            ):
                values = [r[key] for r in runs if r[key] is not None]
                row[f"median_{key}"] = rnd(median(values))
            row["runs"] = runs
            rows.append(row)
    emit(
        {
            "benchmark": "density",
            "quick": quick,
            "window_s": window_s,
            "warmup_s": warmup_s,
            "client_cpu": 0,
            "server_cpu": 1,
            "results": rows,
            "target": "200 sessions on one core with recv p99 lag < 20 ms",
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 10, 50; 3 s window")
    parser.add_argument("--sessions", default=None, help="comma-separated N values")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=None, help="seconds measured")
    parser.add_argument("--reps", type=int, default=None, help="runs per N (3; quick 1)")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        pin(0)
        asyncio.run(
            _session_client(options.client, int(options.sessions), options.warmup, options.window)
        )
    else:
        default = "10,50" if options.quick else "10,50,100,200,400"
        counts = [int(n) for n in (options.sessions or default).split(",")]
        warmup = options.warmup if options.warmup is not None else (1.0 if options.quick else 2.0)
        window = options.window if options.window is not None else (3.0 if options.quick else 10.0)
        reps = options.reps or (1 if options.quick else 3)
        main(counts, warmup, window, reps, options.quick)
