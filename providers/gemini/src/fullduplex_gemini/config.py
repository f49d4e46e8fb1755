"""Configuration of :class:`BidiGeminiLiveModel`, validated once at construction.

Why pydantic here and nowhere else: configuration is checked a single time,
before any socket opens, so a typo fails at once with a message naming the
field and what is accepted. The service would refuse most mistakes too, but
only later, as a bare close code (1007) with a truncated reason. The hot path
never sees these models; it reads the plain values of :class:`ResolvedConfig`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import attrs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from fullduplex.errors import ConfigurationError

from .wire import (
    API_VERSIONS,
    DEVELOPER_HOST,
    NON_AUDIO_REASON,
    VERTEX_API_VERSIONS,
    VOICES,
    WIRE_INPUT_RATE,
    WIRE_OUTPUT_RATE,
    camel,
    camel_keys,
    developer_path,
    is_native_audio,
    vertex_path,
)

#: top-level setup fields ``provider_config.inference`` may set (lowerCamelCase or snake_case)
SETUP_FIELDS: frozenset[str] = frozenset(
    {
        "generationConfig",
        "realtimeInputConfig",
        "contextWindowCompression",
        "proactivity",
        "inputAudioTranscription",
        "outputAudioTranscription",
        "sessionResumption",
        "historyConfig",
    }
)
#: ``generationConfig`` members, also accepted at the top of ``inference``
GENERATION_FIELDS: frozenset[str] = frozenset(
    {
        "responseModalities",
        "temperature",
        "topP",
        "topK",
        "maxOutputTokens",
        "seed",
        "mediaResolution",
        "speechConfig",
        "thinkingConfig",
        "enableAffectiveDialog",
        "candidateCount",
        "presencePenalty",
        "frequencyPenalty",
    }
)
#: where a field the user put elsewhere belongs
_MISPLACED: dict[str, str] = {
    "model": "the model_id argument",
    "tools": "the agent's tools (and provider_config.tools for their behaviour)",
    "systemInstruction": "the agent's system_prompt",
    "voice": "provider_config.audio.voice",
}
TOOL_BEHAVIORS = ("BLOCKING", "NON_BLOCKING")
SCHEDULINGS = ("INTERRUPT", "WHEN_IDLE", "SILENT")


class AudioConfig(BaseModel):
    """``provider_config["audio"]``: the audio at the SDK boundary.

    The wire carries PCM16 mono at 16 kHz in and 24 kHz out; other rates and
    stereo are converted by the model with :mod:`fullduplex.audio`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str | None = None
    input_rate: int = Field(default=WIRE_INPUT_RATE, ge=8000, le=192000)
    output_rate: int = Field(default=WIRE_OUTPUT_RATE, ge=8000, le=192000)
    channels: Literal[1, 2] = 1
    format: Literal["pcm16"] = "pcm16"

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | None) -> str | None:
        if value is not None and value not in VOICES:
            raise ValueError(
                f"unknown voice {value!r} (names are case-sensitive); accepted: {', '.join(VOICES)}"
            )
        return value


class ToolOptions(BaseModel):
    """``provider_config["tools"][name]``: how the Live API runs one function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    behavior: Literal["BLOCKING", "NON_BLOCKING"] = "BLOCKING"
    scheduling: Literal["INTERRUPT", "WHEN_IDLE", "SILENT"] | None = None


class ProviderConfig(BaseModel):
    """``provider_config``: ``audio``, ``inference`` (setup fields), ``tools``, ``text_input``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audio: AudioConfig = Field(default_factory=AudioConfig)
    inference: dict[str, Any] = Field(default_factory=dict)
    tools: dict[str, ToolOptions] = Field(default_factory=dict)
    #: how typed user text is sent: an ordered ``clientContent`` turn (2.5) or
    #: ``realtimeInput.text`` (the only way on 3.x models)
    text_input: Literal["client_content", "realtime_input"] | None = None
    #: ask the server for resumption handles (reconnect without replaying history)
    resumption: bool = True


