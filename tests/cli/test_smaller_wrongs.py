"""The smaller wrongs a new user met on the way (issue 16), one test each.

- the emulator's banner suggested ``OPENAI_BASE_URL`` (which fullduplex ignores)
  and no command with the key: its suggestion must now work as printed;
- ``--base-url`` without ``/v1`` got a bare 404;
- voices were case-sensitive;
- configuration errors carried pydantic's "Value error," and type tags;
- ``FULLDUPLEX_LOAD_PLUGINS`` filtering the provider out said "none installed";
- ``FULLDUPLEX_DISABLE_PLUGINS=nosuch`` was silent;
- a non-WAV ``--input-wav`` was noticed only after the emulator started.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from cli_kit import FAKE_KEY, NOTICE, clean_env, fullduplex_command, run

from fullduplex.errors import ConfigurationError
from fullduplex_openai.config import resolve
from fullduplex_openai.emulator import Emulator


def test_the_emulator_banner_suggests_a_command_that_works() -> None:
    server = subprocess.Popen(
        [*fullduplex_command(), "emulator", "--port", "0", "--fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(5)]
        try_line = next(line for line in banner if line.strip().startswith("Try:"))
        assert "OPENAI_BASE_URL" not in try_line
        suggestion = shlex.split(try_line.split("Try:", 1)[1])
        assignments = dict(word.split("=", 1) for word in suggestion if "=" in word)
        command = [word for word in suggestion if "=" not in word]
        assert set(assignments) == {"OPENAI_API_KEY"}
        assert command[:2] == ["fullduplex", "chat"]
        result = run(command[1:], stdin="hello\n", env=clean_env(assignments))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Assistant: You said: hello"
        assert NOTICE not in result.stderr  # it talked to this emulator, not an embedded one
        assert any("Other clients: OPENAI_BASE_URL=" in line for line in banner)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
            for pipe in (server.stdout, server.stderr):
                if pipe is not None:
                    pipe.close()


async def test_a_base_url_without_v1_reaches_the_api_root() -> None:
    async with Emulator(api_key=FAKE_KEY) as emu:
        bare = emu.base_url.removesuffix("/v1")
        assert bare != emu.base_url
        process = await asyncio.create_subprocess_exec(
            *fullduplex_command(),
            "chat",
            "--base-url",
            bare,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(key=FAKE_KEY),
        )
        try:
            async with asyncio.timeout(60):
                out, err = await process.communicate(b"hello\n")
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == "Assistant: You said: hello"


def test_a_base_url_with_a_path_is_kept_as_given() -> None:
    config, _ = resolve("gpt-realtime", None, {"api_key": "k", "base_url": "http://h:1/proxy/v1"})
    assert config.url == "ws://h:1/proxy/v1/realtime?model=gpt-realtime"


def test_voices_are_not_case_sensitive() -> None:
    config, _ = resolve("gpt-realtime", {"audio": {"voice": "Coral"}}, {"api_key": "k"})
    assert config.base_session["audio"]["output"]["voice"] == "coral"


def test_configuration_errors_read_without_pydantic_words() -> None:
    with pytest.raises(ConfigurationError) as bad_name:
        resolve("gpt-realtime", {"audio": {"voice": "nobody"}}, {"api_key": "k"})
    assert str(bad_name.value).startswith("provider_config.audio.voice: unknown voice 'nobody'")
    with pytest.raises(ConfigurationError) as bad_type:
        resolve("gpt-realtime", {"audio": {"voice": 5}}, {"api_key": "k"})
    message = str(bad_type.value)
    assert message == (
        "provider_config.audio.voice: expected a valid string or a valid dictionary, got int"
    )


def test_a_bad_voice_on_the_command_line_is_one_plain_line() -> None:
    result = run(["chat", "--voice", "nobody"], stdin="hi\n")
    assert result.returncode == 1
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    assert error.startswith("Error: provider_config.audio.voice: unknown voice 'nobody'")
    assert "Value error" not in result.stderr
    assert "ConfigurationError" not in result.stderr


def test_load_plugins_that_filters_the_provider_out_says_so() -> None:
    result = run(["chat"], stdin="hi\n", env=clean_env({"FULLDUPLEX_LOAD_PLUGINS": "text"}))
    assert result.returncode == 2
    assert "none installed" not in result.stderr
    assert "openai" in result.stderr
    assert "FULLDUPLEX_LOAD_PLUGINS" in result.stderr


def test_disabling_a_plugin_that_does_not_exist_is_reported() -> None:
    result = run(["plugins"], env=clean_env({"FULLDUPLEX_DISABLE_PLUGINS": "nosuch"}))
    assert result.returncode == 0, result.stderr
    assert "FULLDUPLEX_DISABLE_PLUGINS" in result.stderr
    assert "'nosuch'" in result.stderr
    assert "openai" in result.stderr  # the names that exist


def test_a_file_that_is_not_wav_is_refused_before_anything_starts(tmp_path: Path) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio at all\n", encoding="utf-8")
    result = run(["chat", "--input-wav", str(notes)])
    assert result.returncode == 2
    assert NOTICE not in result.stderr  # refused before the emulator started
    assert "--input-wav" in result.stderr
    assert "not a WAV file" in result.stderr


def test_the_banner_names_no_real_key() -> None:
    """The banner's key is the emulator's own even when a real key is in the environment."""
    env = clean_env(key=FAKE_KEY)
    server = subprocess.Popen(
        [*fullduplex_command(), "emulator", "--port", "0", "--fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        banner = "".join(server.stdout.readline() for _ in range(5))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    assert FAKE_KEY not in banner
    assert "OPENAI_API_KEY=" in banner
