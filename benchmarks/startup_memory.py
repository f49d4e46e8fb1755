"""Import time, resident memory per session (idle and talking), and memory over a soak.

Import time: ``python -X importtime -c "<statement>"`` in fresh processes (the
``.pyc`` files written first, as after any install); the cumulative figure of
the top-level module, median of the runs. Also the whole statement that the
seed example runs (``from fullduplex_openai import BidiOpenAIRealtimeModel``,
which resolves lazily) as the sum of top-level imports beyond a bare
interpreter's.

Memory (a client process against the benchmark server, each in its own process):
- per idle session: RSS growth for N connected, silent agents / N;
- per talking session: RSS growth while the same N agents each send and
  receive real-time audio / N;
- soak: a few sessions in continuous conversation (real-time audio both ways,
  a new spoken turn with a transcript every 2 s) for ``--soak-seconds``; RSS is
  sampled every few seconds after ``gc.collect()``. Reported: RSS at the end of
  the first minute (the first third in short soaks), at the end, and the slope
  (least squares) from that point on. The history grows by design (one
  message per turn), so its size is reported beside.

Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/startup_memory.py [--quick] [--soak-seconds 600]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
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
    rnd,
    rss_bytes,
    run_client,
    slope_per_minute,
)

STATEMENTS = {
    "fullduplex": "import fullduplex",
    "fullduplex_openai": "import fullduplex_openai",
    "seed_imports": "from fullduplex_openai import BidiOpenAIRealtimeModel",
}
CHUNK = bytes(960)


def _importtime(statement: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    cumulative: dict[str, float] = {}
    total = 0.0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            value = int(parts[1])
        except ValueError:
            continue  # the header line
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):
            cumulative[name.strip()] = value / 1000
            total += value / 1000
    cumulative["<total>"] = total
    return cumulative


def import_times(runs: int) -> dict[str, Any]:
    for statement in STATEMENTS.values():
        _importtime(statement)  # write the .pyc files
    baseline = median([_importtime("pass")["<total>"] for _ in range(runs)]) or 0.0
    out: dict[str, Any] = {"runs": runs}
    for label, statement in STATEMENTS.items():
        samples = [_importtime(statement) for _ in range(runs)]
        if label in ("fullduplex", "fullduplex_openai"):
            out[f"{label}_ms"] = rnd(median([s.get(label, 0.0) for s in samples]), 1)
        else:
            out[f"{label}_ms"] = rnd((median([s["<total>"] for s in samples]) or 0) - baseline, 1)
    out["targets_ms"] = {"fullduplex": 100, "fullduplex_openai": 250}
    return out


async def _paced_io(agents: list[Any], seconds: float, stop_at: float | None = None) -> None:
    """Each agent sends a 20 ms chunk every 20 ms for ``seconds``."""
    from fullduplex import BidiAudioInputEvent

    async def sender(agent: Any, phase: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + phase
        end = loop.time() + seconds
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            await agent.send(BidiAudioInputEvent(CHUNK, 24000, 1))
            due += 0.02

    await asyncio.gather(*(sender(a, i * 0.02 / len(agents)) for i, a in enumerate(agents)))


async def _drain(agent: Any) -> None:
    async for _event in agent.receive():
        pass


async def _sessions_client(url: str, sessions: int) -> dict[str, Any]:
    from fullduplex import BidiAgent

    async with BidiAgent(make_model(url)) as warm:  # imports and caches, not measured
        await warm.send(command("paced", frames=5))
        await asyncio.sleep(0.2)
    gc.collect()
    base = rss_bytes()
    agents = [BidiAgent(make_model(url)) for _ in range(sessions)]
    for agent in agents:
        await agent.start()
    readers = [asyncio.create_task(_drain(a)) for a in agents]
    await asyncio.sleep(0.5)
    gc.collect()
    idle = rss_bytes()
    for agent in agents:
        await agent.send(command("paced", frames=400))
    talking: list[int] = []

    async def sample() -> None:
        for _ in range(4):
            await asyncio.sleep(1.0)
            gc.collect()
            talking.append(rss_bytes())

    await asyncio.gather(_paced_io(agents, 4.5), sample())
    await asyncio.gather(*(a.stop() for a in agents))
    await asyncio.gather(*readers, return_exceptions=True)
    return {
        "sessions": sessions,
        "idle_kib_per_session": round((idle - base) / 1024 / sessions, 1),
        "talking_kib_per_session": round((max(talking) - base) / 1024 / sessions, 1),
    }


def _deep_size(value: Any) -> int:
    """Bytes held by a JSON-like value (dicts, lists, strings, numbers)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(_deep_size(v) for v in value)
    return size


