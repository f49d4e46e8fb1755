"""Fixtures: a real emulator on loopback and models pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator

KEY = "emu-key-DO-NOT-LOG-4242"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=KEY, port=0) as server:
        yield server


@pytest.fixture
def make_model(emu: Emulator) -> Callable[..., BidiOpenAIRealtimeModel]:
    def make(
        provider_config: dict[str, Any] | None = None, **client: Any
    ) -> BidiOpenAIRealtimeModel:
        client_config = {"api_key": KEY, "base_url": emu.base_url, **client}
        return BidiOpenAIRealtimeModel(
            model_id="gpt-realtime", provider_config=provider_config, client_config=client_config
        )

    return make
