"""``fullduplex chat``: talk to a model from the terminal, a microphone or WAV files.

The command knows no provider by name. It asks the registry what the chosen
provider offers (see :class:`~fullduplex.hookspecs.RegisterModel`): whether its
real service is reachable as configured (``has_credentials``), an offline
server it can start in this process (``local_server``, the OpenAI provider's
emulator, say), and how the generic ``--voice`` / ``--base-url`` map onto its
factory (``options``). Without credentials, or with ``--emulator``, the local
server is used and one line on stderr says so.

IO channels are looked up by their registered names too: ``text`` by default,
``audio`` for ``--audio``, ``wav`` for the WAV options. The conversation is
printed on stdout (on stderr with ``--jsonl``, which gives stdout to one JSON
line per event). The console's own options (``--metrics``, ``--jsonl``, the
logging flags, the sound devices...) live in :mod:`fullduplex.chat_console`.

Exit codes (shared with the rest of the command line):

- 0: the conversation ended (the input was finished and answered, or the
  model called ``stop_conversation``);
- 1: failure, one line on stderr (``--debug`` prints the traceback). A model,
  tool or channel name no plugin provides is a failure too, as in
  ``fullduplex models NAME``: the message lists the names that exist;
- 2: a command line click refuses (unknown option, missing file, options
  that cannot go together, an option the provider does not support);
- 130: interrupted with Ctrl-C (SIGINT); the conversation is stopped cleanly
  first, as the shell convention 128 + SIGINT says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import chat_console
from .chat_console import ConsoleSettings, console_options
from .errors import ConfigurationError
from .registry import ModelOptions, get_io, get_tool, model_registration, registry
from .registry import ModelRecord as Registration

if TYPE_CHECKING:
    from .agent import BidiAgent
    from .events import BidiOutputEvent
    from .io import BidiInput, BidiOutput

logger = logging.getLogger("fullduplex.chat")

#: Environment variable naming the default model of ``fullduplex chat``.
MODEL_ENV = "FULLDUPLEX_MODEL"

#: Exit status after Ctrl-C: 128 + SIGINT.
EXIT_INTERRUPTED = 130

#: ``ctx.meta`` key: tools, or tool providers, that a plugin adding options to ``chat``
#: gives the agent (``--mcp`` adds MCP servers: the agent starts and stops them)
EXTRA_TOOLS_META = "fullduplex.chat.extra_tools"


def _say(message: str) -> None:
    """One status line on stderr, so stdout stays the transcript."""
    click.echo(f"fullduplex: {message}", err=True)


def default_model() -> str:
    """``$FULLDUPLEX_MODEL``, else the first model of the only registered provider."""
    configured = os.environ.get(MODEL_ENV, "").strip()
    if configured:
        return configured
    providers = registry().entries("models")
    if len(providers) > 1:
        # several providers: the only one with credentials, else the first one, openai
        ready = [reg for reg in providers if reg.has_credentials and reg.has_credentials()]
        providers = ready if len(ready) == 1 else [r for r in providers if r.name == "openai"]
    if len(providers) == 1:
        only = providers[0]
        return f"{only.name}/{only.models[0]}" if only.models else only.name
    providers = registry().entries("models")
    names = ", ".join(reg.name for reg in providers) or _no_provider()
    raise click.UsageError(
        f"choose a model with -m PROVIDER/MODEL or {MODEL_ENV} (providers: {names})"
    )


def _no_provider() -> str:
    """Why no provider is there: none installed, or the plugins filtered out (and which)."""
    from .plugins import plugins

    filtered = sorted(
        (skipped.reason.removeprefix("filtered by "), skipped.name)
        for skipped in plugins().skipped
        if skipped.reason.startswith("filtered by ")
    )
    if not filtered:
        return "none installed"
    by_var: dict[str, list[str]] = {}
    for var, name in filtered:
        by_var.setdefault(var, []).append(name)
    said = "; ".join(f"{var} filters out {', '.join(names)}" for var, names in by_var.items())
    return f"none loaded ({said})"


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``; nested mappings merge key by key."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _option_kwargs(provider: Registration, options: ModelOptions) -> Mapping[str, Any]:
    """The factory arguments for ``--voice`` / ``--base-url``, via the provider's mapper."""
    given = [
        flag
        for flag, value in (
            ("--voice", options.voice),
            ("--base-url", options.base_url),
            ("--transcription-model", options.transcription_model),
            ("--turn-detection", options.turn_detection),
        )
        if value is not None
    ]
    if provider.options is None:
        if given:
            raise click.UsageError(
                f"provider {provider.name!r} does not take {' or '.join(given)} "
                f"(plugin {provider.plugin!r} maps no chat options)"
            )
        return {}
    # Always asked, also without --voice / --base-url: ``speech`` (whether
    # anything plays the answer) is an option too, and a text chat must say so.
    return provider.options(options)


