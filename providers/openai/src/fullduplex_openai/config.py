"""Configuration of :class:`BidiOpenAIRealtimeModel`, validated once at construction.

Why pydantic here and nowhere else: configuration is checked a single time,
before any socket opens, so a typo fails at once with a message naming the
field and what is accepted. The hot path never sees these models; it reads the
plain values they produce (:class:`ResolvedConfig`).

Beta-era names (``temperature``, ``modalities``, top-level ``voice``, ...) are
refused with the GA field to use instead, because the GA server refuses them
too, but only later and less helpfully (an ``unknown_parameter`` error event).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeAlias
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from fullduplex.errors import ConfigurationError

#: Built-in voices of the GA speech-to-speech models.
GA_VOICES: tuple[str, ...] = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)

#: SDK-boundary format -> the GA wire format object.
WIRE_FORMATS: dict[str, dict[str, Any]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}

#: Top-level GA ``session.update`` fields a user may set through ``inference``.
GA_SESSION_FIELDS: frozenset[str] = frozenset(
    {
        "type",
        "output_modalities",
        "instructions",
        "max_output_tokens",
        "audio",
        "tools",
        "tool_choice",
        "tracing",
        "truncation",
        "prompt",
        "include",
        "reasoning",
        "parallel_tool_calls",
    }
)
_GA_AUDIO_FIELDS = {
    "input": frozenset({"format", "transcription", "noise_reduction", "turn_detection"}),
    "output": frozenset({"format", "voice", "speed"}),
}

#: Beta-era (or otherwise misplaced) names, and where the GA shape wants them.
BETA_RENAMES: dict[str, str] = {
    "temperature": (
        "nothing: the GA Realtime API has no temperature; remove it "
        "(use 'instructions' to steer the style)"
    ),
    "modalities": "'output_modalities' (one of ['audio'] or ['text'])",
    "voice": "provider_config.audio.voice (or inference 'audio.output.voice')",
    "speed": "inference 'audio.output.speed'",
    "turn_detection": "inference 'audio.input.turn_detection'",
    "input_audio_format": "provider_config.audio.format (or inference 'audio.input.format')",
    "output_audio_format": "provider_config.audio.format (or inference 'audio.output.format')",
    "input_audio_transcription": "inference 'audio.input.transcription'",
    "input_audio_noise_reduction": "inference 'audio.input.noise_reduction'",
    "max_response_output_tokens": "'max_output_tokens' (1-4096 or 'inf')",
    "model": "the model_id argument (the model is fixed when the connection opens)",
}


class AudioConfig(BaseModel):
    """``provider_config["audio"]``: the audio the SDK boundary takes and gives.

    The wire always carries PCM16 at 24 kHz (or G.711 at 8 kHz when ``format``
    asks for it); other rates are resampled by the model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str | dict[str, str] | None = None
    input_rate: int | None = Field(default=None, ge=8000, le=192000)
    output_rate: int | None = Field(default=None, ge=8000, le=192000)
    channels: Literal[1, 2] = 1
    format: Literal["pcm16", "g711_ulaw", "g711_alaw"] = "pcm16"

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if value is None:
            return None
        if isinstance(value, dict):
            if set(value) != {"id"} or not str(value["id"]).startswith("voice_"):
                raise ValueError('a custom voice is {"id": "voice_..."}')
            return value
        if value.lower() in GA_VOICES:
            return value.lower()  # "Coral" is coral: the voices' names have no case
        if value not in GA_VOICES:
            raise ValueError(
                f"unknown voice {value!r}; accepted: {', '.join(GA_VOICES)} "
                '(or a custom voice {"id": "voice_..."})'
            )
        return value


