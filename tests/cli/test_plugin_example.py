"""The third-party plugin of docs/writing-plugins.md, built, installed, discovered and used.

The example distribution lives in ``tests/plugin_example``; the page shows the
same files (checked here), so the documented plugin is the one that works.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_kit import REPO, clean_env, run

EXAMPLE = REPO / "tests" / "plugin_example"
DOC = REPO / "docs" / "writing-plugins.md"
FILES = [
    "pyproject.toml",
    "src/fullduplex_jsonl/__init__.py",
    "src/fullduplex_jsonl/plugin.py",
    "src/fullduplex_jsonl/jsonl_io.py",
]


def _code_blocks(markdown: str) -> list[str]:
    return [block.group(1) for block in re.finditer(r"```\w*\n(.*?)```", markdown, re.S)]


@pytest.mark.parametrize("name", FILES)
def test_the_page_shows_the_example_files_as_they_are(name: str) -> None:
    assert (EXAMPLE / name).read_text() in _code_blocks(DOC.read_text())


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example built into a wheel (offline) and installed into its own directory."""
    root = tmp_path_factory.mktemp("plugin_example")
    source = root / "fullduplex-jsonl"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "build"))
    wheels = root / "wheels"
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("fullduplex_jsonl-*.whl")
    site = root / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    assert (site / "fullduplex_jsonl" / "jsonl_io.py").exists()
    return site


def _env(site: Path) -> dict[str, str]:
    return clean_env({"PYTHONPATH": str(site)})


def test_without_it_nothing_is_listed() -> None:
    assert "jsonl" not in run(["io"]).stdout


def test_installed_plugin_is_discovered(installed: Path) -> None:
    io = run(["io", "--json"], env=_env(installed))
    plugins = run(["plugins", "--json"], env=_env(installed))

    assert io.returncode == 0, io.stderr
    entries = {entry["name"]: entry for entry in json.loads(io.stdout)}
    assert entries["jsonl"]["object"] == "BidiJsonlIO"
    assert entries["jsonl"]["distribution"] == "fullduplex-jsonl"
    assert plugins.returncode == 0, plugins.stderr
    records = {record["name"]: record for record in json.loads(plugins.stdout)["plugins"]}
    assert records["jsonl"]["version"] == "0.1.0"
    assert records["jsonl"]["hooks"] == ["register_io"]
    assert records["jsonl"]["registered"]["io"] == ["jsonl"]


USE_IT = textwrap.dedent(
    """
    import asyncio
    import sys

    from fullduplex import BidiAgent
    from fullduplex.io import BidiJsonlIO
    from fullduplex.models import BidiOpenAIRealtimeModel
    from fullduplex_openai.emulator import Emulator
    from fullduplex_tools import calculator


    async def main() -> None:
        async with Emulator() as emulator:
            model = BidiOpenAIRealtimeModel(
                model_id="gpt-realtime",
                client_config={"base_url": emulator.base_url, "api_key": emulator.api_key},
            )
            script = BidiJsonlIO(input_path=sys.argv[1], output_path=sys.argv[2])
            agent = BidiAgent(model=model, tools=[calculator])
            await agent.run(inputs=[script.input()], outputs=[script.output()])


    asyncio.run(main())
    """
)


def test_installed_plugin_runs_a_conversation(installed: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("what is 12 times 7?\n")
    log = tmp_path / "conversation.jsonl"
    script = tmp_path / "use_it.py"
    script.write_text(USE_IT)

    done = subprocess.run(
        [sys.executable, str(script), str(questions), str(log)],
        capture_output=True,
        text=True,
        env=_env(installed),
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    types = [event["type"] for event in events]
    assert "bidi_audio_stream" not in types  # left out unless include_audio=True
    results = [event for event in events if event["type"] == "tool_result"]
    assert [(r["name"], r["content"]) for r in results] == [("calculator", "84")]
    finals = [
        event["current_transcript"] or event["text"]
        for event in events
        if event["type"] == "bidi_transcript_stream" and event["is_final"]
    ]
    assert any("84" in text for text in finals), finals


def test_the_page_test_passes_against_the_installed_plugin(installed: Path, tmp_path: Path) -> None:
    (block,) = [b for b in _code_blocks(DOC.read_text()) if "FakeModel" in b and "def test_" in b]
    (tmp_path / "test_from_the_page.py").write_text(block)

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(installed),
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