def _choose_local_server(
    provider: Registration, emulator: bool, base_url: str | None
) -> tuple[AbstractContextManager[Mapping[str, Any]] | None, str]:
    """The provider's local server to start (or ``None``) and why it is used."""
    if emulator:
        if provider.local_server is None:
            raise click.UsageError(
                f"--emulator: provider {provider.name!r} offers no local server "
                f"(plugin {provider.plugin!r})"
            )
        return provider.local_server(), "as asked with --emulator"
    if base_url is not None or provider.local_server is None:
        return None, ""
    if provider.has_credentials is not None and not provider.has_credentials():
        return provider.local_server(), "no credentials found"
    return None, ""


def _channels(
    audio: bool,
    input_wav: Path | None,
    output_wav: Path | None,
    settings: ConsoleSettings | None = None,
    echo_cancellation: bool = True,
) -> tuple[list[BidiInput], list[BidiOutput]]:
    """The inputs and outputs the options ask for (channels looked up by name)."""
    settings = settings or ConsoleSettings()
    devices = chat_console.device_kwargs(settings, audio)
    text_kwargs: dict[str, Any] = {}
    if settings.metrics:
        text_kwargs["metrics"] = True
    if settings.jsonl:
        text_kwargs.update(output_stream=sys.stderr, json_input=True)
    text_io = get_io("text", **text_kwargs)
    inputs: list[BidiInput] = []
    outputs: list[BidiOutput] = []
    wav_io = None
    if input_wav is not None or output_wav is not None:
        wav_io = get_io("wav", input_path=input_wav, output_path=output_wav)
    sound_io = get_io("audio", echo_cancellation=echo_cancellation, **devices) if audio else None
    if wav_io is not None and input_wav is not None:
        inputs.append(wav_io.input())
    elif sound_io is not None:
        inputs.append(sound_io.input())
    else:
        inputs.append(text_io.input())
    if sound_io is not None:
        outputs.append(sound_io.output())
    if wav_io is not None and output_wav is not None:
        outputs.append(wav_io.output())
    outputs.append(text_io.output())
    if settings.jsonl:
        outputs.append(chat_console.JsonlOutput())
    return inputs, outputs


def _tools(names: Sequence[str]) -> list[Any]:
    """The named tools, plus ``stop_conversation`` so saying goodbye ends the chat."""
    chosen: dict[str, Any] = {}
    for name in (*names, "stop_conversation"):
        if name not in chosen:
            chosen[name] = get_tool(name)
    return list(chosen.values())


class _WatchedOutput:
    """An output whose failure ends the chat with that failure, said once.

    A chat whose recording cannot be written (a full disk, ``/dev/full``) has
    failed: the user must not get exit status 0 and a truncated file. The
    agent's fan-out logs an output's failure and only logs a failing
    ``stop()`` (a file's last flush happens there), so the chat watches its
    outputs itself: the first failure asks the agent to stop, later events
    are dropped, and :func:`_converse` raises the failure once ``run()`` is
    over, for the command line's one-line ``Error:``.
    """

    def __init__(self, output: BidiOutput) -> None:
        self._output = output
        self._agent: BidiAgent | None = None
        #: the first failure of this output (``__call__`` or ``stop()``)
        self.error: Exception | None = None

    async def start(self, agent: BidiAgent) -> None:
        self._agent = agent
        await self._output.start(agent)

    async def __call__(self, event: BidiOutputEvent) -> None:
        if self.error is not None:
            return
        try:
            await self._output(event)
        except Exception as exc:
            self.error = exc
            if self._agent is not None:
                self._agent.request_stop()

    async def stop(self) -> None:
        try:
            await self._output.stop()
        except Exception as exc:
            if self.error is None:
                self.error = exc