class ProviderConfig(BaseModel):
    """``provider_config``: ``audio`` and ``inference`` (GA session fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audio: AudioConfig = Field(default_factory=AudioConfig)
    inference: dict[str, Any] = Field(default_factory=dict)


#: ``client_config["api_key"]`` as a callable: returns a key, sync or async.
KeyProvider: TypeAlias = Callable[[], "str | Awaitable[str]"]
#: Where the key of a connection comes from: a fixed key or a provider.
KeySource: TypeAlias = "SecretStr | KeyProvider"

#: Default cap on one incoming websocket message (16 MiB).
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024


class ClientConfig(BaseModel):
    """``client_config``: where to connect, with which credentials, and how.

    The key is a :class:`~pydantic.SecretStr` so it never shows in a repr, a
    log line or a validation error. ``api_key`` may also be a callable (taken
    out before this model validates the rest, see :func:`resolve`).

    Connection settings: ``ping_interval_s`` / ``ping_timeout_s`` (keepalive:
    a ping every interval, the connection is taken as lost when no pong comes
    within the timeout; ``None`` disables), ``max_frame_bytes`` (the largest
    incoming message accepted; a larger one ends the connection with a
    :class:`~fullduplex.errors.ModelProtocolError`, because a peer that sends
    it is broken or hostile and a reconnect would not help; the service's
    largest events are audio deltas of well under 1 MiB), and
    ``response_start_timeout_s`` (how long a requested answer may wait for the
    server to start it before the request is given up).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr | None = None
    organization: str | None = None
    project: str | None = None
    timeout_s: float = Field(default=3000, ge=1, le=3000)
    base_url: str | None = None
    websocket_base_url: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    connect_timeout_s: float = Field(default=15, gt=0, le=300)
    ping_interval_s: float | None = Field(default=20, gt=0, le=3600)
    ping_timeout_s: float | None = Field(default=20, gt=0, le=3600)
    max_frame_bytes: int = Field(default=DEFAULT_MAX_FRAME_BYTES, ge=1024)
    response_start_timeout_s: float = Field(default=15, gt=0, le=300)


@attrs.frozen(slots=True)
class ResolvedConfig:
    """Everything the connection needs, as plain values (read on every connect)."""

    model_id: str
    url: str
    headers: tuple[tuple[str, str], ...] = attrs.field(repr=False)
    timeout_s: float
    connect_timeout_s: float
    base_session: dict[str, Any] = attrs.field(repr=False)
    input_rate: int
    output_rate: int
    channels: int
    format: Literal["pcm16", "g711_ulaw", "g711_alaw"]
    wire_rate: int
    is_azure: bool
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    response_start_timeout_s: float = 15.0


def _is_field(part: object) -> bool:
    """A location part that names a field or an index, not a union member's type tag
    (pydantic adds ``str``, ``dict[str,str]``, ``function-after[...]`` ... to the path)."""
    if isinstance(part, int):
        return True
    text = str(part)
    return not ("[" in text or text in {"str", "int", "float", "bool", "dict", "list", "none"})


def _format_validation_error(prefix: str, exc: ValidationError) -> str:
    """One ``field: what is wrong`` per field, in the user's words: no pydantic prefixes,
    no type tags in the path; the alternatives of a union joined with "or"."""
    by_field: dict[str, list[str]] = {}
    given: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if _is_field(p))
        field = f"{prefix}.{loc}" if loc else prefix
        msg = str(err["msg"])
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "value_error":
            msg = str(err.get("ctx", {}).get("error", msg)).removeprefix("Value error, ")
        elif str(err["type"]).endswith("_type") and "input" in err:
            # the type of what was given, never the value (it may be a key)
            given[field] = type(err["input"]).__name__
            msg = msg.removeprefix("Input should be ")
        messages = by_field.setdefault(field, [])
        if msg not in messages:
            messages.append(msg)
    out = []
    for field, msgs in by_field.items():
        if field in given:
            out.append(f"{field}: expected {' or '.join(msgs)}, got {given[field]}")
        else:
            out.append(f"{field}: {' or '.join(msgs)}")
    return "; ".join(out)


