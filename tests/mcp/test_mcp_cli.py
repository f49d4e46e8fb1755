"""``fullduplex chat --mcp / --mcp-url`` as a real subprocess against an emulator that calls
the tool it is told to; ``tools --mcp`` likewise."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_helpers import KEY, SERVER, CallingResponder, say

from fullduplex_openai.emulator import Emulator
from fullduplex_openai.emulator.server import EmulatorThread

SERVER_COMMAND = shlex.join([sys.executable, str(SERVER)])


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    with Emulator(api_key=KEY, responder=CallingResponder()).start_in_thread() as running:
        yield running


def _chat(args: list[str], text: str, base_url: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("fullduplex")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FULLDUPLEX_"))}
    env.update(OPENAI_API_KEY=KEY, NO_COLOR="1")
    return subprocess.run(
        [str(script), "chat", "--base-url", base_url, *args],
        input=text + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_chat_with_a_stdio_mcp_server(emulator: EmulatorThread) -> None:
    result = _chat(["--mcp", SERVER_COMMAND], say("echo", {"text": "hi"}), emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "using MCP server" in result.stderr
    assert "The echo result is hi." in result.stdout


def test_chat_with_an_http_mcp_server(emulator: EmulatorThread, http_url: str) -> None:
    result = _chat(["--mcp-url", http_url], say("weather", {"city": "Oslo"}), emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "Oslo" in result.stdout.splitlines()[-1]


def test_chat_sends_mcp_headers_to_an_http_server(emulator: EmulatorThread, http_url: str) -> None:
    args = ["--mcp-url", http_url, "--mcp-header", "X-Fd-Test: token-4711"]
    result = _chat(args, say("header", {"name": "x-fd-test"}), emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "The header result is token-4711." in result.stdout
    assert "token-4711" not in result.stderr  # our own lines never show a header value


def test_a_malformed_mcp_header_is_refused_without_echoing_it(
    emulator: EmulatorThread, http_url: str
) -> None:
    args = ["--mcp-url", http_url, "--mcp-header", "Bearer secret-99"]
    result = _chat(args, "hi", emulator.base_url)
    assert result.returncode == 2
    assert "--mcp-header" in result.stderr
    assert "NAME:VALUE" in result.stderr
    assert "secret-99" not in result.stderr
    alone = _chat(["--mcp-header", "X-A: 1"], "hi", emulator.base_url)
    assert alone.returncode == 2
    assert "--mcp-header goes with --mcp-url" in alone.stderr


def test_chat_with_a_server_that_cannot_start(emulator: EmulatorThread) -> None:
    result = _chat(["--mcp", f"{sys.executable} -c 'raise SystemExit(2)'"], "hi", emulator.base_url)
    assert result.returncode == 1
    assert "could not start" in result.stderr


def _fullduplex(args: list[str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("fullduplex")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FULLDUPLEX_"))}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_tools_lists_what_a_server_offers() -> None:
    """The real command line: the plugin's extend_command hook adds --mcp to ``tools``."""
    listing = _fullduplex(["tools", "--mcp", SERVER_COMMAND])
    assert listing.returncode == 0, listing.stderr
    assert "echo  Repeat the text back." in listing.stdout
    as_json = _fullduplex(["tools", "--json", "--mcp", SERVER_COMMAND])
    assert as_json.returncode == 0, as_json.stderr
    tools = {t["name"]: t for t in json.loads(as_json.stdout)["tools"]}
    assert tools["weather"]["parameters"]["required"] == ["city"]


def test_options_of_chat_are_listed_in_its_help() -> None:
    shown = _fullduplex(["chat", "--help"])
    assert shown.returncode == 0, shown.stderr
    assert "--mcp COMMAND" in shown.stdout
    assert "--mcp-url URL" in shown.stdout
