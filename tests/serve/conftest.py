"""The emulator fixture for the serve tests (helpers are in serve_kit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from serve_kit import KEY

from fullduplex_openai.emulator import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=KEY, port=0) as emu:
        yield emu
