"""The emulator is an optional extra: never imported to list or print, and missed clearly.

``fullduplex --version`` and ``fullduplex --help`` must not import the emulator (or
aiohttp and numpy with it); without the ``[emulator]`` extra, ``fullduplex chat``
without a key and ``fullduplex emulator`` say how to install it. A missing extra is
simulated in a subprocess by making its import fail (``sys.modules[name] = None``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: what a user is told to run
INSTALL = "pip install 'fullduplex-openai[emulator]'"
HEAVY = ("fullduplex_emulator", "fullduplex_openai.emulator", "aiohttp", "numpy")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FULLDUPLEX_"))}
    env["NO_COLOR"] = "1"
    return env


def _run(code: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_listing_and_printing_never_import_the_emulator(argv: list[str]) -> None:
    code = f"""
import atexit, json, sys
def report():
    heavy = [name for name in {HEAVY!r} if name in sys.modules]
    sys.stderr.write("IMPORTED=" + json.dumps(heavy) + "\\n")
atexit.register(report)
from fullduplex.cli import main
main({argv!r})
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert "emulator" in done.stdout if argv == ["--help"] else done.stdout.strip()
    line = next(x for x in done.stderr.splitlines() if x.startswith("IMPORTED="))
    assert json.loads(line.removeprefix("IMPORTED=")) == []


def _without_extra(argv: list[str]) -> str:
    return f"""
import sys
sys.modules["fullduplex_emulator"] = None  # the [emulator] extra is not installed
from fullduplex.cli import main
main({argv!r})
"""


def test_chat_without_key_or_emulator_says_how_to_install_it() -> None:
    done = _run(_without_extra(["chat"]), stdin="hello\n")

    assert done.returncode == 1
    assert INSTALL in done.stderr
    assert "OPENAI_API_KEY" in done.stderr
    assert "Traceback" not in done.stderr


def test_emulator_command_without_the_extra_says_how_to_install_it() -> None:
    done = _run(_without_extra(["emulator", "--port", "0"]))

    assert done.returncode == 1
    assert INSTALL in done.stderr
    assert "Traceback" not in done.stderr


def test_emulator_command_passes_its_options_through() -> None:
    done = _run("from fullduplex.cli import main\nmain(['emulator', '--help'])")

    assert done.returncode == 0, done.stderr
    assert "--session-cap" in done.stdout
    assert "Usage: fullduplex emulator" in done.stdout
