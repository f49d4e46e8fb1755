"""``import fullduplex`` stays light: checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("websockets", "numpy", "sounddevice", "soxr", "pydantic")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_import_fullduplex_loads_no_heavy_dependency() -> None:
    modules = _modules_after("import fullduplex")

    assert "fullduplex" in modules
    assert _heavy(modules) == []


def test_touching_events_protocols_and_hookimpl_stays_light() -> None:
    modules = _modules_after(
        "import fullduplex\n"
        "fullduplex.BidiTextInputEvent(text='hi')\n"
        "fullduplex.hookimpl\n"
        "fullduplex.BidiModel\n"
        "import fullduplex.io, fullduplex.models\n"
    )

    assert "fullduplex.events" in modules
    assert _heavy(modules) == []


def test_the_check_would_notice_a_heavy_import() -> None:
    # guards the test above: the same probe sees numpy once the PCM helpers load
    modules = _modules_after("import fullduplex.audio")

    assert "numpy" in _heavy(modules)


def _modules_after_cli(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Modules loaded by running ``fullduplex ARGS`` (its console-script entry point)."""
    script = (
        "import json, sys\n"
        "from fullduplex.cli import main\n"
        f"sys.argv = ['fullduplex', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


CLI_HEAVY = ("pydantic", "numpy", "aiohttp", "websockets", "soxr", "sounddevice")


def test_version_loads_no_plugin_and_nothing_heavy() -> None:
    modules = _modules_after_cli("--version")

    assert sorted(m for m in modules if m.split(".")[0] in CLI_HEAVY) == []
    # no plugin was even loaded: --version never needs one
    assert not any(m.startswith("fullduplex_") for m in modules)
    assert "pluggy" not in modules


def test_listing_plugins_costs_only_what_the_plugins_themselves_import() -> None:
    # with only the core plugin, the command line's own path for listing stays light
    env = {**os.environ, "FULLDUPLEX_LOAD_PLUGINS": ""}
    modules = _modules_after_cli("plugins", env=env)

    assert "fullduplex.catalog" in modules
    assert sorted(m for m in modules if m.split(".")[0] in CLI_HEAVY) == []


@pytest.mark.parametrize("command", ["plugins", "models", "tools", "io"])
def test_listing_with_the_bundled_plugins_imports_nothing_heavy(command: str) -> None:
    # every installed plugin loads (the provider, the channels, the tools): they
    # register by reference, so listing imports no model, channel or schema code
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FULLDUPLEX_LOAD_PLUGINS", "FULLDUPLEX_DISABLE_PLUGINS")
    }
    modules = _modules_after_cli(command, env=env)

    assert "fullduplex_openai.plugin" in modules  # the provider's plugin did load
    assert "fullduplex_text.plugin" in modules
    assert sorted(m for m in modules if m.split(".")[0] in CLI_HEAVY) == []


def test_plugins_listing_imports_no_channel_provider_or_builtin_command() -> None:
    modules = _modules_after_cli("plugins")

    loaded = {"fullduplex_openai.model", "fullduplex_text.text_io", "fullduplex.chat"}
    assert sorted(loaded & modules) == []
    assert "asyncio" not in modules
