"""The console side of ``fullduplex chat``: its options, logging, and ``--jsonl``.

Kept apart from :mod:`fullduplex.chat` (which builds the agent and picks the
channels) so each part stays small:

- :data:`CONSOLE_OPTIONS` and :class:`ConsoleSettings`: what the user asked
  for (``--metrics``, ``--jsonl``, the logging flags, the sound devices, the
  system prompt file, input transcription and turn detection);
- :func:`configure_logging`: ``-v``/``-vv``, ``--log-level``,
  ``$FULLDUPLEX_LOG``, ``--log-file``, with every record passed through
  :func:`~fullduplex.redaction.redact` (and the configured keys) on its way out;
- :class:`JsonlOutput`: every event as one JSON line on stdout, so a script
  can drive a conversation while people read stderr.

Nothing here imports more than click and the standard library at import time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs
import click

if TYPE_CHECKING:
    from .agent import BidiAgent
    from .events import BidiOutputEvent

#: Environment variable with the log level when no flag gives one.
LOG_ENV = "FULLDUPLEX_LOG"

#: Environment variables whose values are never written to a log.
SECRET_ENVS: tuple[str, ...] = ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")

#: Loggers that carry the wire traffic; shown only at debug level (``-vv``).
WIRE_LOGGERS: tuple[str, ...] = ("fullduplex_openai.websockets", "websockets")

_LEVELS = ("debug", "info", "warning", "error", "critical")


@attrs.frozen
class ConsoleSettings:
    """What the console options asked for (one object instead of ten parameters)."""

    metrics: bool = False
    jsonl: bool = False
    verbose: int = 0
    log_level: str | None = None
    log_file: Path | None = None
    input_device: str | None = None
    output_device: str | None = None
    system_file: Path | None = None
    transcription_model: str | None = None
    turn_detection: str | None = None


def _device(value: str | None) -> int | str | None:
    """A device as ``fullduplex devices`` lists it: its index, or (part of) its name."""
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else text


def device_kwargs(settings: ConsoleSettings, audio: bool) -> dict[str, Any]:
    """The ``audio`` channel's device arguments; a usage error without ``--audio``."""
    given = {
        flag: value
        for flag, value in (
            ("--input-device", settings.input_device),
            ("--output-device", settings.output_device),
        )
        if value is not None
    }
    if given and not audio:
        raise click.UsageError(f"{' and '.join(given)} need --audio (the sound devices)")
    kwargs: dict[str, Any] = {}
    if settings.input_device is not None:
        kwargs["input_device"] = _device(settings.input_device)
    if settings.output_device is not None:
        kwargs["output_device"] = _device(settings.output_device)
    return kwargs


def system_prompt(given: str | None, settings: ConsoleSettings) -> str | None:
    """``--system`` or the text of ``--system-file`` (not both)."""
    if settings.system_file is None:
        return given
    if given is not None:
        raise click.UsageError("--system and --system-file cannot be used together")
    try:
        return settings.system_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(
            f"cannot read {settings.system_file}: {exc}", param_hint="--system-file"
        ) from exc


