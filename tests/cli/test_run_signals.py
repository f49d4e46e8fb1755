"""``agent.run(..., stop_signals=...)``: a script's Ctrl-C ends the conversation
cleanly (exit 0, no traceback), as the README shows; without it, the old
``KeyboardInterrupt`` traceback is what Python gives."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_kit import clean_env

from fullduplex import BidiAgent
from fullduplex.errors import ConfigurationError
from fullduplex.testing import FakeModel

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import signal
    import sys

    from fullduplex import BidiAgent
    from fullduplex.models import BidiOpenAIRealtimeModel
    from fullduplex.testing import RecordingOutput
    from fullduplex_openai.plugin import local_emulator


    class Forever:
        async def start(self, agent):
            print("ready", flush=True)

        async def stop(self):
            pass

        async def __call__(self):
            await asyncio.Event().wait()


    async def main(signals) -> None:
        with local_emulator() as connect:
            model = BidiOpenAIRealtimeModel(model_id="gpt-realtime", **connect)
            agent = BidiAgent(model=model)
            await agent.run(inputs=[Forever()], outputs=[RecordingOutput()], stop_signals=signals)
        print("stopped cleanly", flush=True)


    if __name__ == "__main__":
        wanted = (signal.SIGINT, signal.SIGTERM) if sys.argv[1] == "on" else ()
        asyncio.run(main(wanted))
    """
)


def _run_and_interrupt(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "talk.py"
    script.write_text(SCRIPT, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # the conversation is under way
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_ends_a_script_cleanly_with_stop_signals(tmp_path: Path) -> None:
    result = _run_and_interrupt(tmp_path, "on")
    assert result.returncode == 0, result.stderr
    assert "stopped cleanly" in result.stdout
    assert "Traceback" not in result.stderr


def test_without_stop_signals_ctrl_c_is_still_a_keyboard_interrupt(tmp_path: Path) -> None:
    result = _run_and_interrupt(tmp_path, "off")
    assert result.returncode != 0
    assert "KeyboardInterrupt" in result.stderr


async def test_stop_signals_are_checked() -> None:
    agent = BidiAgent(FakeModel())
    with pytest.raises(ConfigurationError, match="stop_signals: 'INT' is not a signal"):
        await agent.run(stop_signals=["INT"])  # type: ignore[list-item]
