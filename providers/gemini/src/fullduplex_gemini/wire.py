"""Facts about the Gemini Live wire that the provider and the emulator share.

Why one module: the voice list, the model names, the endpoint paths and the
JSON quirks (snake_case or lowerCamelCase keys, both base64 alphabets, proto
``Duration`` strings) must agree on both sides of the socket, and neither side
may import the other. Nothing here does I/O or imports anything heavy.
"""

from __future__ import annotations

import base64
import binascii
import re
from binascii import a2b_base64
from collections.abc import Mapping
from typing import Any, Final

#: The 30 prebuilt voices (names are case-sensitive).
VOICES: Final[tuple[str, ...]] = (
    "Zephyr",
    "Puck",
    "Charon",
    "Kore",
    "Fenrir",
    "Leda",
    "Orus",
    "Aoede",
    "Callirrhoe",
    "Autonoe",
    "Enceladus",
    "Iapetus",
    "Umbriel",
    "Algieba",
    "Despina",
    "Erinome",
    "Algenib",
    "Rasalgethi",
    "Laomedeia",
    "Achernar",
    "Alnilam",
    "Schedar",
    "Gacrux",
    "Pulcherrima",
    "Achird",
    "Zubenelgenubi",
    "Vindemiatrix",
    "Sadachbia",
    "Sadaltager",
    "Sulafat",
)

#: Live model ids offered as ``gemini/<id>`` (Developer API first, then Vertex AI).
MODEL_IDS: Final[tuple[str, ...]] = (
    "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-2.5-flash-native-audio-latest",
    "gemini-3.1-flash-live-preview",
    "gemini-live-2.5-flash-native-audio",
    "gemini-live-2.5-flash",
)
DEFAULT_MODEL: Final = MODEL_IDS[0]

API_VERSIONS: Final[tuple[str, ...]] = ("v1beta", "v1", "v1alpha")
VERTEX_API_VERSIONS: Final[tuple[str, ...]] = ("v1beta1", "v1")
DEVELOPER_HOST: Final = "wss://generativelanguage.googleapis.com"

#: wire rates: PCM16 mono in at 16 kHz, out at 24 kHz
WIRE_INPUT_RATE: Final = 16_000
WIRE_OUTPUT_RATE: Final = 24_000
INPUT_MIME: Final = "audio/pcm;rate=16000"
OUTPUT_MIME: Final = "audio/pcm;rate=24000"

#: the reason the service closes (1007) a text-modality session on a native-audio model
NON_AUDIO_REASON: Final = "Cannot extract voices from a non-audio request."


def developer_path(version: str, *, constrained: bool = False) -> str:
    """The Developer API's websocket path for ``version``."""
    method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
    return f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


def vertex_path(version: str) -> str:
    """Vertex AI's websocket path for ``version``."""
    return f"/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"


def is_native_audio(model: str) -> bool:
    """Whether a model id (bare or ``models/...``/Vertex path) answers in audio only."""
    name = model.rsplit("/", 1)[-1]
    return "native-audio" in name or name.startswith("gemini-3")


_CAMEL = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    """``snake_case`` -> ``snakeCase`` (a camelCase key is returned as it is)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), key)


def camel_keys(value: Any) -> Any:
    """``value`` with every mapping key in lowerCamelCase, recursively.

    The service's proto3 JSON parser takes both spellings, and the reference
    client sends a mix; normalising once lets each side read one spelling.
    Keys under ``args``/``response``/``properties`` (user data) are left alone.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = camel(key) if isinstance(key, str) else key
            out[name] = item if name in _OPAQUE else camel_keys(item)
        return out
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


#: members whose contents are user data, never renamed
_OPAQUE: Final = frozenset({"args", "response", "properties", "parametersJsonSchema"})


def b64decode_any(text: str | bytes) -> bytes:
    """Decode standard or URL-safe base64, padded or not (the client sends URL-safe).

    The common case, canonical standard base64 (what the service sends), is
    decoded in one strict ``a2b_base64`` call straight from the ``str``; strict
    mode accepts only what the careful path below would accept, with the same
    bytes, so only the other spellings (URL-safe alphabet, missing padding,
    surrounding whitespace) pay for the rewriting.
    """
    try:
        return a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        return _b64decode_lenient(text)


def _b64decode_lenient(text: str | bytes) -> bytes:
    """The careful path of :func:`b64decode_any`: normalise, pad, then validate."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not base64: {exc}") from exc
    text = text.strip()
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from exc


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)s\s*$")


def parse_duration(value: object) -> float | None:
    """A proto ``Duration`` (``"50s"``, ``"9.5s"``, or a number) in seconds; ``None`` if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1))
    if isinstance(value, Mapping):  # {"seconds": 50, "nanos": 0}
        seconds = value.get("seconds", 0)
        nanos = value.get("nanos", 0)
        if isinstance(seconds, int | float | str) and isinstance(nanos, int | float):
            try:
                return float(seconds) + float(nanos) / 1e9
            except ValueError:
                return None
    return None


def format_duration(seconds: float) -> str:
    """Seconds as a proto ``Duration`` string (``"50s"``, ``"9.5s"``)."""
    return f"{seconds:g}s"
