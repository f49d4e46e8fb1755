"""Concurrent Twilio calls on one ``fullduplex serve`` process, at real-time pace.

The app (``create_app``, uvicorn) runs in this process pinned to CPU 0; its agents talk
to the raw benchmark server (``_bench_server.py``, CPU 1). The callers run in a child
process (CPU 1 too) and behave as Twilio does: ``connected``, ``start``, a 20 ms μ-law
``media`` frame every 20 ms for the whole call, marks echoed once the audio before them
has played at real-time pace. Each caller ends its "speech" with a DTMF key, which the
app turns into the turn's text input (``dtmf_text`` maps it to the benchmark server's
``paced`` command: an answer streamed as 20 ms deltas in real time).

Measured for each number of concurrent calls N:

- ``media_late_p99_ms``: how late each answer frame reached the caller against its
  real-time slot (first frame's arrival + k x 20 ms);
- ``cpu_per_call_pct`` / ``rss_per_call_kib``: this process's CPU over the window and
  its memory growth, per call;
- ``first_media_ms``: from the end of the caller's turn (the key sent) to the first
  media frame back, and ``serve_overhead_ms``: the same less the model server's own time
  (from the agent's send of the turn to the first audio the model delivered, measured in
  the app per call).

``calls_per_core``: the largest N whose p99 lateness stays under 20 ms. Prints JSON;
asserts nothing.

    .venv/bin/python benchmarks/serve_twilio.py [--quick] [--calls 10,25,50,100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from _common import (
    ServerProcess,
    command,
    emit,
    make_model,
    median,
    percentile,
    pin,
    rnd,
    rss_bytes,
)

FRAME = 160
SILENCE = base64.b64encode(b"\xff" * FRAME).decode()
ANSWER_FRAMES = 100  # a 2 s answer


# ----------------------------------------------------------------- the callers (child)
async def one_call(url: str, index: int, talk_s: float, out: dict[str, Any]) -> None:
    import websockets

    sid = f"MZbench{index:06d}"
    ws = await websockets.connect(url)
    await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await ws.send(
        json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "start": {
                    "streamSid": sid,
                    "callSid": f"CA{index}",
                    "accountSid": "AC1",
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {},
                },
                "streamSid": sid,
            }
        )
    )
    arrivals: list[float] = []
    marks: list[tuple[float, str]] = []
    playout = 0.0
    seq = 1
    turn_end: float | None = None

    async def microphone() -> None:
        nonlocal seq, turn_end
        start = time.monotonic() + (index % 50) * 0.0004  # spread the phases
        n = 0
        while True:
            n += 1
            seq += 1
            frame = {
                "event": "media",
                "sequenceNumber": str(seq),
                "streamSid": sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(n),
                    "timestamp": str(n * 20),
                    "payload": SILENCE,
                },
            }
            await ws.send(json.dumps(frame))
            if n == 50:  # one second in: the caller's turn ends
                seq += 1
                turn_end = time.monotonic()
                await ws.send(
                    json.dumps(
                        {
                            "event": "dtmf",
                            "streamSid": sid,
                            "sequenceNumber": str(seq),
                            "dtmf": {"track": "inbound_track", "digit": "1"},
                        }
                    )
                )
            await asyncio.sleep(max(0.0, start + n * 0.02 - time.monotonic()))

    async def player() -> None:
        nonlocal seq
        while True:
            now = time.monotonic()
            while marks and marks[0][0] <= now:
                _due, name = marks.pop(0)
                seq += 1
                await ws.send(
                    json.dumps(
                        {
                            "event": "mark",
                            "sequenceNumber": str(seq),
                            "streamSid": sid,
                            "mark": {"name": name},
                        }
                    )
                )
            await asyncio.sleep(0.01)

    async def listen() -> None:
        nonlocal playout
        async for raw in ws:
            message = json.loads(raw)
            now = time.monotonic()
            if message["event"] == "media":
                arrivals.append(now)
                size = len(base64.b64decode(message["media"]["payload"]))
                playout = max(now, playout) + size / 8000
            elif message["event"] == "mark":
                marks.append((max(now, playout), message["mark"]["name"]))

    tasks = [asyncio.create_task(t()) for t in (microphone, player, listen)]
    await asyncio.sleep(talk_s)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ws.close()
    late = [max(0.0, (at - (arrivals[0] + k * 0.02)) * 1000) for k, at in enumerate(arrivals)]
    out[sid] = {
        "frames": len(arrivals),
        "late_ms": late,
        "first_media_ms": (arrivals[0] - turn_end) * 1000 if arrivals and turn_end else None,
    }


async def callers(url: str, calls: int, talk_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    await asyncio.gather(*(one_call(url, i, talk_s, out) for i in range(calls)))
    late = [v for call in out.values() for v in call["late_ms"]]
    firsts = [c["first_media_ms"] for c in out.values() if c["first_media_ms"] is not None]
    return {
        "answered": sum(1 for c in out.values() if c["frames"] >= ANSWER_FRAMES * 0.9),
        "frames": len(late),
        "late_p50_ms": rnd(percentile(late, 0.5)),
        "late_p99_ms": rnd(percentile(late, 0.99)),
        "first_media_ms": firsts,
    }


# ---------------------------------------------------------------------- the app (parent)
def timed_model(base_url: str, model_ms: list[float]) -> Any:
    """The provider, noting per turn the model server's time: text sent -> first audio back."""
    from fullduplex.events import BidiAudioStreamEvent, BidiTextInputEvent

    model = make_model(base_url)
    sent: list[float] = []
    send, receive = model.send, model.receive

    async def timed_send(event: Any) -> None:
        if isinstance(event, BidiTextInputEvent):
            sent.append(time.monotonic())
        await send(event)

    async def timed_receive() -> Any:
        async for event in receive():
            if sent and isinstance(event, BidiAudioStreamEvent):
                model_ms.append((time.monotonic() - sent.pop()) * 1000)
            yield event

    model.send = timed_send
    model.receive = timed_receive
    return model