async def _soak_client(url: str, sessions: int, seconds: float, every: float) -> dict[str, Any]:
    from fullduplex import BidiAgent

    agents = [BidiAgent(make_model(url)) for _ in range(sessions)]
    for agent in agents:
        await agent.start()
        await agent.send(command("talk", frames=100, turns=1_000_000))
    readers = [asyncio.create_task(_drain(a)) for a in agents]
    samples: list[tuple[float, float]] = []
    start = time.monotonic()

    history_kib: list[float] = []

    async def sample() -> None:
        while (elapsed := time.monotonic() - start) < seconds:
            gc.collect()
            samples.append((elapsed, rss_bytes() / 1024))
            history_kib.append(sum(_deep_size(a.messages) for a in agents) / 1024)
            await asyncio.sleep(every)

    await asyncio.gather(_paced_io(agents, seconds), sample())
    history = [len(a.messages) for a in agents]
    await asyncio.gather(*(a.stop() for a in agents))
    await asyncio.gather(*readers, return_exceptions=True)
    reference_s = min(60.0, seconds / 3)
    later = [s for s in samples if s[0] >= reference_s]
    at_reference = later[0][1] if later else samples[-1][1]
    slope = slope_per_minute(later)
    first = samples.index(later[0]) if later else len(samples) - 1
    history_growth = history_kib[-1] - history_kib[first]
    rest = [(t, rss - h) for (t, rss), h in zip(samples, history_kib, strict=True)][first:]
    return {
        "sessions": sessions,
        "soak_s": seconds,
        "samples": len(samples),
        "reference_s": round(reference_s, 1),
        "rss_kib_at_reference": round(at_reference),
        "rss_kib_at_end": round(samples[-1][1]),
        "growth_kib_after_reference": round(samples[-1][1] - at_reference),
        "slope_kib_per_min_after_reference": rnd(slope, 1),
        "history_messages_per_session_at_end": history,
        "history_growth_kib_after_reference": round(history_growth),
        "slope_kib_per_min_without_history": rnd(slope_per_minute(rest), 1),
    }


def main(quick: bool, soak_seconds: float, sessions: int) -> None:
    imports = import_times(3 if quick else 9)
    with ServerProcess(cpu=1) as server:
        per_session = run_client(
            [__file__, "--client", "sessions", "--url", server.url, "--sessions", str(sessions)]
        )
        soak = run_client(
            [
                __file__,
                "--client",
                "soak",
                "--url",
                server.url,
                "--soak-seconds",
                str(soak_seconds),
            ],
            timeout=soak_seconds + 120,
        )
    emit(
        {
            "benchmark": "startup_memory",
            "quick": quick,
            "import_time": imports,
            "memory_per_session": per_session,
            "soak": soak,
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 import runs, 30 s soak")
    parser.add_argument("--soak-seconds", type=float, default=None, help="soak length (600)")
    parser.add_argument("--sessions", type=int, default=None, help="sessions for per-session RSS")
    parser.add_argument("--client", choices=("sessions", "soak"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    soak_s = options.soak_seconds or (30.0 if options.quick else 600.0)
    sessions = options.sessions or (20 if options.quick else 50)
    if options.client == "sessions":
        print(json.dumps(asyncio.run(_sessions_client(options.url, sessions))))
    elif options.client == "soak":
        print(
            json.dumps(
                asyncio.run(_soak_client(options.url, 4, soak_s, 2.0 if soak_s < 120 else 5.0))
            )
        )
    else:
        main(options.quick, soak_s, sessions)