def _check_wav(path: Path | None) -> Path | None:
    """Refuse a file that is not a WAV file now, before any server starts."""
    if path is None:
        return None
    import wave

    try:
        with wave.open(str(path), "rb"):
            pass
    except (wave.Error, EOFError) as exc:
        raise click.BadParameter(
            f"{path} is not a WAV file ({exc}); give a PCM .wav recording", param_hint="--input-wav"
        ) from exc
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--input-wav") from exc
    return path


@contextlib.contextmanager
def _server(
    server: AbstractContextManager[Mapping[str, Any]] | None,
) -> Iterator[Mapping[str, Any]]:
    if server is None:
        yield {}
        return
    with server as connect_kwargs:
        yield connect_kwargs


async def _converse(
    agent: BidiAgent,
    inputs: list[BidiInput],
    outputs: list[BidiOutput],
    *,
    report_leftovers: bool,
) -> None:
    """Run the conversation; with ``--debug``, name any task it left running.

    Raises the first output failure (see :class:`_WatchedOutput`) once the
    conversation is over.
    """
    watched = [_WatchedOutput(output) for output in outputs]
    try:
        await agent.run(inputs=inputs, outputs=watched)
        failed = next((w.error for w in watched if w.error is not None), None)
        if failed is not None:
            raise failed
    finally:
        if report_leftovers:
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current and not task.done():
                    _say(f"debug: task left running after the conversation: {task.get_name()}")


