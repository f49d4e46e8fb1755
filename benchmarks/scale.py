"""Beyond one process: failover time, and what the Redis store costs per call-minute.

Figures (one JSON object on stdout, nothing asserted):

- ``failover``: the deployment's topology of tests/scale (real redis-server and nginx, two
  ``fullduplex serve`` processes, one ``fullduplex emulator`` at real-time pace). A call is
  answered, the process holding it is killed with SIGKILL while it speaks, the page
  reconnects through nginx at once and asks again; measured: from the kill to the first
  answer audio frame from the surviving process (``kill_to_audio_ms``), of which
  ``kill_to_ready_ms`` is reconnecting and taking the call over from Redis. The floor is the
  same question's time to first audio on a healthy process in the same run.
- ``store``: one call held for ``--seconds`` with a typed question every 2 s against a real
  redis-server, counting Redis commands and payload bytes the store sent, per call-minute.

Needs redis-server and nginx (Debian packages). Run:
``.venv/bin/python benchmarks/scale.py [--runs 3] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "scale"), str(ROOT / "tests" / "serve")]

from browser_client import PageClient  # noqa: E402
from topology import Redis, topology, until  # noqa: E402


def first_audio_after(page: PageClient, count: int) -> bool:
    return len(page.of("audio_item")) > count and bool(page.audio.get(page.item))


async def failover_once(tmp: Path) -> dict[str, float]:
    with topology(tmp) as topo:
        assert topo.nginx is not None
        page = PageClient(f"{topo.nginx.ws}/browser")
        ready = await page.open()
        token = ready["session"]
        start = time.monotonic()
        await page.send({"type": "text", "text": "When does the museum open?"})
        await until(lambda: first_audio_after(page, 0), 20, "first audio")
        healthy_ms = (time.monotonic() - start) * 1000
        await until(lambda: page.of("response")[1:], 20, "the first answer done")
        await page.send({"type": "text", "text": "And how much is a ticket?"})
        await until(lambda: first_audio_after(page, 1), 20, "second answer audio")
        holder = await asyncio.to_thread(topo.holder)
        assert holder.proc is not None
        killed = time.monotonic()
        holder.proc.kill()
        await asyncio.wait_for(page.closed.wait(), 20)
        again = PageClient(f"{topo.nginx.ws}/browser?session={token}")
        await again.open(resume=token)
        ready_ms = (time.monotonic() - killed) * 1000
        await again.send({"type": "text", "text": "Is there parking?"})
        await until(lambda: first_audio_after(again, 0), 20, "audio after the failover")
        audio_ms = (time.monotonic() - killed) * 1000
        await again.close()
        await page.close()
        return {
            "healthy_first_audio_ms": healthy_ms,
            "kill_to_ready_ms": ready_ms,
            "kill_to_audio_ms": audio_ms,
        }


async def store_cost(tmp: Path, seconds: float) -> dict[str, float]:
    from serve_kit import agent_factory, serving

    from fullduplex_openai.emulator import Emulator
    from fullduplex_serve.redis_store import RedisSessionStore

    redis = Redis(tmp)
    redis.start()
    store = RedisSessionStore(redis.url)
    try:
        async with (
            Emulator(api_key="emu-key-serve-tests", port=0) as emu,
            serving(agent_factory(emu), session_store=store) as served,
        ):
            page = PageClient(f"{served.ws}/browser")
            await page.open()
            start = time.monotonic()
            turns = 0
            while time.monotonic() - start < seconds:
                await page.send({"type": "text", "id": f"t{turns}", "text": f"Question {turns}"})
                turns += 1
                await asyncio.sleep(2.0)
            minutes = (time.monotonic() - start) / 60
            ops, written = store.operations, store.bytes_written
            await page.close()
    finally:
        redis.stop()
    return {
        "turns": turns,
        "redis_ops_per_call_minute": ops / minutes,
        "redis_bytes_per_call_minute": written / minutes,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(await failover_once(Path(tmp)))
    with tempfile.TemporaryDirectory() as tmp:
        store = await store_cost(Path(tmp), args.seconds)
    failover = {
        key: {"median": statistics.median(r[key] for r in runs), "max": max(r[key] for r in runs)}
        for key in runs[0]
    }
    print(json.dumps({"failover": failover, "runs": args.runs, "store": store}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
