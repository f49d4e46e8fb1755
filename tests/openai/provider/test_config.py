"""Configuration: validated at construction, each mistake named with its fix."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from fullduplex.errors import ConfigurationError
from fullduplex.messages import Message
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.config import auth_headers, resolve
from fullduplex_openai.protocol.replay import history_items, needs_answer

KEY = "sk-test-SECRET-0123456789"


def model(**kw: Any) -> BidiOpenAIRealtimeModel:
    kw.setdefault("client_config", {"api_key": KEY})
    return BidiOpenAIRealtimeModel(**kw)


@pytest.mark.parametrize(
    ("provider_config", "client_config", "words"),
    [
        ({"inference": {"temperature": 0.7}}, {}, "no temperature"),
        ({"inference": {"modalities": ["audio", "text"]}}, {}, "output_modalities"),
        ({"inference": {"voice": "coral"}}, {}, "provider_config.audio.voice"),
        (
            {"inference": {"turn_detection": {"type": "server_vad"}}},
            {},
            "audio.input.turn_detection",
        ),
        ({"inference": {"input_audio_format": "pcm16"}}, {}, "provider_config.audio.format"),
        ({"inference": {"max_response_output_tokens": 10}}, {}, "max_output_tokens"),
        ({"inference": {"input_audio_transcription": {}}}, {}, "audio.input.transcription"),
        ({"inference": {"bogus": 1}}, {}, "inference.bogus: unknown session field"),
        ({"inference": {"audio": {"input": {"voice": "x"}}}}, {}, "audio.input.voice: unknown"),
        ({"inference": {"audio": {"output": {"format": "pcm16"}}}}, {}, "beta format name"),
        ({"inference": {"output_modalities": ["audio", "text"]}}, {}, "one modality"),
        ({"inference": {"type": "transcription"}}, {}, "must be 'realtime'"),
        ({"audio": {"voice": "nova"}}, {}, "provider_config.audio.voice: .*marin"),
        ({"audio": {"format": "opus"}}, {}, "provider_config.audio.format"),
        ({"audio": {"format": "g711_ulaw", "input_rate": 16000}}, {}, "8000"),
        ({"audio": {"channels": 3}}, {}, "provider_config.audio.channels"),
        ({"audio": {"sample_rate": 16000}}, {}, "provider_config.audio.sample_rate: unknown field"),
        ({"voice": "coral"}, {}, "provider_config.voice: unknown field"),
        ({}, {"timeout_s": 0}, "client_config.timeout_s"),
        ({}, {"timeout_s": 3001}, "client_config.timeout_s"),
        ({}, {"base_url": "ftp://x"}, "client_config.base_url"),
        ({}, {"azure_deployment": "d"}, "azure_endpoint"),
        ({}, {"apikey": "x"}, "client_config.apikey: unknown field"),
    ],
)
def test_bad_configuration_fails_with_its_message(
    provider_config: dict[str, Any], client_config: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words) as info:
        model(provider_config=provider_config, client_config={"api_key": KEY, **client_config})
    assert KEY not in str(info.value)


def test_missing_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        BidiOpenAIRealtimeModel(client_config={})


def test_key_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config, key = resolve("gpt-realtime", None, None)
    assert dict(auth_headers(config, key))["Authorization"] == f"Bearer {KEY}"


def test_key_never_in_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    m = model(client_config={"api_key": KEY, "organization": "org"})
    assert KEY not in repr(m)
    config, key = resolve("gpt-realtime", None, {"api_key": KEY})
    assert KEY not in repr(config)
    assert KEY not in repr(key)
    with pytest.raises(ConfigurationError) as info:
        resolve("gpt-realtime", None, {"api_key": KEY, "timeout_s": "soon"})
    assert KEY not in str(info.value)
    assert KEY not in caplog.text


def test_defaults_and_seed_shape() -> None:
    m = model(model_id="gpt-realtime", provider_config={"audio": {"voice": "coral"}})
    session = m.session_config
    assert session["type"] == "realtime"
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "coral",
    }
    caps = m.capabilities
    assert (caps.input_sample_rate, caps.output_sample_rate) == (24000, 24000)
    assert caps.truncation
    assert caps.image_input
    assert "OpenAI-Beta" not in dict(auth_headers(*resolve("gpt-realtime", None, {"api_key": KEY})))


def test_inference_is_deep_merged() -> None:
    m = model(
        provider_config={
            "audio": {"voice": "marin"},
            "inference": {
                "max_output_tokens": 4096,
                "audio": {
                    "input": {"turn_detection": {"type": "semantic_vad"}},
                    "output": {"speed": 1.2},
                },
            },
        }
    )
    session = m.session_config
    assert session["max_output_tokens"] == 4096
    assert session["audio"]["input"]["turn_detection"] == {"type": "semantic_vad"}
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["output"]["speed"] == 1.2


def test_custom_rates_and_g711_reflect_in_capabilities() -> None:
    caps = model(
        provider_config={"audio": {"input_rate": 16000, "output_rate": 48000}}
    ).capabilities
    assert (caps.input_sample_rate, caps.output_sample_rate) == (16000, 48000)
    g711 = model(provider_config={"audio": {"format": "g711_ulaw"}})
    assert g711.capabilities.input_sample_rate == 8000
    assert g711.capabilities.audio_format == "g711_ulaw"
    assert g711.session_config["audio"]["input"]["format"] == {"type": "audio/pcmu"}


def test_custom_voice_object() -> None:
    m = model(provider_config={"audio": {"voice": {"id": "voice_123"}}})
    assert m.session_config["audio"]["output"]["voice"] == {"id": "voice_123"}


@pytest.mark.parametrize(
    ("client_config", "url"),
    [
        ({}, "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        (
            {"base_url": "http://127.0.0.1:8765/v1"},
            "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime",
        ),
        (
            {"websocket_base_url": "ws://127.0.0.1:9/v1"},
            "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime",
        ),
        ({"websocket_base_url": "ws://h/v1/realtime"}, "ws://h/v1/realtime?model=gpt-realtime"),
        (
            {"azure_endpoint": "https://res.openai.azure.com", "azure_deployment": "my-rt"},
            "wss://res.openai.azure.com/openai/v1/realtime?model=my-rt",
        ),
    ],
)
def test_urls(client_config: dict[str, Any], url: str) -> None:
    config, _ = resolve("gpt-realtime", None, {"api_key": KEY, **client_config})
    assert config.url == url


def test_azure_uses_api_key_header() -> None:
    config, key = resolve(
        "gpt-realtime", None, {"api_key": KEY, "azure_endpoint": "https://res.openai.azure.com"}
    )
    headers = dict(auth_headers(config, key))
    assert headers == {"api-key": KEY}


def test_history_replay_items() -> None:
    messages: list[Any] = [
        {"role": "user", "content": [{"text": "what is 2+2?"}]},
        {
            "role": "assistant",
            "content": [
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "call_1", "name": "calc", "input": {"expr": "2+2"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "call_1",
                        "status": "success",
                        "content": [{"text": "4"}],
                    }
                }
            ],
        },
    ]
    items = [e["item"] for e in history_items(messages)]
    assert items == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "what is 2+2?"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "calc",
            "arguments": '{"expr": "2+2"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "4"},
    ]
    assert needs_answer(messages)
    messages.append({"role": "assistant", "content": [{"text": "It is 4."}]})
    assert not needs_answer(messages)


@pytest.mark.parametrize(
    ("last_role", "cut_off", "owed"),
    [("user", False, False), ("user", True, True), ("assistant", True, False)],
)
def test_user_words_are_answered_after_a_restart_only_when_cut_off(
    last_role: str, cut_off: bool, owed: bool
) -> None:
    messages: list[Message] = [{"role": "user", "content": [{"text": "hello"}]}]
    if last_role == "assistant":
        messages.append({"role": "assistant", "content": [{"text": "Hi."}]})
    assert needs_answer(messages, cut_off=cut_off) is owed
