"""The ``gemini`` entry point: registers the provider, its emulator with it.

Registered exactly like a third-party plugin. The model class is imported in
its hook; the emulator (the ``[emulator]`` extra: aiohttp and numpy) only when
it is used, by ``fullduplex emulator --provider gemini`` (core's command runs
the registered ``emulator_command``) or a chat that starts it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from fullduplex.errors import ConfigurationError
from fullduplex.hookspecs import RegisterModel, hookimpl

from .wire import MODEL_IDS

if TYPE_CHECKING:
    from fullduplex.registry import ModelOptions

EMULATOR_INSTALL: Final = "pip install 'fullduplex-gemini[emulator]'"


@hookimpl
def register_models(register: RegisterModel) -> None:
    """Provider ``gemini``: ``BidiGeminiLiveModel`` for the Live models (imported on first use)."""
    register(
        "gemini",
        f"{__package__}.model:BidiGeminiLiveModel",
        models=MODEL_IDS,
        local_server=local_emulator,
        has_credentials=has_api_key,
        options=model_options,
        emulator_command=f"{__package__}.emulator.cli:emulator_command",
    )


def has_api_key() -> bool:
    """Whether ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` is set (never read out)."""
    return any(os.environ.get(name, "").strip() for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"))


def _import_emulator(module: str = "") -> Any:
    name = f"{__package__}.emulator{'.' + module if module else ''}"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the Gemini Live emulator is not installed ({exc.name or exc} is missing); "
            f"install it with: {EMULATOR_INSTALL}, or set GEMINI_API_KEY to use the real service"
        ) from exc


@contextmanager
def local_emulator(*, pace: float | None = None) -> Iterator[Mapping[str, Any]]:
    """The embedded emulator on a free loopback port, served from its own thread.

    ``pace``: seconds of wall time per second of answer audio (1.0 streams at
    speaking pace, so a user can barge in; default as fast as possible).
    """
    emulator = _import_emulator()
    with emulator.GeminiEmulator(port=0, pace=pace, speech="auto").start_in_thread() as running:
        yield {"client_config": {"base_url": running.base_url, "api_key": running.api_key}}


def model_options(options: ModelOptions) -> Mapping[str, Any]:
    """``--voice`` goes to ``provider_config.audio.voice``, ``--base-url`` to ``client_config``.

    ``speech=False`` changes nothing: native-audio models answer in audio only
    (their text is the output transcription).
    """
    kwargs: dict[str, Any] = {}
    if options.voice is not None:
        kwargs["provider_config"] = {"audio": {"voice": options.voice}}
    if options.base_url is not None:
        kwargs["client_config"] = {"base_url": options.base_url}
    return kwargs
