"""The ``openai`` entry point: registers the provider, its emulator with it.

Registered exactly like a third-party plugin would be. The model class is
registered by reference and imported on first use; the emulator (an optional
extra that brings aiohttp and numpy) is imported only when it is used: when
``fullduplex emulator`` (core's provider-neutral command, which runs the
registered ``emulator_command``) runs or a chat starts the local server. Listing
commands or printing the version imports neither, and a missing or broken
emulator never takes the provider down.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from fullduplex.errors import ConfigurationError
from fullduplex.hookspecs import RegisterModel, hookimpl

if TYPE_CHECKING:
    from fullduplex.registry import ModelOptions

#: Model names offered as ``openai/<name>``; any other id works with the class directly.
MODEL_IDS: tuple[str, ...] = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
)


@hookimpl
def register_models(register: RegisterModel) -> None:
    """Provider ``openai``: ``BidiOpenAIRealtimeModel`` for the GA Realtime models.

    Registered by reference: the model module (pydantic, the protocol) is
    imported on first use, not when the plugins load.
    """
    register(
        "openai",
        f"{__package__}.model:BidiOpenAIRealtimeModel",
        models=MODEL_IDS,
        local_server=local_emulator,
        has_credentials=has_api_key,
        options=model_options,
        emulator_command=f"{__package__}.emulator.cli:emulator_command",
    )


def has_api_key() -> bool:
    """Whether ``OPENAI_API_KEY`` is set (the key itself is never read out)."""
    return bool(os.environ.get("OPENAI_API_KEY", "").strip())


#: how to get the emulator when the extra is not installed
EMULATOR_INSTALL: Final = "pip install 'fullduplex-openai[emulator]'"


def _import_emulator(module: str = "") -> Any:
    """``fullduplex_openai.emulator`` (or a module of it), or a ConfigurationError saying how
    to get it."""
    name = f"{__package__}.emulator{'.' + module if module else ''}"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the OpenAI Realtime emulator is not installed ({exc.name or exc} is missing); "
            f"install it with: {EMULATOR_INSTALL}, or set OPENAI_API_KEY to use the real service"
        ) from exc


@contextmanager
def local_emulator() -> Iterator[Mapping[str, Any]]:
    """The embedded emulator on a free loopback port, served from its own thread."""
    emulator = _import_emulator()
    with emulator.Emulator(port=0, speech="auto").start_in_thread() as running:
        yield {"client_config": {"base_url": running.base_url, "api_key": running.api_key}}


#: what transcribes the user's spoken turns in a chat (the service's default model)
CHAT_TRANSCRIPTION: Final = {"model": "whisper-1"}


def model_options(options: ModelOptions) -> Mapping[str, Any]:
    """``--voice`` goes to ``provider_config.audio.voice``, ``--base-url`` to
    ``client_config``; no speech wanted means ``output_modalities: ["text"]``.

    A chat always asks for the user's audio to be transcribed: the service
    transcribes spoken turns only when the session says so, and a chat shows
    both sides' words. It costs nothing for a typed chat (no audio in).
    """
    kwargs: dict[str, Any] = {}
    provider_config: dict[str, Any] = {}
    if options.voice is not None:
        provider_config["audio"] = {"voice": options.voice}
    inference: dict[str, Any] = {"audio": {"input": {"transcription": dict(CHAT_TRANSCRIPTION)}}}
    if options.speech is False:
        inference["output_modalities"] = ["text"]
    provider_config["inference"] = inference
    if provider_config:
        kwargs["provider_config"] = provider_config
    if options.base_url is not None:
        kwargs["client_config"] = {"base_url": options.base_url}
    return kwargs