def _mark_debug(ctx: click.Context) -> None:
    """Make the top-level error handler print the traceback (``chat --debug``)."""
    from .cli import _Options

    options = ctx.find_object(_Options)
    if options is not None:
        options.debug = True


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The model and tool options ``chat`` takes, for any command that builds the same agent.

    Adds ``model_name``, ``voice``, ``system_prompt``, ``tool_names``,
    ``emulator``, ``base_url`` and ``max_restarts`` parameters; pass them to
    :func:`agent_factory`. ``fullduplex serve`` (another distribution) uses it,
    so both commands take the same options with the same meaning.
    """
    for option in reversed(_MODEL_OPTIONS):
        command = option(command)
    return command


_MODEL_OPTIONS: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (
    click.option(
        "-m",
        "--model",
        "model_name",
        metavar="PROVIDER/MODEL",
        help=f"The model, e.g. openai/gpt-realtime (default: ${MODEL_ENV}, or the only provider).",
    ),
    click.option("--voice", help="The voice to answer with (a name the provider accepts)."),
    click.option("--system", "system_prompt", metavar="TEXT", help="The system prompt."),
    click.option(
        "--tool",
        "tool_names",
        multiple=True,
        metavar="NAME",
        help="Give the model a registered tool (repeatable; see 'fullduplex tools').",
    ),
    click.option(
        "--emulator",
        is_flag=True,
        help="Use the provider's embedded offline server even when credentials are set.",
    ),
    click.option(
        "--base-url", metavar="URL", help="Connect to this server (any compatible endpoint)."
    ),
    click.option(
        "--max-restarts",
        type=click.IntRange(min=0),
        metavar="N",
        help="Reconnect at most N times in a row after the connection is lost, then fail "
        "(default: the agent's retry policy; 0 never reconnects).",
    ),
)


@contextlib.contextmanager
def agent_factory(
    model_name: str | None,
    voice: str | None,
    system_prompt: str | None,
    tool_names: Sequence[str],
    emulator: bool,
    base_url: str | None,
    max_restarts: int | None,
    *,
    speech: bool,
    extra_tools: Sequence[Any] = (),
    transcribe: bool = False,
    transcription_model: str | None = None,
    turn_detection: str | None = None,
) -> Iterator[Callable[[], BidiAgent]]:
    """A function that builds a new agent as ``chat`` would, valid inside the ``with``.

    Checks the options first (click's usage errors), starts the provider's
    local server when it is the one to use (saying so once on stderr) and
    stops it on the way out. Each call of the yielded function gives a fresh
    model and agent, so a server can call it once per conversation.
    """
    if emulator and base_url is not None:
        raise click.UsageError("--emulator and --base-url cannot be used together")
    name = model_name if model_name is not None else default_model()
    provider, _ = model_registration(name)
    wanted = ModelOptions(
        voice=voice,
        base_url=base_url,
        speech=speech,
        transcribe=transcribe or None,
        transcription_model=transcription_model,
        turn_detection=turn_detection,
    )
    kwargs = _option_kwargs(provider, wanted)
    server, why = _choose_local_server(provider, emulator, base_url)
    # tools or tool providers a plugin extending chat (e.g. --mcp) handed over, beside the
    # named ones; the agent starts providers on the conversation's loop and stops them
    tools = [*_tools(tool_names), *extra_tools]

    from .agent import BidiAgent
    from .registry import get_model

    with _server(server) as connect_kwargs:
        if server is not None:
            _say(
                f"using the embedded emulator of provider {provider.name!r} "
                f"(a local offline server in this process; {why})"
            )
        merged = _deep_merge(kwargs, connect_kwargs)
        retry: dict[str, Any] = {}
        if max_restarts is not None:
            retry["max_restarts"] = max_restarts

        def build() -> BidiAgent:
            model = get_model(name, **merged)
            logger.info(
                "model %s (provider plugin %r); tools: %s",
                name,
                provider.plugin,
                ", ".join(getattr(t, "name", "?") for t in tools) or "none",
            )
            return BidiAgent(model, tools=tools, system_prompt=system_prompt, **retry)

        yield build


@click.command("chat")
@model_options
@click.option("--audio", is_flag=True, help="Talk through the microphone and the speaker.")
@click.option(
    "--no-echo-cancellation",
    "no_echo_cancellation",
    is_flag=True,
    help="With --audio: do not cancel the speaker's echo in the microphone (headphones).",
)
@click.option(
    "--input-wav",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    callback=lambda _ctx, _param, value: _check_wav(value),
    help="Stream this WAV file as your voice (in place of typed text or the microphone).",
)
@click.option(
    "--output-wav",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record the model's speech into this WAV file.",
)
@click.option("--debug", is_flag=True, help="Show the full traceback when the chat fails.")
@console_options
@click.pass_context
def chat(
    ctx: click.Context,
    /,
    model_name: str | None,
    voice: str | None,
    system_prompt: str | None,
    tool_names: tuple[str, ...],
    audio: bool,
    no_echo_cancellation: bool,
    input_wav: Path | None,
    output_wav: Path | None,
    emulator: bool,
    base_url: str | None,
    max_restarts: int | None,
    debug: bool,
    **console: Any,
) -> None:
    """Talk with a model: type (or pipe) text, or use --audio / the WAV options.

    Without the provider's credentials (for OpenAI: OPENAI_API_KEY) the
    provider's embedded emulator answers, offline. Ends when the input ends and
    the last answer is complete, when the model calls stop_conversation (say
    goodbye), or on Ctrl-C (exit status 130).

    \b
    echo "what is 12 times 7?" | fullduplex chat --tool calculator
    fullduplex chat --audio --metrics -v
    """
    if debug:
        _mark_debug(ctx)
    settings = chat_console.pop_settings(console)
    chat_console.configure_logging(settings)
    speaks = audio or output_wav is not None
    try:
        with agent_factory(
            model_name,
            voice,
            chat_console.system_prompt(system_prompt, settings),
            tool_names,
            emulator,
            base_url,
            max_restarts,
            speech=speaks,
            extra_tools=ctx.meta.get(EXTRA_TOOLS_META, ()),
            transcribe=audio or input_wav is not None,
            transcription_model=settings.transcription_model,
            turn_detection=settings.turn_detection,
        ) as build:
            inputs, outputs = _channels(
                audio,
                input_wav,
                output_wav,
                settings,
                echo_cancellation=not no_echo_cancellation,
            )
            try:
                agent = build()
            except ConfigurationError as exc:
                if debug:
                    raise
                # the message names the field and what it accepts: the class adds nothing
                raise click.ClickException(str(exc)) from exc
            agent.metrics.emit_events = settings.metrics or settings.jsonl
            asyncio.run(_converse(agent, inputs, outputs, report_leftovers=debug))
    except KeyboardInterrupt:
        _say("conversation ended (Ctrl-C)")
        sys.exit(EXIT_INTERRUPTED)


__all__ = [
    "EXIT_INTERRUPTED",
    "MODEL_ENV",
    "agent_factory",
    "chat",
    "default_model",
    "model_options",
]
