"""The Gemini Live emulator against the official ``google-genai`` client.

The client's flows (text turn, audio turn with server VAD, barge-in, a tool
call and its response, resumption after ``goAway``) run over loopback, and
every frame the emulator sent parses with the client's own strict types
(``LiveServerMessage``, which forbids unknown fields).

The client always opens ``wss://`` with a TLS context; the emulator serves
plain ``ws://`` on loopback, so the test turns only those two transport
settings off (as the protocol reference's captures did). Without
``google-genai`` the module skips with the reason, except in the ``clients``
tox env under CI, where it fails.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

try:
    from google import genai
    from google.genai import _api_client, types
except ImportError as exc:  # pragma: no cover - depends on the environment
    if (
        os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        and os.environ.get("TOX_ENV_NAME") == "clients"
    ):
        raise
    pytest.skip(
        f"google-genai is not installed ({exc}); see requirements-gemini.txt",
        allow_module_level=True,
    )

from fullduplex_emulator.scripted import ScriptedResponder
from fullduplex_emulator.synth import silence_pcm16, tone_pcm16
from fullduplex_gemini.emulator import GeminiEmulator

MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


@pytest.fixture(autouse=True)
def plain_ws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the client reach a ``ws://`` loopback server (its only TLS assumptions)."""
    base_url = _api_client.BaseApiClient._websocket_base_url
    init = _api_client.BaseApiClient.__init__

    def ws_base_url(self: Any, http_options: Any = None) -> str:
        return base_url(self, http_options).replace("wss://", "ws://", 1)

    def no_tls(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._websocket_ssl_ctx = {}

    monkeypatch.setattr(_api_client.BaseApiClient, "_websocket_base_url", ws_base_url)
    monkeypatch.setattr(_api_client.BaseApiClient, "__init__", no_tls)
    return


def client_for(emu: GeminiEmulator) -> genai.Client:
    return genai.Client(
        api_key=emu.api_key,
        http_options=types.HttpOptions(base_url=emu.base_url, api_version="v1beta"),
    )


def all_frames_parse(emu: GeminiEmulator) -> None:
    for frame in emu.sent:
        types.LiveServerMessage.model_validate(frame.event)


async def one_turn(session: Any) -> list[Any]:
    messages = []
    async with asyncio.timeout(10):
        async for message in session.receive():
            messages.append(message)
    return messages


def transcript(messages: list[Any]) -> str:
    return "".join(
        m.server_content.output_transcription.text
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )


@pytest.fixture
async def emu() -> AsyncIterator[GeminiEmulator]:
    async with GeminiEmulator(port=0) as server:
        yield server


CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    speech_config=types.SpeechConfig(
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
        )
    ),
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    session_resumption=types.SessionResumptionConfig(),
)


async def test_text_turn(emu: GeminiEmulator) -> None:
    async with client_for(emu).aio.live.connect(model=MODEL, config=CONFIG) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello")]), turn_complete=True
        )
        messages = await one_turn(session)
    assert transcript(messages).strip() == "You said: hello"
    audio = b"".join(m.data for m in messages if m.data)
    assert len(audio) > 24000  # at least half a second of 24 kHz speech
    assert any(m.usage_metadata and m.usage_metadata.response_token_count for m in messages)
    assert messages[-1].server_content.turn_complete
    assert emu.connections[0].headers.get("x-goog-api-key") == emu.api_key
    all_frames_parse(emu)


async def test_audio_turn_with_server_vad(emu: GeminiEmulator) -> None:
    emu.responder = ScriptedResponder(["what is the weather"])
    async with client_for(emu).aio.live.connect(model=MODEL, config=CONFIG) as session:
        speech = tone_pcm16(500, rate=16000) + silence_pcm16(900, rate=16000)
        for i in range(0, len(speech), 3200):
            await session.send_realtime_input(
                audio=types.Blob(data=speech[i : i + 3200], mime_type="audio/pcm;rate=16000")
            )
        messages = await one_turn(session)
    heard = "".join(
        m.server_content.input_transcription.text
        for m in messages
        if m.server_content and m.server_content.input_transcription
    )
    assert heard.strip() == "what is the weather"
    assert transcript(messages).strip() == "You said: what is the weather"
    all_frames_parse(emu)


async def test_barge_in() -> None:
    class Long(ScriptedResponder):
        def respond(self, context: Any) -> Any:
            from fullduplex_emulator.responder import Reply

            return Reply("A long answer that keeps going for several seconds of speech.")

    async with GeminiEmulator(pace=1.0, responder=Long()) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=CONFIG) as session:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="talk")]),
                turn_complete=True,
            )
            messages = []
            async with asyncio.timeout(10):
                async for message in session.receive():
                    messages.append(message)
                    if len([m for m in messages if m.data]) == 10:
                        await session.send_realtime_input(
                            audio=types.Blob(
                                data=tone_pcm16(200, rate=16000), mime_type="audio/pcm;rate=16000"
                            )
                        )
        interrupted = [m for m in messages if m.server_content and m.server_content.interrupted]
        assert interrupted
        assert not any(m.server_content and m.server_content.generation_complete for m in messages)
        assert messages[-1].server_content.turn_complete
        all_frames_parse(emu)


async def test_tool_call_and_response(emu: GeminiEmulator) -> None:
    calculator = types.FunctionDeclaration(
        name="calculator",
        description="evaluate arithmetic",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={"expression": types.Schema(type=types.Type.STRING)},
            required=["expression"],
        ),
    )
    config = CONFIG.model_copy(update={"tools": [types.Tool(function_declarations=[calculator])]})
    async with client_for(emu).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="what is 6 times 7?")]),
            turn_complete=True,
        )
        calls = []
        async with asyncio.timeout(10):
            async for message in session.receive():
                if message.tool_call:
                    calls = message.tool_call.function_calls
                    break
        assert [(c.name, c.args) for c in calls] == [("calculator", {"expression": "6*7"})]
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id=calls[0].id, name="calculator", response={"output": 42})
            ]
        )
        messages = await one_turn(session)
    assert transcript(messages).strip() == "The answer is 42."
    all_frames_parse(emu)


async def test_resumption_after_go_away() -> None:
    async with GeminiEmulator(connection_cap_s=3.0, go_away_lead_s=2.0) as emu:
        client = client_for(emu)
        handle = None
        async with client.aio.live.connect(model=MODEL, config=CONFIG) as session:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="my name is Ada")]),
                turn_complete=True,
            )
            go_away = None
            async with asyncio.timeout(10):
                while go_away is None:
                    async for message in session.receive():
                        update = message.session_resumption_update
                        if update and update.resumable and update.new_handle:
                            handle = update.new_handle
                        if message.go_away:
                            go_away = message.go_away
                            break
        assert go_away.time_left == "2s"
        assert handle is not None
        resumed = CONFIG.model_copy(
            update={"session_resumption": types.SessionResumptionConfig(handle=handle)}
        )
        async with client.aio.live.connect(model=MODEL, config=resumed) as session:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="who am I?")]),
                turn_complete=True,
            )
            await one_turn(session)
        restored = emu.connections[1].session.turns  # type: ignore[attr-defined]
        assert [t.text for t in restored if t.kind == "user"] == ["my name is Ada", "who am I?"]
        all_frames_parse(emu)
