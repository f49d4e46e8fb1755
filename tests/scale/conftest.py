"""The scale tests reuse the browser protocol client of tests/serve."""

from __future__ import annotations

import sys
from pathlib import Path

_SERVE_TESTS = str(Path(__file__).resolve().parents[1] / "serve")
if _SERVE_TESTS not in sys.path:
    sys.path.insert(0, _SERVE_TESTS)

from collections.abc import AsyncIterator  # noqa: E402

import pytest  # noqa: E402

from fullduplex_openai.emulator import Emulator  # noqa: E402


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    from serve_kit import KEY

    async with Emulator(api_key=KEY, port=0) as emu:
        yield emu
