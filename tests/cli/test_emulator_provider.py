"""``fullduplex emulator [--provider NAME]``: one command runs any registered provider's emulator.

Each provider declares its emulator command in its model registration
(``emulator_command=``); core's ``emulator`` command picks the provider and
passes the remaining options through. Run as real subprocesses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fullduplex.catalog import registry
from fullduplex.emulator_cli import choose_provider


def _exe() -> str:
    exe = shutil.which("fullduplex", path=str(Path(sys.executable).parent))
    assert exe is not None
    return exe


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULLDUPLEX_")}
    env["NO_COLOR"] = "1"
    return env


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_exe(), *argv], capture_output=True, text=True, env=_env(), timeout=60, check=False
    )


def test_without_provider_the_openai_emulator_runs_with_its_options() -> None:
    done = run("emulator", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: fullduplex emulator" in done.stdout
    assert "--session-cap" in done.stdout  # the OpenAI emulator's own option
    assert "--provider NAME" in done.stdout


def test_provider_gemini_runs_the_gemini_emulator_command() -> None:
    for argv in (("--provider", "gemini"), ("--provider=gemini",)):
        done = run("emulator", *argv, "--help")
        assert done.returncode == 0, done.stderr
        assert "Usage: fullduplex emulator --provider gemini" in done.stdout
        assert "--go-away-lead" in done.stdout  # the Gemini emulator's own option
        assert "--session-cap" not in done.stdout


def test_an_unknown_provider_names_the_ones_with_an_emulator() -> None:
    done = run("emulator", "--provider", "nova")
    assert done.returncode == 2
    assert "--provider: no emulator for provider 'nova'" in done.stderr
    assert "gemini, openai" in done.stderr


def test_the_providers_no_longer_register_their_own_commands() -> None:
    done = run("--help")
    assert done.returncode == 0, done.stderr
    assert "emulator-gemini" not in done.stdout
    assert "emulator" in done.stdout


def test_the_default_follows_fullduplex_model_then_openai(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FULLDUPLEX_MODEL", raising=False)
    providers = [r for r in registry().entries("models") if r.emulator_command]
    assert [r.name for r in providers] == ["gemini", "openai"]
    assert choose_provider(None, providers).name == "openai"
    monkeypatch.setenv("FULLDUPLEX_MODEL", "gemini/x")
    assert choose_provider(None, providers).name == "gemini"
    assert choose_provider(None, providers[:1]).name == "gemini"


async def test_provider_gemini_serves_a_gemini_live_endpoint() -> None:
    from fullduplex.events import BidiConnectionStartEvent
    from fullduplex_gemini import BidiGeminiLiveModel

    process = await asyncio.create_subprocess_exec(
        _exe(),
        *("emulator", "--provider", "gemini", "--port", "0", "--api-key", "k-123"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        assert line.startswith("Gemini Live emulator listening on "), line
        base_url = line.rsplit(" ", 1)[1].strip()
        model = BidiGeminiLiveModel(client_config={"api_key": "k-123", "base_url": base_url})
        async with asyncio.timeout(10):
            await model.start()
            first = await anext(aiter(model.receive()))
            await model.stop()
        assert isinstance(first, BidiConnectionStartEvent)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode == 0


@pytest.mark.parametrize("ref", ["no-colon", ":attr", "module:", 42])
def test_a_bad_emulator_command_reference_names_the_field(ref: object) -> None:
    from fullduplex.errors import ConfigurationError
    from fullduplex.registration import make_register

    register = make_register("models", "p", None, [])
    with pytest.raises(ConfigurationError, match=r"emulator_command: expected a 'package\.module"):
        register("prov", "pkg.mod:Model", emulator_command=ref)
