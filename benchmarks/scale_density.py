"""Browser calls per ``fullduplex serve`` process with the Redis session store on, against
the in-memory store, in the same run.

The app (``create_app``, uvicorn) runs in this process pinned to CPU 0; its agents talk to
the raw benchmark server (``_bench_server.py``, CPU 1). A real ``redis-server`` (Debian
package ``redis-server``) is started by this script on a free loopback port (CPU 1, no
persistence) and stopped at the end. The pages run in a child process (CPU 1 too) and
speak the browser protocol (``docs/browser-protocol.md``) at 24 kHz, so nothing is
resampled: ``hello``, a 20 ms PCM16 frame every 20 ms for the whole call, and every 3 s a
typed turn (``{"type": "text", "id": ...}``) whose text is the benchmark server's
``paced`` command, a 2 s answer streamed as 20 ms deltas in real time. Each typed turn is
what the store records: the input held, its id noted, the user message appended with the
input released. (The benchmark server sends no transcripts, so no assistant messages are
written: a real call writes about twice the appends.)

For each number of concurrent calls N, once with ``memory://`` and once with
``redis://`` (interleaved, so both see the same machine load):

- ``late_p99_ms``: how late each answer's audio reached the page against its real-time
  slot (the item's first byte + its bytes before / 48 000 bytes per second);
- ``cpu_per_call_pct``: this process's CPU over the window, per call;
- ``store_ops_per_call_min``: Redis commands (scripts count as one) per call-minute.

``calls_per_process``: per store, the largest N whose p99 lateness stays under 20 ms
(the density benchmark's bound) with every call answered. Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/scale_density.py [--quick] [--calls 10,25,50,100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from _common import ServerProcess, command, emit, make_model, percentile, pin, rnd

RATE = 24000
FRAME = bytes(RATE // 50 * 2)  # 20 ms of PCM16 silence
ANSWER_FRAMES = 100  # a 2 s answer
TURN_EVERY_S = 3.0
LATE_BOUND_MS = 20.0


# ------------------------------------------------------------------ the pages (child)
async def one_page(url: str, index: int, talk_s: float, out: dict[str, Any]) -> None:
    import websockets

    ws = await websockets.connect(url, max_size=None)
    hello = {"type": "hello", "protocol": 1, "input_sample_rate": RATE, "output_sample_rate": RATE}
    await ws.send(json.dumps(hello))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert ready["type"] == "ready", ready
    late: list[float] = []
    items: dict[str, list[float]] = {}  # item -> [first arrival, bytes so far]
    current: list[str | None] = [None]
    turns = 0

    async def microphone() -> None:
        nonlocal turns
        start = time.monotonic() + (index % 50) * 0.0004  # spread the phases
        n = 0
        next_turn = start + 1.0
        while True:
            n += 1
            await ws.send(FRAME)
            now = time.monotonic()
            if now >= next_turn:
                turns += 1
                next_turn += TURN_EVERY_S
                text = command("paced", frames=ANSWER_FRAMES)
                await ws.send(json.dumps({"type": "text", "id": f"p{index}t{turns}", "text": text}))
            await asyncio.sleep(max(0.0, start + n * 0.02 - time.monotonic()))

    async def listen() -> None:
        async for message in ws:
            now = time.monotonic()
            if isinstance(message, bytes):
                item = current[0] or ""
                seen = items.setdefault(item, [now, 0.0])
                slot = seen[0] + seen[1] / (RATE * 2)
                late.append(max(0.0, (now - slot) * 1000))
                seen[1] += len(message)
                continue
            control = json.loads(message)
            if control["type"] == "audio_item":
                current[0] = control["item_id"]

    tasks = [asyncio.create_task(t()) for t in (microphone, listen)]
    await asyncio.sleep(talk_s)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(Exception):
        await ws.send(json.dumps({"type": "hangup"}))
    await ws.close()
    answered = [b for b in items.values() if b[1] >= ANSWER_FRAMES * len(FRAME) * 0.9]
    out[str(index)] = {"late_ms": late, "turns": turns, "answered": len(answered)}


async def pages(url: str, calls: int, talk_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    await asyncio.gather(*(one_page(url, i, talk_s, out) for i in range(calls)))
    late = [v for call in out.values() for v in call["late_ms"]]
    return {
        "answered": sum(1 for c in out.values() if c["answered"] >= 1),
        "turns": sum(c["turns"] for c in out.values()),
        "answers": sum(c["answered"] for c in out.values()),
        "late_p50_ms": rnd(percentile(late, 0.5)),
        "late_p99_ms": rnd(percentile(late, 0.99)),
    }


# ---------------------------------------------------------------------- redis-server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A ``redis-server`` of our own on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        sys.exit("redis-server is not installed (Debian package redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", tmp, "--logfile", "redis.log"]
        proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)}),
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# ---------------------------------------------------------------------- the app (parent)
async def measure(server: ServerProcess, store: str, calls: int, talk_s: float) -> dict[str, Any]:
    import uvicorn

    from fullduplex.agent import BidiAgent
    from fullduplex_serve import ServeConfig, create_app

    app = create_app(lambda: BidiAgent(make_model(server.url)), ServeConfig(), session_store=store)
    state = app.state.fullduplex
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, ws="websockets-sansio", log_level="error"))
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        await asyncio.sleep(0.02)
    ops0 = getattr(state.store, "operations", 0)
    cpu0, wall0 = time.process_time(), time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--as-pages",
        f"ws://127.0.0.1:{port}/browser",
        str(calls),
        str(talk_s),
        stdout=subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(), talk_s + 60)
    except TimeoutError:
        child.kill()
        await child.wait()
        out = b'{"answered": 0, "late_p99_ms": null, "error": "the pages did not finish"}'
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    ops = getattr(state.store, "operations", 0) - ops0
    uv.should_exit = True
    stalled = False
    try:
        await asyncio.wait_for(asyncio.shield(serving), 20)
    except TimeoutError:
        print(f"{store} N={calls}: uvicorn slow to stop; forcing", file=sys.stderr)
        uv.force_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(serving), 20)
        except TimeoutError:
            stalled = True
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
    sock.close()
    print(f"{store.split(':', 1)[0]} N={calls}: {out.decode().strip()}", file=sys.stderr)
    result = json.loads(out)
    return {
        "store": store.split("://", 1)[0],
        "calls": calls,
        **result,
        "cpu_per_call_pct": rnd(cpu / wall / calls * 100, 2),
        "store_ops_per_call_min": rnd(ops / calls / (talk_s / 60), 1) if ops else None,
        "shutdown_stalled": stalled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calls", default="10,25,50,100")
    parser.add_argument("--seconds", type=float, default=None, help="length of each call")
    parser.add_argument("--as-pages", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_pages:
        url, calls, talk_s = args.as_pages
        pin(1)
        print(json.dumps(asyncio.run(pages(url, int(calls), float(talk_s)))))
        return
    counts = [5, 10] if args.quick else [int(n) for n in args.calls.split(",")]
    talk_s = args.seconds or (5.0 if args.quick else 8.0)
    pinned = pin(0)
    rows = []
    with ServerProcess(cpu=1) as server, redis_server() as redis_url:
        stores = ["memory://", redis_url]
        for store in stores:  # warm-up: imports and first-call costs
            asyncio.run(measure(server, store, 2, 2.5))
        for calls in counts:
            for store in stores:
                rows.append(asyncio.run(measure(server, store, calls, talk_s)))

    def per_process(store: str) -> int:
        ok = [
            r["calls"]
            for r in rows
            if r["store"] == store
            and (r["late_p99_ms"] or 1e9) < LATE_BOUND_MS
            and r["answered"] == r["calls"]
        ]
        return max(ok) if ok else 0

    emit(
        {
            "benchmark": "scale_density",
            "pinned": pinned,
            "cpus": os.cpu_count(),
            "late_bound_ms": LATE_BOUND_MS,
            "calls_per_process": {"memory": per_process("memory"), "redis": per_process("redis")},
            "rows": rows,
        }
    )


if __name__ == "__main__":
    main()