def _check_inference(inference: Mapping[str, Any]) -> None:
    """Refuse beta names and unknown fields, naming the GA field to use."""
    for key, value in inference.items():
        if key in BETA_RENAMES:
            raise ConfigurationError(
                f"provider_config.inference.{key}: not a GA session field; use "
                f"{BETA_RENAMES[key]} instead"
            )
        if key not in GA_SESSION_FIELDS:
            raise ConfigurationError(
                f"provider_config.inference.{key}: unknown session field; accepted: "
                f"{', '.join(sorted(GA_SESSION_FIELDS))}"
            )
        if key == "type" and value != "realtime":
            raise ConfigurationError(
                "provider_config.inference.type: must be 'realtime' (this model opens "
                "speech-to-speech sessions)"
            )
        if key == "output_modalities" and value not in (["audio"], ["text"]):
            raise ConfigurationError(
                "provider_config.inference.output_modalities: accepted ['audio'] or "
                f"['text'] (one modality), got {value!r}"
            )
        if key == "audio":
            _check_audio_section(value)


def _check_audio_section(audio: Any) -> None:
    if not isinstance(audio, Mapping):
        raise ConfigurationError("provider_config.inference.audio: expected a dict")
    for direction, section in audio.items():
        if direction not in _GA_AUDIO_FIELDS:
            raise ConfigurationError(
                f"provider_config.inference.audio.{direction}: unknown field; accepted: "
                "input, output"
            )
        if not isinstance(section, Mapping):
            raise ConfigurationError(
                f"provider_config.inference.audio.{direction}: expected a dict"
            )
        for key, value in section.items():
            where = f"provider_config.inference.audio.{direction}.{key}"
            if key not in _GA_AUDIO_FIELDS[direction]:
                raise ConfigurationError(
                    f"{where}: unknown field; accepted: "
                    f"{', '.join(sorted(_GA_AUDIO_FIELDS[direction]))}"
                )
            if key == "format" and isinstance(value, str):
                raise ConfigurationError(
                    f"{where}: {value!r} is a beta format name; GA takes an object such as "
                    '{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"} or '
                    '{"type": "audio/pcma"} (or set provider_config.audio.format)'
                )


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested dicts merge key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _ws_url(model_id: str, client: ClientConfig) -> tuple[str, bool]:
    if client.azure_endpoint:
        parts = urlsplit(client.azure_endpoint.rstrip("/"))
        if not parts.netloc:
            raise ConfigurationError(
                "client_config.azure_endpoint: expected a URL such as "
                "'https://<resource>.openai.azure.com'"
            )
        scheme = "ws" if parts.scheme in ("http", "ws") else "wss"
        deployment = client.azure_deployment or model_id
        return (
            urlunsplit(
                (scheme, parts.netloc, "/openai/v1/realtime", f"model={quote(deployment)}", "")
            ),
            True,
        )
    if client.azure_deployment:
        raise ConfigurationError(
            "client_config.azure_deployment: needs client_config.azure_endpoint as well"
        )
    base = client.websocket_base_url or client.base_url or "https://api.openai.com/v1"
    parts = urlsplit(base.rstrip("/"))
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        field = "websocket_base_url" if client.websocket_base_url else "base_url"
        raise ConfigurationError(
            f"client_config.{field}: expected an http(s):// or ws(s):// URL such as "
            "'https://api.openai.com/v1'"
        )
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path
    if not path and not client.websocket_base_url:
        # "http://host:port" means the API root, as the OpenAI client's base URLs
        # (".../v1") do; without it the server answers a bare 404
        path = "/v1"
    if not path.endswith("/realtime"):
        path = path + "/realtime"
    return urlunsplit((scheme, parts.netloc, path, f"model={quote(model_id)}", "")), False


