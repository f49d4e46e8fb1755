"""A small Chrome DevTools Protocol client over websockets, and a headless Chromium launcher.

Only Debian's ``chromium`` is used; nothing is ever downloaded. The browser gets a fresh
profile, a fake microphone that plays a WAV file once, and no network of its own besides
the test server on loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets


def chromium_args(binary: str, profile: Path, wav: Path) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "--window-size=900,700",
        "about:blank",
    ]


class Chromium:
    def __init__(self, binary: str, profile: Path, wav: Path) -> None:
        self.profile = profile
        self.log = profile.parent / "chromium.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            chromium_args(binary, profile, wav),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    async def page_socket(self, timeout: float = 30) -> str:
        """The DevTools WebSocket URL of the first page, once the browser listens."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])

        def targets() -> list[dict[str, Any]]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                return list(json.load(r))

        pages = [t for t in await asyncio.to_thread(targets) if t.get("type") == "page"]
        return str(pages[0]["webSocketDebuggerUrl"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log_file.close()


class DevTools:
    """Send CDP commands and wait for their replies (events are ignored)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(30):
            while True:
                message = json.loads(await self.ws.recv())
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


async def connect(url: str) -> DevTools:
    return DevTools(await websockets.connect(url, max_size=64 * 1024 * 1024))
