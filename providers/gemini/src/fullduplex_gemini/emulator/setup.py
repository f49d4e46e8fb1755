"""Checking a ``setup`` frame the way the service does: strictly, with its close codes.

The service answers a bad setup by closing the socket (1007 for an invalid
argument, 1008 for a model it does not serve on this API), never with a JSON
error. Keys arrive in either spelling (the reference client mixes them), so
the setup is normalised to lowerCamelCase before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from fullduplex_gemini.wire import MODEL_IDS, NON_AUDIO_REASON, VOICES, is_native_audio

INVALID_ARGUMENT: Final = "Request contains an invalid argument."

SETUP_FIELDS: Final = frozenset(
    {
        "model",
        "generationConfig",
        "systemInstruction",
        "tools",
        "realtimeInputConfig",
        "sessionResumption",
        "contextWindowCompression",
        "inputAudioTranscription",
        "outputAudioTranscription",
        "proactivity",
        "historyConfig",
        "explicitVadSignal",
        "safetySettings",
    }
)
GENERATION_FIELDS: Final = frozenset(
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
        "translationConfig",
    }
)


class SetupRefused(Exception):
    """The setup is refused: close the socket with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _unknown(name: str, where: str) -> SetupRefused:
    return SetupRefused(
        1007,
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.",
    )


@dataclass(slots=True)
class Setup:
    """What the session needs from an accepted setup."""

    model: str
    instructions: str = ""
    declarations: list[dict[str, Any]] = field(default_factory=list)
    voice: str | None = None
    resumption: bool = False
    handle: str | None = None
    input_transcription: bool = False
    output_transcription: bool = False
    vad_disabled: bool = False
    interrupts: bool = True
    silence_ms: int = 500
    prefix_ms: int = 20
    threshold: float = 0.5


def _model_name(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def check_setup(setup: Any, api_version: str, vertex: bool) -> Setup:
    """An accepted ``Setup``, or :class:`SetupRefused` with the service's code and reason."""
    if not isinstance(setup, dict):
        raise SetupRefused(1007, INVALID_ARGUMENT)
    for key in setup:
        if key not in SETUP_FIELDS:
            raise _unknown(key, "setup")
    model = setup.get("model")
    if not isinstance(model, str) or not model:
        raise SetupRefused(1007, INVALID_ARGUMENT)
    well_formed = model.startswith("projects/") if vertex else model.startswith("models/")
    if not well_formed or _model_name(model) not in MODEL_IDS:
        raise SetupRefused(
            1008,
            f"{model} is not found for API version {api_version}, or is not supported for "
            "bidiGenerateContent. Call ListModels to see the list of available models and "
            "their supported methods.",
        )
    result = Setup(model=model)
    generation = setup.get("generationConfig") or {}
    if not isinstance(generation, dict):
        raise SetupRefused(1007, INVALID_ARGUMENT)
    for key in generation:
        if key not in GENERATION_FIELDS:
            raise _unknown(key, "setup.generation_config")
    modalities = generation.get("responseModalities")
    if modalities is not None:
        if not isinstance(modalities, list) or len(modalities) != 1:
            raise SetupRefused(1007, INVALID_ARGUMENT)
        if str(modalities[0]).upper() == "TEXT" and is_native_audio(model):
            raise SetupRefused(1007, NON_AUDIO_REASON)
        if str(modalities[0]).upper() not in ("AUDIO", "TEXT"):
            raise SetupRefused(1007, INVALID_ARGUMENT)
    speech = generation.get("speechConfig") or {}
    voice = ((speech.get("voiceConfig") or {}).get("prebuiltVoiceConfig") or {}).get("voiceName")
    if voice is not None and voice not in VOICES:
        raise SetupRefused(1007, INVALID_ARGUMENT)
    result.voice = voice
    instruction = setup.get("systemInstruction")
    if isinstance(instruction, dict):
        result.instructions = "".join(
            str(part.get("text", ""))
            for part in instruction.get("parts") or ()
            if isinstance(part, dict)
        )
    for tool in setup.get("tools") or ():
        if not isinstance(tool, dict):
            raise SetupRefused(1007, INVALID_ARGUMENT)
        for declaration in tool.get("functionDeclarations") or ():
            if not isinstance(declaration, dict) or not isinstance(declaration.get("name"), str):
                raise SetupRefused(1007, INVALID_ARGUMENT)
            result.declarations.append(declaration)
    resumption = setup.get("sessionResumption")
    if resumption is not None:
        result.resumption = True
        handle = resumption.get("handle") if isinstance(resumption, dict) else None
        result.handle = handle if isinstance(handle, str) and handle else None
    result.input_transcription = "inputAudioTranscription" in setup
    result.output_transcription = "outputAudioTranscription" in setup
    realtime = setup.get("realtimeInputConfig") or {}
    detection = realtime.get("automaticActivityDetection") or {}
    result.vad_disabled = bool(detection.get("disabled", False))
    result.interrupts = realtime.get("activityHandling") != "NO_INTERRUPTION"
    if isinstance(detection.get("silenceDurationMs"), int):
        result.silence_ms = max(20, detection["silenceDurationMs"])
    if isinstance(detection.get("prefixPaddingMs"), int):
        result.prefix_ms = max(0, detection["prefixPaddingMs"])
    if detection.get("startOfSpeechSensitivity") == "START_SENSITIVITY_LOW":
        result.threshold = 0.8
    elif detection.get("startOfSpeechSensitivity") == "START_SENSITIVITY_HIGH":
        result.threshold = 0.3
    return result
