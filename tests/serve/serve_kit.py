"""Helpers for the serve tests: the app on uvicorn on a free loopback port, the OpenAI
emulator in the same event loop, and helpers that speak the wire protocols from their text
(``reference/twilio-media-streams.md``, ``docs/browser-protocol.md``), not through our classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from fullduplex.agent import BidiAgent
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator
from fullduplex_serve import create_app

KEY = "emu-key-serve-tests"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip outside CI, fail in CI (as tests/audio does)."""
    if in_ci():
        pytest.fail(f"CI=true but this test cannot run: {reason}")
    pytest.skip(reason)


class Served:
    """A running app: its address, and how many agents the factory built."""

    def __init__(self, host: str, app: Any) -> None:
        self.host = host
        self.app = app
        self.agents: list[BidiAgent] = []

    @property
    def http(self) -> str:
        return f"http://{self.host}"

    @property
    def ws(self) -> str:
        return f"ws://{self.host}"


@contextlib.asynccontextmanager
async def serving(factory: Callable[[], BidiAgent], **settings: Any) -> AsyncIterator[Served]:
    """``create_app(factory, **settings)`` served by uvicorn on 127.0.0.1:<free port>."""
    holder: list[Served] = []

    def counted() -> BidiAgent:
        agent = factory()
        holder[0].agents.append(agent)
        return agent

    app = create_app(counted, **settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    served = Served(f"127.0.0.1:{port}", app)
    holder.append(served)
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_max_size=4 * settings.get("max_frame_bytes", 256 * 1024),
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    await task
                await asyncio.sleep(0.02)
        yield served
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(15):
                await task
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sock.close()


def agent_factory(emu: Emulator, **agent_kwargs: Any) -> Callable[[], BidiAgent]:
    """A new agent on the emulator for every call."""

    def build() -> BidiAgent:
        model = BidiOpenAIRealtimeModel(client_config={"api_key": KEY, "base_url": emu.base_url})
        return BidiAgent(model, **agent_kwargs)

    return build


def client_events(emu: Emulator, kind: str) -> list[dict[str, Any]]:
    """What the model server received of one client event type."""
    return [event for event in emu.received if event.get("type") == kind]


def fullduplex_command() -> list[str]:
    """The installed ``fullduplex`` script next to this interpreter."""
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def clean_env() -> dict[str, str]:
    """The environment minus anything that changes what the command connects to."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "FULLDUPLEX_", "TWILIO_"))
    }
    env["NO_COLOR"] = "1"
    return env


async def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
