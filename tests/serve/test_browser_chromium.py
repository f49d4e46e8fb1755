"""The page in a real headless Chromium with a fake microphone playing a spoken question.

The emulator cannot understand words: it answers an audio turn with its length ("I heard
1.9 seconds of audio."). So the test checks that the page shows that answer, that the
length is the question's, that the page played the answer (its own played-ms reports, as
the server received them), and that the server got the microphone's audio.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from cdp import Chromium, connect
from serve_kit import agent_factory, client_events, serving, unavailable, wait_for

from fullduplex_openai.emulator import Emulator

pytestmark = pytest.mark.browser

QUESTION = "What time does the library close today?"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "serve"


def spoken_question(path: Path) -> float:
    """Write the question (espeak-ng) padded with silence; return its spoken seconds."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), QUESTION], check=True, timeout=30)
    with wave.open(str(raw), "rb") as source:
        rate, width, frames = source.getframerate(), source.getsampwidth(), source.readframes(-1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(b"\x00" * width * rate + frames + b"\x00" * width * rate * 4)
    return len(frames) / width / rate


async def test_page_in_headless_chromium_hears_and_answers(
    emulator: Emulator, tmp_path: Path
) -> None:
    binary = shutil.which("chromium")
    if binary is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    if shutil.which("espeak-ng") is None:
        unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    assert binary is not None
    wav = tmp_path / "question.wav"
    spoken_s = spoken_question(wav)
    profile = tmp_path / "profile"
    profile.mkdir()
    async with serving(agent_factory(emulator)) as served:
        browser = Chromium(binary, profile, wav)
        try:
            devtools = await connect(await browser.page_socket())
            await devtools.call("Page.enable")
            await devtools.call("Page.navigate", url=f"{served.http}/?autostart=1")

            state: dict = {}

            def answered() -> bool:
                finals = [
                    t
                    for t in state.get("transcripts", [])
                    if t["role"] == "assistant" and t["final"]
                ]
                return bool(finals) and state["played"].get(finals[0]["item_id"], 0) >= 1000

            async def poll() -> None:
                while not answered():
                    state.clear()
                    state.update(
                        json.loads(
                            await devtools.evaluate("JSON.stringify(window.fullduplex || {})")
                        )
                        or {}
                    )
                    await asyncio.sleep(0.2)

            try:
                await asyncio.wait_for(poll(), 60)
            except TimeoutError:
                raise AssertionError(
                    f"the page never showed a played answer: {state}\n"
                    f"{browser.log.read_text(errors='replace')[-2000:]}"
                ) from None
            await asyncio.sleep(0.5)
            shot = await devtools.call("Page.captureScreenshot", format="png")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "serve-page.png").write_bytes(base64.b64decode(shot["data"]))
            page_text = await devtools.evaluate("document.getElementById('log').innerText")
            sessions = list(served.app.state.fullduplex.sessions.values())
            await devtools.evaluate("document.getElementById('hangup').click()")
            await wait_for(lambda: not served.app.state.fullduplex.sessions, 10, "the hang-up")
            await devtools.ws.close()
        finally:
            browser.stop()

    final = next(t for t in state["transcripts"] if t["role"] == "assistant" and t["final"])
    match = re.fullmatch(r"I heard (\d+\.\d) seconds of audio\.", final["text"])
    assert match, final
    assert final["text"] in page_text
    # the emulator heard about as long a turn as the question the microphone spoke
    assert abs(float(match.group(1)) - spoken_s) < 1.0, (match.group(1), spoken_s)
    # the page played the answer, and the server got its reports for the ledger
    assert len(sessions) == 1
    assert sessions[0].played_ms[final["item_id"]] >= 1000
    assert state["sentBytes"] > 48000  # the microphone's audio went out...
    assert len(client_events(emulator, "input_audio_buffer.append")) > 50  # ...and arrived
    assert state["errors"] == []
