"""Fixtures: a real Gemini Live emulator on loopback and models pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from fullduplex_gemini import BidiGeminiLiveModel
from fullduplex_gemini.emulator import GeminiEmulator

KEY = "gemini-emu-key-DO-NOT-LOG-7731"
MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


@pytest.fixture
async def emu() -> AsyncIterator[GeminiEmulator]:
    async with GeminiEmulator(api_key=KEY, port=0) as server:
        yield server


@pytest.fixture
def make_model(emu: GeminiEmulator) -> Callable[..., BidiGeminiLiveModel]:
    def make(
        provider_config: dict[str, Any] | None = None,
        model_id: str = MODEL,
        **client: Any,
    ) -> BidiGeminiLiveModel:
        client_config = {"api_key": KEY, "base_url": emu.base_url, **client}
        return BidiGeminiLiveModel(
            model_id=model_id, provider_config=provider_config, client_config=client_config
        )

    return make