def _as_dict(name: str, value: Any) -> dict[str, Any]:
    """The user's config argument as a plain dict, or a ConfigurationError naming it."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name}: expected a dict (or None), got {type(value).__name__}")
    return dict(value)


def resolve(
    model_id: str,
    provider_config: Mapping[str, Any] | None,
    client_config: Mapping[str, Any] | None,
) -> tuple[ResolvedConfig, KeySource]:
    """Validate the user's dicts and produce the connection settings and the key source."""
    if not isinstance(model_id, str) or not model_id:
        raise ConfigurationError("model_id: expected a non-empty model name such as 'gpt-realtime'")
    provider_dict = _as_dict("provider_config", provider_config)
    client_dict = _as_dict("client_config", client_config)
    provider_key = client_dict.get("api_key")
    if callable(provider_key):
        del client_dict["api_key"]  # called on every connect, see current_key()
    try:
        provider = ProviderConfig.model_validate(provider_dict)
    except ValidationError as exc:
        raise ConfigurationError(_format_validation_error("provider_config", exc)) from None
    try:
        client = ClientConfig.model_validate(client_dict)
    except ValidationError as exc:
        raise ConfigurationError(_format_validation_error("client_config", exc)) from None
    _check_inference(provider.inference)

    key: KeySource
    fixed = client.api_key
    if callable(provider_key):
        key = provider_key
    elif fixed is not None and fixed.get_secret_value():
        key = fixed
    else:
        env = os.environ.get("OPENAI_API_KEY", "")
        if not env:
            raise ConfigurationError(
                "client_config.api_key: no API key; pass client_config={'api_key': ...} "
                "or set the OPENAI_API_KEY environment variable"
            )
        key = SecretStr(env)

    url, is_azure = _ws_url(model_id, client)
    headers: list[tuple[str, str]] = []
    if client.organization:
        headers.append(("OpenAI-Organization", client.organization))
    if client.project:
        headers.append(("OpenAI-Project", client.project))

    audio = provider.audio
    g711 = audio.format != "pcm16"
    wire_rate = 8000 if g711 else 24000
    input_rate = audio.input_rate or wire_rate
    output_rate = audio.output_rate or wire_rate
    if g711 and (input_rate != 8000 or output_rate != 8000):
        raise ConfigurationError(
            f"provider_config.audio.format: {audio.format} audio is 8000 Hz; set "
            "input_rate and output_rate to 8000 (or leave them out), or use format 'pcm16'"
        )
    if g711 and audio.channels != 1:
        raise ConfigurationError(
            f"provider_config.audio.channels: {audio.format} audio is mono; use channels=1"
        )

    wire_format = WIRE_FORMATS[audio.format]
    output: dict[str, Any] = {"format": dict(wire_format)}
    if audio.voice is not None:
        output["voice"] = audio.voice
    session: dict[str, Any] = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"format": dict(wire_format)}, "output": output},
    }
    session = deep_merge(session, provider.inference)
    resolved = ResolvedConfig(
        model_id=model_id,
        url=url,
        headers=tuple(headers),
        timeout_s=client.timeout_s,
        connect_timeout_s=client.connect_timeout_s,
        base_session=session,
        input_rate=input_rate,
        output_rate=output_rate,
        channels=audio.channels,
        format=audio.format,
        wire_rate=wire_rate,
        is_azure=is_azure,
        ping_interval_s=client.ping_interval_s,
        ping_timeout_s=client.ping_timeout_s,
        max_frame_bytes=client.max_frame_bytes,
        response_start_timeout_s=client.response_start_timeout_s,
    )
    return resolved, key


async def current_key(source: KeySource) -> SecretStr:
    """The key for a new connection: the fixed one, or a fresh one from the provider.

    A provider (``client_config["api_key"]`` as a callable, sync or async) is
    called on every connect, so an ephemeral ``ek_`` key that expired is
    replaced by the next reconnect. A sync provider runs on the event loop and
    must be quick; one that fetches over the network should be async.
    """
    if isinstance(source, SecretStr):
        return source
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


def auth_headers(config: ResolvedConfig, key: SecretStr) -> list[tuple[str, str]]:
    """The handshake headers, key included: built at connect time, never stored."""
    value = key.get_secret_value()
    auth = ("api-key", value) if config.is_azure else ("Authorization", f"Bearer {value}")
    return [auth, *config.headers]
