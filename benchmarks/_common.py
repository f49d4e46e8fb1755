"""Helpers shared by the benchmark scripts: the server process, statistics, RSS.

Every benchmark runs the server (``_bench_server.py``) in a process of its own
and measures clients in processes of their own, so one side's CPU never
counts against the other. Times that cross processes use
``time.monotonic_ns()``: on Linux it reads the system-wide CLOCK_MONOTONIC, so
a stamp taken in the server compares directly with one taken in a client.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
API_KEY = "benchmark-key"
GEMINI_MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


class ServerProcess:
    """The benchmark server in its own process; ``stats()`` fetches what it recorded."""

    def __init__(self, cpu: int | None = None, script: str = "_bench_server.py") -> None:
        args = [sys.executable, str(HERE / script)]
        if cpu is not None:
            args += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError("the benchmark server did not start")
        self.port = int(json.loads(first)["port"])

    @property
    def url(self) -> str:
        """The ``websocket_base_url`` to give the provider."""
        return f"ws://127.0.0.1:{self.port}/v1"

    @property
    def raw_url(self) -> str:
        """The full websocket URL, for bare clients."""
        return f"ws://127.0.0.1:{self.port}/v1/realtime?model=gpt-realtime"

    @property
    def gemini_base_url(self) -> str:
        """The ``base_url`` to give the Gemini provider (``_bench_gemini_server.py``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def gemini_raw_url(self) -> str:
        """The full Live websocket URL, for bare clients of ``_bench_gemini_server.py``."""
        return f"ws://127.0.0.1:{self.port}{GEMINI_PATH}"

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_client(args: Sequence[str], timeout: float = 600.0) -> dict[str, Any]:
    """Run a client subprocess (``python <script> ...``); its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"client {args} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_model(base_url: str) -> Any:
    """The provider pointed at the benchmark server (PCM16 24 kHz mono, as on the wire)."""
    from fullduplex_openai import BidiOpenAIRealtimeModel

    return BidiOpenAIRealtimeModel(
        "gpt-realtime",
        client_config={"api_key": API_KEY, "websocket_base_url": base_url},
    )


def make_gemini_model(base_url: str) -> Any:
    """The Gemini provider pointed at the Gemini benchmark server (24 kHz out, as on the wire)."""
    from fullduplex_gemini import BidiGeminiLiveModel

    return BidiGeminiLiveModel(
        GEMINI_MODEL, client_config={"api_key": API_KEY, "base_url": base_url}
    )


def command(op: str, **fields: Any) -> str:
    """The text of a user message that starts a server scenario."""
    return json.dumps({"op": op, **fields})


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def rnd(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def pin(cpu: int) -> bool:
    """Run this process on ``cpu`` only, at a raised priority when allowed.

    The machine is shared (other jobs run tests while benchmarks run); a higher
    priority keeps them from stealing the measured core. Returns whether the
    priority could be raised.
    """
    os.sched_setaffinity(0, {cpu})
    try:
        os.nice(-10)
    except PermissionError:
        return False
    return True


def load_average() -> float:
    """The 1-minute load average of the machine (other work competing for the CPUs)."""
    return round(os.getloadavg()[0], 2)


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def slope_per_minute(samples: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) samples, per minute."""
    if len(samples) < 2:
        return None
    xs = [s[0] for s in samples]
    ys = [s[1] for s in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return None
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return cov / var * 60.0


def emit(result: dict[str, Any]) -> None:
    """Print the result as one JSON object (the scripts' only stdout)."""
    print(json.dumps(result, indent=2))


_QUANTILES = {"p50": 0.5, "p99": 0.99, "max": 1.0}


def quantiles(
    name: str, values: Sequence[float], points: Sequence[str] = ("p50", "p99", "max")
) -> dict[str, float | None]:
    """``{name}_p50``, ``{name}_p99``, ``{name}_max`` (or the ``points`` asked) of ``values``.

    The latency scripts all report the same points of a distribution, rounded
    the same way; one helper keeps their key names and rounding alike.
    """
    return {f"{name}_{point}": rnd(percentile(values, _QUANTILES[point])) for point in points}


def user_message(text: str) -> str:
    """The ``conversation.item.create`` frame of a user text message, as a bare client sends it."""
    content = [{"type": "input_text", "text": text}]
    item = {"type": "message", "role": "user", "content": content}
    return json.dumps({"type": "conversation.item.create", "item": item})


@asynccontextmanager
async def bare_session(url: str) -> AsyncIterator[Any]:
    """A bare websockets connection to the server, past its session handshake.

    The floors measure the least any client must do, so they share this
    connection setup (created, update, updated) and time only what follows.
    """
    import websockets

    async with websockets.connect(
        url,
        additional_headers={"Authorization": f"Bearer {API_KEY}"},
        compression=None,
        max_size=None,
    ) as ws:
        await ws.recv()  # session.created
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        await ws.recv()  # session.updated
        yield ws


def floor_and_agent(
    script: str,
    count_option: str,
    count: int,
    summarize: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    variants: Sequence[str] = ("floor", "agent"),
) -> dict[str, Any]:
    """Run ``script``'s floor client, then its agent client (then any other ``variants``),
    against one server (every variant but ``floor`` gets the provider's base URL).

    Each client gets ``--client <variant> --url <url> <count_option> <count>``;
    ``summarize(server_stats, client_result)`` turns each run into its row.
    """
    results: dict[str, Any] = {}
    with ServerProcess(cpu=1) as server:
        for variant in variants:
            url = server.raw_url if variant == "floor" else server.url
            client = run_client(
                [script, "--client", variant, "--url", url, count_option, str(count)]
            )
            results[variant] = summarize(server.stats(), client)
    return results