#: ``client_config["api_key"]`` as a callable: returns a key, sync or async.
KeyProvider: TypeAlias = Callable[[], "str | Awaitable[str]"]
KeySource: TypeAlias = "SecretStr | KeyProvider | None"

DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024


class ClientConfig(BaseModel):
    """``client_config``: where to connect, with which credentials, and how.

    ``api_key`` falls back to ``GEMINI_API_KEY`` then ``GOOGLE_API_KEY``; a key
    starting ``auth_tokens/`` is an ephemeral token and goes to the constrained
    endpoint. ``timeout_s`` ends a connection on the client side (at a pause),
    before the service's ~10 minute cap. ``vertexai=True`` targets Vertex AI
    (``project``, ``location``; a bearer ``access_token`` or Application Default
    Credentials through the optional ``google-auth``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr | None = None
    api_version: str | None = None
    base_url: str | None = None
    timeout_s: float = Field(default=540, ge=1, le=86400)
    connect_timeout_s: float = Field(default=15, gt=0, le=300)
    ping_interval_s: float | None = Field(default=None, gt=0, le=3600)
    ping_timeout_s: float | None = Field(default=None, gt=0, le=3600)
    max_frame_bytes: int = Field(default=DEFAULT_MAX_FRAME_BYTES, ge=1024)
    vertexai: bool = False
    project: str | None = None
    location: str | None = None
    access_token: SecretStr | None = None


@attrs.frozen(slots=True)
class ResolvedConfig:
    """Everything a connection needs, as plain values."""

    model_id: str
    #: the model as the setup names it (``models/...`` or the Vertex resource path)
    model_path: str
    url: str
    base_setup: dict[str, Any] = attrs.field(repr=False)
    input_rate: int
    output_rate: int
    channels: int
    timeout_s: float
    connect_timeout_s: float
    ping_interval_s: float | None
    ping_timeout_s: float | None
    max_frame_bytes: int
    vertexai: bool
    text_input: Literal["client_content", "realtime_input"]
    tools: Mapping[str, ToolOptions] = attrs.field(factory=dict)
    resumption: bool = True
    #: extra handshake headers (Vertex quota project)
    headers: tuple[tuple[str, str], ...] = ()


def _format_validation_error(prefix: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        field = f"{prefix}.{loc}" if loc else prefix
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested dicts merge key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _inference_setup(inference: Mapping[str, Any]) -> dict[str, Any]:
    """``inference`` as setup fields, generationConfig members moved under it."""
    setup: dict[str, Any] = {}
    generation: dict[str, Any] = {}
    for raw_key, value in inference.items():
        key = camel(str(raw_key))
        where = f"provider_config.inference.{raw_key}"
        if key in _MISPLACED:
            raise ConfigurationError(f"{where}: not set here; use {_MISPLACED[key]}")
        if key in GENERATION_FIELDS:
            generation[key] = camel_keys(value)
        elif key in SETUP_FIELDS:
            if not isinstance(value, Mapping):
                raise ConfigurationError(f"{where}: expected a dict")
            setup[key] = camel_keys(value)
        else:
            accepted = sorted(SETUP_FIELDS | GENERATION_FIELDS)
            raise ConfigurationError(
                f"{where}: unknown setup field; accepted: {', '.join(accepted)}"
            )
    if generation:
        setup["generationConfig"] = deep_merge(setup.get("generationConfig", {}), generation)
    compression = setup.get("contextWindowCompression")
    if compression is not None and "slidingWindow" not in compression:
        # the server's oneof fails without it (livekit/agents#2376)
        setup["contextWindowCompression"] = {**compression, "slidingWindow": {}}
    return setup


def _check_modalities(model_id: str, setup: Mapping[str, Any]) -> None:
    modalities = (setup.get("generationConfig") or {}).get("responseModalities")
    if modalities is None:
        return
    where = "provider_config.inference.responseModalities"
    if not isinstance(modalities, list) or len(modalities) != 1:
        raise ConfigurationError(f"{where}: one modality per session: ['AUDIO'] or ['TEXT']")
    modality = str(modalities[0]).upper()
    if modality not in ("AUDIO", "TEXT"):
        raise ConfigurationError(f"{where}: accepted ['AUDIO'] or ['TEXT'], got {modalities!r}")
    if modality == "TEXT" and is_native_audio(model_id):
        raise ConfigurationError(
            f"{where}: {model_id} is a native-audio model and answers in audio only (the service "
            f"closes such a session with 1007 {NON_AUDIO_REASON!r}); keep ['AUDIO'] and read the "
            "outputAudioTranscription text instead"
        )
    setup["generationConfig"]["responseModalities"] = [modality]


def _http_to_ws(base: str, field: str) -> tuple[str, str, str]:
    parts = urlsplit(base.rstrip("/"))
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ConfigurationError(
            f"client_config.{field}: expected an http(s):// or ws(s):// root URL such as "
            f"'{DEVELOPER_HOST}'"
        )
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return scheme, parts.netloc, parts.path.rstrip("/")


def _vertex_model_path(model_id: str, project: str, location: str) -> str:
    if model_id.startswith("projects/"):
        return model_id
    return f"projects/{project}/locations/{location}/publishers/google/models/{model_id}"


def _endpoint(
    model_id: str, client: ClientConfig, ephemeral: bool
) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(url, model path, extra headers) for the Developer API or Vertex AI."""
    if client.vertexai:
        version = client.api_version or "v1beta1"
        if version not in VERTEX_API_VERSIONS:
            raise ConfigurationError(
                f"client_config.api_version: {version!r} is not a Vertex AI version; accepted: "
                f"{', '.join(VERTEX_API_VERSIONS)}"
            )
        project = client.project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        location = client.location or os.environ.get("GOOGLE_CLOUD_LOCATION") or "us-central1"
        if not project:
            raise ConfigurationError(
                "client_config.project: Vertex AI needs a project (or GOOGLE_CLOUD_PROJECT)"
            )
        host = (
            "wss://aiplatform.googleapis.com"
            if location == "global"
            else f"wss://{location}-aiplatform.googleapis.com"
        )
        scheme, netloc, root = _http_to_ws(client.base_url or host, "base_url")
        url = urlunsplit((scheme, netloc, root + vertex_path(version), "", ""))
        return url, _vertex_model_path(model_id, project, location), ()
    for field in ("project", "location", "access_token"):
        if getattr(client, field) is not None:
            raise ConfigurationError(f"client_config.{field}: only used with vertexai=True")
    version = client.api_version or ("v1alpha" if ephemeral else "v1beta")
    if version not in API_VERSIONS:
        raise ConfigurationError(
            f"client_config.api_version: got {version!r}; accepted: {', '.join(API_VERSIONS)}"
        )
    scheme, netloc, root = _http_to_ws(client.base_url or DEVELOPER_HOST, "base_url")
    path = root + developer_path(version, constrained=ephemeral)
    model = model_id if model_id.startswith("models/") else f"models/{model_id}"
    return urlunsplit((scheme, netloc, path, "", "")), model, ()


