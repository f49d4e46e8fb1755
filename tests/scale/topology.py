"""The deployment's topology without containers: a real ``redis-server``, one ``fullduplex
emulator`` (the model server both nodes reach), two ``fullduplex serve`` processes sharing the
Redis, and a real ``nginx`` in front of them as the sticky WebSocket balancer.

Each part runs on a free loopback port with its own temporary directory and is stopped by
the fixture that started it (by its own process id). The nginx configuration is the one in
``deploy/nginx.conf``, with the upstream addresses and paths filled in, so the test checks
the file users deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

KEY = "emu-key-scale-tests"
REPO = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = REPO / "deploy" / "nginx.conf"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def need(program: str, package: str) -> str:
    """The program's path; skip outside CI, fail in CI, when it is not installed."""
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.path.exists(p)), None
    )
    if path is None:
        reason = f"{program} is not installed (Debian package {package}; .ci/run installs it)"
        if in_ci():
            pytest.fail(f"CI=true but this test cannot run: {reason}")
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port} within {timeout}s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop one process we started (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def fullduplex() -> list[str]:
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "FULLDUPLEX_", "TWILIO_"))
    }
    env.update(NO_COLOR="1", **extra)
    return env


class Redis:
    def __init__(self, tmp: Path) -> None:
        self.binary = need("redis-server", "redis-server")
        self.port = free_port()
        self.dir = tmp / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.dir), "--logfile", "redis.log"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


class Node:
    """One ``fullduplex serve`` process."""

    def __init__(self, name: str, tmp: Path, model_url: str, store_url: str, **opts: str) -> None:
        self.name = name
        self.port = free_port()
        self.log = tmp / f"{name}.log"
        args = [*fullduplex(), "serve", "--port", str(self.port), "--base-url", model_url]
        args += ["--session-store", store_url]
        for key, value in opts.items():
            args += [f"--{key.replace('_', '-')}", value]
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(OPENAI_API_KEY=KEY),
            )
        wait_port(self.port, self.proc, f"serve {self.name}", timeout=30)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> str:
        return _get(self.port, "/metrics")[1]

    def metric(self, line_prefix: str) -> float:
        """A metric's value (0 when the process no longer answers)."""
        try:
            text = self.metrics()
        except OSError:
            return 0.0
        for line in text.splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.split()[-1])
        return 0.0

    def healthz(self) -> int:
        return _get(self.port, "/healthz")[0]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


def _get(port: int, path: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[int]) -> None:
        self.binary = need("nginx", "nginx")
        self.port = free_port()
        self.dir = tmp / "nginx"
        (self.dir / "logs").mkdir(parents=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams
        )
        conf = NGINX_TEMPLATE.read_text()
        # deploy/nginx.conf names the Compose services; here the two local processes
        start, end = conf.index("    # upstreams:begin"), conf.index("    # upstreams:end")
        conf = conf[:start] + servers + "\n" + conf[end:]
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(
            f"    {kind}_temp_path {self.dir / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = conf.replace(
            "http {", "http {\n" + temp + f"    access_log {self.dir}/access.log;", 1
        )
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            user + f"pid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log warn;\n" + conf
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.binary, "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"]
        check = subprocess.run([*args[:-2], "-t"], capture_output=True, timeout=20)
        assert check.returncode == 0, check.stderr.decode()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, self.proc, "nginx")

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


class Emulator:
    """``fullduplex emulator`` in a process of its own, recording every connection."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.record = tmp / "model-wire.jsonl"
        args = [*fullduplex(), "emulator", "--port", str(self.port), "--api-key", KEY]
        args += ["--record", str(self.record)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env()
        )
        wait_port(self.port, self.proc, "fullduplex emulator", timeout=30)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def lines(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [orjson.loads(line) for line in self.record.read_bytes().splitlines() if line]

    def client_events(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        """(connection, event) of every event of ``kind`` the model server received."""
        return [
            (line["connection"], line["event"])
            for line in self.lines()
            if line["direction"] == "client"
            and isinstance(line.get("event"), dict)
            and line["event"].get("type") == kind
        ]

    def stop(self) -> None:
        stop(self.proc)


def item_texts(event: dict[str, Any]) -> list[str]:
    """The texts of a ``conversation.item.create`` event's item."""
    item = event.get("item", {})
    return [
        part.get("text") or part.get("transcript") or ""
        for part in item.get("content", [])
        if isinstance(part, dict)
    ]


class Topology:
    def __init__(self, tmp: Path, **serve_opts: str) -> None:
        self.tmp = tmp
        self.redis = Redis(tmp)
        self.emulator: Emulator | None = None
        self.nodes: list[Node] = []
        self.nginx: Nginx | None = None
        self.serve_opts = serve_opts

    def start(self) -> None:
        self.redis.start()
        self.emulator = Emulator(self.tmp)
        self.nodes = [
            Node(name, self.tmp, self.emulator.base_url, self.redis.url, **self.serve_opts)
            for name in ("a", "b")
        ]
        for node in self.nodes:
            node.start()
        self.nginx = Nginx(self.tmp, [node.port for node in self.nodes])
        self.nginx.start()

    def holder(self) -> Node:
        """The node that holds the browser call now."""
        held = [
            n
            for n in self.nodes
            if n.alive() and n.metric('fullduplex_active_calls{channel="browser"}')
        ]
        assert len(held) == 1, [n.name for n in held]
        return held[0]

    def other(self, node: Node) -> Node:
        return next(n for n in self.nodes if n is not node)

    def logs(self) -> str:
        return "\n".join(
            f"--- {n.name}\n{n.log.read_text(errors='replace')[-3000:]}"
            for n in self.nodes
            if n.log.exists()
        )

    def stop(self) -> None:
        for part in (self.nginx, *self.nodes, self.emulator):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        self.redis.stop()


@contextlib.contextmanager
def topology(tmp: Path, **serve_opts: str) -> Iterator[Topology]:
    topo = Topology(tmp, **serve_opts)
    try:
        topo.start()
        yield topo
    finally:
        topo.stop()


async def until(predicate: Any, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
