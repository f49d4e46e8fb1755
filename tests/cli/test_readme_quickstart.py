"""The README's commands, read from README.md at test time and run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_kit import NOTICE, REPO, clean_env

README = REPO / "README.md"
#: what a fresh checkout holds that the quickstart installs from
DISTRIBUTIONS = ("core", "providers", "plugins")


def _quickstart_commands() -> list[str]:
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_the_quickstart_has_the_two_commands() -> None:
    commands = _quickstart_commands()

    assert len(commands) == 2
    install_and_chat, run_tests = commands
    assert "\n" not in install_and_chat  # one line to paste
    assert "fullduplex chat" in install_and_chat
    assert run_tests == "python3 -m venv .venv && .venv/bin/pip install tox && .venv/bin/tox"
    # CI runs the same test command
    assert "tox" in (REPO / ".ci" / "run").read_text().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_first_command_works_in_a_fresh_checkout(tmp_path: Path) -> None:
    """A new venv, the distributions installed from the checkout, and a conversation."""
    command = _quickstart_commands()[0]
    checkout = tmp_path / "checkout"
    for name in DISTRIBUTIONS:
        shutil.copytree(
            REPO / name,
            checkout / name,
            ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", "build", "dist", ".mypy_cache", ".ruff_cache"
            ),
        )
    env = clean_env()
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    # `python3` is the interpreter running the tests (3.11+), as on a user's machine
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])

    done = subprocess.run(
        ["bash", "-c", command],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        timeout=840,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (checkout / ".venv" / "bin" / "fullduplex").exists()
    # the quickstart asks "what is 12 times 7?" with the calculator, offline
    lines = done.stdout.splitlines()
    assert any(line.startswith("[tool] calculator(") for line in lines), done.stdout
    answers = [line for line in lines if line.startswith("Assistant:")]
    assert answers, done.stdout[-3000:]
    # the quickstart installs the emulator's [speech] extra: numbers are said in words
    assert "eighty four" in answers[-1]
    assert NOTICE in done.stderr
