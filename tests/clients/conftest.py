"""Fixtures for the client checks: emulators whose every sent event is validated at teardown.

Collected only with ``FULLDUPLEX_CLIENTS=1`` (set by the ``clients`` tox env). A
client that is not installed then skips its module outside CI and fails it in CI
(``CI=true``), so CI can never pass by silently skipping a client.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any

import pytest

if os.environ.get("FULLDUPLEX_CLIENTS") != "1":
    collect_ignore_glob = ["test_*.py"]

from fullduplex_openai.emulator import Emulator

from .kit import KEY, assert_openai_server_events


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(module: str, requirement: str) -> ModuleType:
    """Import a client, or skip (outside CI) / fail (in CI) naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = (
            f"{requirement} is not installed ({exc}); pip install -r tests/clients/requirements.txt"
        )
        if _in_ci():
            pytest.fail(f"CI=true but a checked client is missing: {reason}")
        pytest.skip(reason, allow_module_level=True)


@pytest.fixture
async def make_emulator() -> AsyncIterator[Callable[..., Any]]:
    """Start OpenAI emulators; all are stopped, then everything they sent is validated."""
    started: list[Emulator] = []

    async def make(**options: Any) -> Emulator:
        options.setdefault("api_key", KEY)
        emulator = await Emulator(**options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        await emulator.stop()
    for emulator in started:
        assert_openai_server_events(emulator.sent_events)