def _as_dict(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name}: expected a dict (or None), got {type(value).__name__}")
    return dict(value)


def _env_key() -> str:
    return (os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or "").strip()


def base_setup(model_path: str, provider: ProviderConfig, setup: dict[str, Any]) -> dict[str, Any]:
    """The setup every connection sends, before the system prompt, tools and handle."""
    generation: dict[str, Any] = {"responseModalities": ["AUDIO"]}
    if provider.audio.voice is not None:
        generation["speechConfig"] = {
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": provider.audio.voice}}
        }
    out: dict[str, Any] = {
        "model": model_path,
        "generationConfig": generation,
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    out = deep_merge(out, setup)
    if provider.resumption:
        out.setdefault("sessionResumption", {})
    return out


def resolve(
    model_id: str,
    provider_config: Mapping[str, Any] | None,
    client_config: Mapping[str, Any] | None,
) -> tuple[ResolvedConfig, KeySource]:
    """Validate the user's dicts; return the connection settings and where the key comes from."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ConfigurationError(
            "model_id: expected a non-empty model name such as "
            "'gemini-2.5-flash-native-audio-preview-09-2025'"
        )
    provider_dict = _as_dict("provider_config", provider_config)
    client_dict = _as_dict("client_config", client_config)
    key_provider = client_dict.get("api_key")
    if callable(key_provider):
        del client_dict["api_key"]
    token_provider = client_dict.get("access_token")
    if callable(token_provider):
        del client_dict["access_token"]
    try:
        provider = ProviderConfig.model_validate(provider_dict)
    except ValidationError as exc:
        raise ConfigurationError(_format_validation_error("provider_config", exc)) from None
    try:
        client = ClientConfig.model_validate(client_dict)
    except ValidationError as exc:
        raise ConfigurationError(_format_validation_error("client_config", exc)) from None

    setup = _inference_setup(provider.inference)
    _check_modalities(model_id, setup)

    key: KeySource = None
    if callable(key_provider):
        key = key_provider
    elif client.api_key is not None and client.api_key.get_secret_value():
        key = client.api_key
    elif client.vertexai:
        key = token_provider if callable(token_provider) else client.access_token
    else:
        env = _env_key()
        if not env:
            raise ConfigurationError(
                "client_config.api_key: no API key; pass client_config={'api_key': ...} or set "
                "GEMINI_API_KEY (or GOOGLE_API_KEY)"
            )
        key = SecretStr(env)
    ephemeral = isinstance(key, SecretStr) and key.get_secret_value().startswith("auth_tokens/")
    url, model_path, headers = _endpoint(model_id, client, ephemeral)
    text_input = provider.text_input or (
        "realtime_input" if model_id.rsplit("/", 1)[-1].startswith("gemini-3") else "client_content"
    )
    resolved = ResolvedConfig(
        model_id=model_id,
        model_path=model_path,
        url=url,
        base_setup=base_setup(model_path, provider, setup),
        input_rate=provider.audio.input_rate,
        output_rate=provider.audio.output_rate,
        channels=provider.audio.channels,
        timeout_s=client.timeout_s,
        connect_timeout_s=client.connect_timeout_s,
        ping_interval_s=client.ping_interval_s,
        ping_timeout_s=client.ping_timeout_s,
        max_frame_bytes=client.max_frame_bytes,
        vertexai=client.vertexai,
        text_input=text_input,
        tools=dict(provider.tools),
        resumption=provider.resumption,
        headers=headers,
    )
    return resolved, key


async def current_key(source: KeySource, *, vertexai: bool) -> SecretStr:
    """The credential for a new connection: fixed, from a provider, or (Vertex) ADC."""
    if isinstance(source, SecretStr):
        return source
    if source is None:
        if not vertexai:  # pragma: no cover - resolve() always finds a key for the Developer API
            raise ConfigurationError("client_config.api_key: no API key")
        return SecretStr(await _adc_token())
    value = source()
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            "client_config.api_key: the key provider returned "
            f"{'an empty string' if value == '' else type(value).__name__}; "
            "accepted: a non-empty str (sync or async callable)"
        )
    return SecretStr(value)


async def _adc_token() -> str:
    """A Vertex AI bearer token from Application Default Credentials (``google-auth``)."""
    try:
        import google.auth  # type: ignore[import-not-found, unused-ignore]
        import google.auth.transport.requests  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise ConfigurationError(
            "client_config.access_token: Vertex AI without an access_token needs google-auth; "
            "install it with: pip install 'fullduplex-gemini[vertex]'"
        ) from exc
    import asyncio

    def fetch() -> str:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        credentials.refresh(  # type: ignore[no-untyped-call, unused-ignore]
            google.auth.transport.requests.Request()
        )
        return str(credentials.token)

    return await asyncio.to_thread(fetch)


def auth_headers(config: ResolvedConfig, key: SecretStr) -> list[tuple[str, str]]:
    """The handshake headers, credential included: built at connect time, never stored."""
    value = key.get_secret_value()
    if config.vertexai and not value.startswith("AIza"):
        headers = [("Authorization", f"Bearer {value}")]
    elif value.startswith("auth_tokens/"):
        headers = [("Authorization", f"Token {value}")]
    else:
        headers = [("x-goog-api-key", value)]
    return [*headers, *config.headers]