# ----------------------------------------------------------------------- logging
class RedactingFilter(logging.Filter):
    """Replace keys (``sk-...`` tokens and the configured ones) in every record's text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        from .redaction import redact

        message = record.getMessage()
        cleaned = redact(message, *self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, *self._secrets)
        return True


def log_level(settings: ConsoleSettings, environ: dict[str, str] | None = None) -> int:
    """``--log-level``, else ``-v`` (info) / ``-vv`` (debug), else ``$FULLDUPLEX_LOG``, else
    warning."""
    env = os.environ if environ is None else environ
    name = settings.log_level
    if name is None and settings.verbose:
        name = "info" if settings.verbose == 1 else "debug"
    if name is None:
        name = env.get(LOG_ENV, "").strip() or "warning"
    if name.lower() not in _LEVELS:
        raise click.BadParameter(
            f"unknown log level {name!r}; accepted: {', '.join(_LEVELS)}",
            param_hint=f"${LOG_ENV}" if settings.log_level is None else "--log-level",
        )
    level: int = getattr(logging, name.upper())
    return level


def configure_logging(
    settings: ConsoleSettings, *, stream: TextIO | None = None
) -> logging.Handler | None:
    """Send fullduplex's logs (and the wire traffic at debug level) to stderr or a file.

    Returns the handler it installed (``None`` at the default warning level
    without a log file: Python's own last-resort handler is enough then).
    """
    level = log_level(settings)
    if level >= logging.WARNING and settings.log_file is None:
        return None
    handler: logging.Handler
    if settings.log_file is not None:
        handler = logging.FileHandler(settings.log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(os.environ.get(name, "") for name in SECRET_ENVS))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    wire_level = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(wire_level)
    return handler


# ------------------------------------------------------------------------ --jsonl
class JsonlOutput:
    """Every event as one JSON object per line (its ``to_dict()``), flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._given = stream
        self._stream: TextIO | None = None

    async def start(self, agent: BidiAgent) -> None:
        self._stream = self._given if self._given is not None else sys.stdout

    async def __call__(self, event: BidiOutputEvent) -> None:
        stream = self._stream
        if stream is None:
            return
        stream.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        stream.flush()

    async def stop(self) -> None:
        self._stream = None


# ------------------------------------------------------------------------ options
_CONSOLE_OPTIONS: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (
    click.option(
        "--metrics",
        is_flag=True,
        help="After each answer, show its latency and tokens; at the end, a summary.",
    ),
    click.option(
        "--jsonl",
        is_flag=True,
        help="Write every event as one JSON line on stdout (the conversation goes to "
        "stderr); typed lines that start with '{' are sent as events.",
    ),
    click.option(
        "-v",
        "--verbose",
        count=True,
        help="Log more: -v for info, -vv for debug (with the wire traffic, keys redacted).",
    ),
    click.option(
        "--log-level",
        type=click.Choice(_LEVELS, case_sensitive=False),
        help=f"The log level (default: ${LOG_ENV}, else warning).",
    ),
    click.option(
        "--log-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the log to this file instead of stderr.",
    ),
    click.option(
        "--input-device",
        metavar="DEVICE",
        help="With --audio: the microphone, by index or name (see 'fullduplex devices').",
    ),
    click.option(
        "--output-device",
        metavar="DEVICE",
        help="With --audio: the speaker, by index or name (see 'fullduplex devices').",
    ),
    click.option(
        "--system-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the system prompt from this file.",
    ),
    click.option(
        "--transcription-model",
        metavar="NAME",
        help="Transcribe your speech with this model (default with audio: the provider's choice).",
    ),
    click.option(
        "--turn-detection",
        type=click.Choice(("server", "semantic", "none"), case_sensitive=False),
        help="Who decides you finished speaking: server (silence), semantic (meaning), or none.",
    ),
)

#: the names of the parameters the console options add
CONSOLE_PARAMS: tuple[str, ...] = tuple(f.name for f in attrs.fields(ConsoleSettings))


def console_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the console options to a command; collect them with :func:`pop_settings`."""
    for option in reversed(_CONSOLE_OPTIONS):
        command = option(command)
    return command


def pop_settings(kwargs: dict[str, Any]) -> ConsoleSettings:
    """Take the console options out of a command's keyword arguments."""
    values = {name: kwargs.pop(name) for name in CONSOLE_PARAMS if name in kwargs}
    if values.get("log_level") is not None:
        values["log_level"] = str(values["log_level"]).lower()
    if values.get("turn_detection") is not None:
        values["turn_detection"] = str(values["turn_detection"]).lower()
    return ConsoleSettings(**values)


__all__ = [
    "CONSOLE_PARAMS",
    "LOG_ENV",
    "ConsoleSettings",
    "JsonlOutput",
    "RedactingFilter",
    "configure_logging",
    "console_options",
    "device_kwargs",
    "log_level",
    "pop_settings",
    "system_prompt",
]
