"""Configuration is validated once, and every error names the field at fault."""

from __future__ import annotations

import pytest

from fullduplex.errors import ConfigurationError
from fullduplex_gemini import BidiGeminiLiveModel
from fullduplex_gemini.config import auth_headers, resolve

MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


def test_key_comes_from_gemini_then_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    config, key = resolve(MODEL, None, None)
    assert auth_headers(config, key) == [("x-goog-api-key", "google-key")]  # type: ignore[arg-type]
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    config, key = resolve(MODEL, None, None)
    assert auth_headers(config, key) == [("x-goog-api-key", "gemini-key")]  # type: ignore[arg-type]
    assert "key=" not in config.url


def test_missing_key_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"client_config\.api_key.*GEMINI_API_KEY"):
        BidiGeminiLiveModel(MODEL)


def test_url_version_and_base_url() -> None:
    config, _ = resolve(
        MODEL, None, {"api_key": "k", "api_version": "v1", "base_url": "http://h:1/"}
    )
    assert config.url == (
        "ws://h:1/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
    )
    assert config.base_setup["model"] == f"models/{MODEL}"
    with pytest.raises(ConfigurationError, match=r"client_config\.api_version.*v1beta"):
        resolve(MODEL, None, {"api_key": "k", "api_version": "v2"})
    with pytest.raises(ConfigurationError, match=r"client_config\.base_url"):
        resolve(MODEL, None, {"api_key": "k", "base_url": "ftp://x"})


def test_ephemeral_token_uses_the_constrained_endpoint() -> None:
    config, key = resolve(MODEL, None, {"api_key": "auth_tokens/abc"})
    assert config.url.endswith("v1alpha.GenerativeService.BidiGenerateContentConstrained")
    assert auth_headers(config, key) == [("Authorization", "Token auth_tokens/abc")]  # type: ignore[arg-type]


def test_vertex_url_and_model_path() -> None:
    config, key = resolve(
        "gemini-live-2.5-flash-native-audio",
        None,
        {"vertexai": True, "project": "p1", "location": "europe-west4", "access_token": "tok"},
    )
    assert config.url == (
        "wss://europe-west4-aiplatform.googleapis.com/ws/"
        "google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )
    assert config.base_setup["model"] == (
        "projects/p1/locations/europe-west4/publishers/google/models/"
        "gemini-live-2.5-flash-native-audio"
    )
    assert auth_headers(config, key) == [("Authorization", "Bearer tok")]  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"client_config\.project"):
        resolve(MODEL, None, {"api_key": "k", "project": "p"})


@pytest.mark.parametrize(
    ("provider_config", "field"),
    [
        ({"audio": {"voice": "kore"}}, r"provider_config\.audio\.voice.*case-sensitive.*Kore"),
        ({"audio": {"format": "g711_ulaw"}}, r"provider_config\.audio\.format"),
        ({"inference": {"frobnicate": 1}}, r"provider_config\.inference\.frobnicate.*accepted"),
        ({"inference": {"tools": []}}, r"provider_config\.inference\.tools"),
        ({"tools": {"f": {"behavior": "LATER"}}}, r"provider_config\.tools\.f\.behavior"),
        ({"unknown": 1}, r"provider_config\.unknown: unknown field"),
    ],
)
def test_bad_provider_config_names_the_field(
    provider_config: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigurationError, match=field):
        BidiGeminiLiveModel(MODEL, provider_config, {"api_key": "k"})


def test_text_modality_on_native_audio_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigurationError, match=r"native-audio.*1007.*Cannot extract voices"):
        BidiGeminiLiveModel(
            MODEL, {"inference": {"responseModalities": ["TEXT"]}}, {"api_key": "k"}
        )
    # a half-cascade model may answer in text
    model = BidiGeminiLiveModel(
        "gemini-2.0-flash-live-001",
        {"inference": {"response_modalities": ["text"]}},
        {"api_key": "k"},
    )
    assert model.setup["generationConfig"]["responseModalities"] == ["TEXT"]


def test_inference_fields_merge_into_the_setup() -> None:
    model = BidiGeminiLiveModel(
        MODEL,
        {
            "audio": {"voice": "Puck"},
            "inference": {
                "temperature": 0.5,
                "context_window_compression": {"trigger_tokens": 25000},
                "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 400}},
            },
        },
        {"api_key": "k"},
    )
    setup = model.setup
    assert setup["generationConfig"] == {
        "responseModalities": ["AUDIO"],
        "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
        "temperature": 0.5,
    }
    assert setup["contextWindowCompression"] == {"triggerTokens": 25000, "slidingWindow": {}}
    assert setup["sessionResumption"] == {}
    assert "k" not in repr(model)