async def measure(server: ServerProcess, calls: int, talk_s: float) -> dict[str, Any]:
    import uvicorn

    from fullduplex.agent import BidiAgent
    from fullduplex_serve import ServeConfig, create_app

    model_ms: list[float] = []
    config = ServeConfig(dtmf_text=lambda _d: command("paced", frames=ANSWER_FRAMES))
    app = create_app(lambda: BidiAgent(timed_model(server.url, model_ms)), config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, ws="websockets-sansio", log_level="error"))
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        await asyncio.sleep(0.02)
    rss0 = rss_bytes()
    cpu0, wall0 = time.process_time(), time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--as-callers",
        f"ws://127.0.0.1:{port}/twilio",
        str(calls),
        str(talk_s),
        stdout=subprocess.PIPE,
    )
    await asyncio.sleep(talk_s * 0.8)
    rss1 = rss_bytes()
    out, _ = await child.communicate()
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    uv.should_exit = True
    await serving
    sock.close()
    result = json.loads(out)
    firsts = result.pop("first_media_ms")
    return {
        "calls": calls,
        **result,
        "cpu_per_call_pct": rnd(cpu / wall / calls * 100, 2),
        "rss_per_call_kib": rnd((rss1 - rss0) / calls / 1024, 1),
        "first_media_ms_p50": rnd(median(firsts)),
        "model_server_ms_p50": rnd(median(model_ms)),
        "serve_overhead_ms_p50": rnd(
            (median(firsts) or 0) - (median(model_ms) or 0) if firsts and model_ms else None
        ),
        "first_media_ms_p95": rnd(percentile(firsts, 0.95)),
        "model_server_ms_p95": rnd(percentile(model_ms, 0.95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calls", default="10,25,50,100")
    parser.add_argument("--as-callers", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_callers:
        url, calls, talk_s = args.as_callers
        pin(1)
        print(json.dumps(asyncio.run(callers(url, int(calls), float(talk_s)))))
        return
    counts = [5, 10] if args.quick else [int(n) for n in args.calls.split(",")]
    talk_s = 4.0 if args.quick else 6.0
    pinned = pin(0)
    rows = []
    with ServerProcess(cpu=1) as server:
        asyncio.run(measure(server, 2, 2.5))  # warm-up: imports and first-call costs
        for calls in counts:
            rows.append(asyncio.run(measure(server, calls, talk_s)))
    ok = [
        r["calls"] for r in rows if (r["late_p99_ms"] or 1e9) < 20 and r["answered"] == r["calls"]
    ]
    emit(
        {
            "benchmark": "serve_twilio",
            "pinned": pinned,
            "cpus": os.cpu_count(),
            "calls_per_core": max(ok) if ok else 0,
            "rows": rows,
        }
    )


if __name__ == "__main__":
    main()
