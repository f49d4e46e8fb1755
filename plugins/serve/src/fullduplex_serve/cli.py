"""``fullduplex serve [APP]``: the agent on a web page and on the phone, served by uvicorn.

``APP`` (``module:attr``) names a function returning a ``BidiAgent``, sync or
async, called once per call. Without it the agent is the one ``fullduplex
chat`` builds, with the same model options (core's
:func:`fullduplex.chat.model_options` / :func:`~fullduplex.chat.agent_factory`);
without credentials that is the provider's embedded emulator, so the page
works offline.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from typing import Any

import click

from fullduplex.chat import agent_factory, model_options

from .calls import AgentFactory
from .config import ServeConfig, is_loopback

TOKEN_ENV = "FULLDUPLEX_SERVE_TOKEN"
TWILIO_TOKEN_ENV = "TWILIO_AUTH_TOKEN"
STORE_ENV = "FULLDUPLEX_SESSION_STORE"
#: default seconds a draining process lets running calls finish before handing them over
DEFAULT_DRAIN_GRACE_S = 20.0


def load_app(spec: str) -> AgentFactory:
    """The function ``module:attr`` names (the module imported from the current directory too)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(
            f"{spec!r}; accepted: module:function, e.g. myagent:build", param_hint="APP"
        )
    import sys

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}", param_hint="APP") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise click.BadParameter(
                f"{module_name!r} has no attribute {attr!r}", param_hint="APP"
            ) from None
    if not callable(target):
        raise click.BadParameter(f"{spec!r} is not a function", param_hint="APP")
    factory: AgentFactory = target
    return factory


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without an access token, and say why."""
    if token is None and not is_loopback(host):
        raise click.UsageError(
            f"--host {host} makes the agent reachable from other machines, and anyone who "
            "reaches it can talk to your model on your account; give an access token with "
            f"--token TOKEN (or ${TOKEN_ENV}), and open the page as /?token=TOKEN"
        )


def _say(message: str) -> None:
    click.echo(f"fullduplex: {message}", err=True)


@click.command("serve")
@click.argument("app_spec", metavar="[APP]", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    help=f"Access token the browser endpoint requires (default: ${TOKEN_ENV}); "
    "required when --host is not a loopback address.",
)
@click.option(
    "--allow-origin",
    "allowed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Another origin whose pages may connect (repeatable); the page's own always may.",
)
@click.option(
    "--twilio-auth-token",
    envvar=TWILIO_TOKEN_ENV,
    help=f"Check X-Twilio-Signature with this auth token (default: ${TWILIO_TOKEN_ENV}).",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The public base URL Twilio reaches (https://agent.example.com), for TwiML and "
    "signatures.",
)
@click.option(
    "--session-store",
    envvar=STORE_ENV,
    metavar="URL",
    help="Where calls live so another process can take them over: redis://host:6379/0 "
    f"(default: ${STORE_ENV}, else this process's memory).",
)
@click.option(
    "--session-idle",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    metavar="SECONDS",
    help="Forget a stored call nobody touched for this long.",
)
@click.option(
    "--drain-grace",
    default=DEFAULT_DRAIN_GRACE_S,
    show_default=True,
    type=click.FloatRange(min=0.0),
    metavar="SECONDS",
    help="On SIGTERM: /healthz turns 503, no new calls; running calls may finish for this "
    "long, then browser calls are told to reconnect elsewhere.",
)
@model_options
def serve_command(
    app_spec: str | None,
    host: str,
    port: int,
    token: str | None,
    allowed_origins: tuple[str, ...],
    twilio_auth_token: str | None,
    public_url: str | None,
    session_store: str | None,
    session_idle: float,
    drain_grace: float,
    model_name: str | None,
    voice: str | None,
    system_prompt: str | None,
    tool_names: tuple[str, ...],
    emulator: bool,
    base_url: str | None,
    max_restarts: int | None,
) -> None:
    """Serve an agent: a web page (GET /, WS /browser) and Twilio calls (POST /twilio/voice).

    APP is module:function returning a BidiAgent (called once per call); without
    it, the agent 'fullduplex chat' builds, with the same model options.

    \b
    fullduplex serve                      # http://127.0.0.1:8765/, offline emulator
    fullduplex serve myagent:build --host 0.0.0.0 --token s3cret
    """
    token = token or None
    check_exposure(host, token)
    config = ServeConfig(
        token=token,
        allowed_origins=allowed_origins,
        twilio_auth_token=twilio_auth_token or None,
        allow_unsigned_twilio=is_loopback(host),
        public_url=public_url,
        session_idle_s=session_idle,
    )
    store = _open_store(session_store or None, session_idle)
    with _factory(
        app_spec,
        model_name,
        voice,
        system_prompt,
        tool_names,
        emulator,
        base_url,
        max_restarts,
    ) as factory:
        _run(factory, config, host, port, store, drain_grace)


def _open_store(url: str | None, idle_s: float) -> Any:
    """The session store ``--session-store`` names (checked before serving)."""
    from fullduplex.errors import FullDuplexError

    from .store import open_store

    try:
        return open_store(url, idle_s)
    except FullDuplexError as exc:
        raise click.BadParameter(str(exc), param_hint="--session-store") from exc


@contextlib.contextmanager
def _factory(
    app_spec: str | None,
    model_name: str | None,
    voice: str | None,
    system_prompt: str | None,
    tool_names: tuple[str, ...],
    emulator: bool,
    base_url: str | None,
    max_restarts: int | None,
) -> Iterator[AgentFactory]:
    if app_spec is not None:
        yield load_app(app_spec)
        return
    with agent_factory(
        model_name,
        voice,
        system_prompt,
        tool_names,
        emulator,
        base_url,
        max_restarts,
        speech=True,
    ) as build:
        yield build


def _run(
    factory: AgentFactory,
    config: ServeConfig,
    host: str,
    port: int,
    store: Any,
    drain_grace: float,
) -> None:
    import socket

    import uvicorn

    from .app import create_app
    from .drain import DrainingServer

    app = create_app(factory, config, session_store=store)
    server = DrainingServer(
        app.state.fullduplex,
        drain_grace,
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ws="websockets-sansio",
            # a hard cap above ours, so that our check (with its log line) sees oversize frames
            ws_max_size=4 * config.max_frame_bytes,
            log_level="warning",
            lifespan="on",
        ),
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{bound}"
    _say(f"serving the page on {base}/ (the browser channel on {base}/browser)")
    if config.twilio_auth_token is None and not config.allow_unsigned_twilio:
        _say(f"Twilio endpoints refuse every request until ${TWILIO_TOKEN_ENV} is set")
    else:
        checked = " (signatures checked)" if config.twilio_auth_token else ""
        _say(f"Twilio: voice webhook POST {base}/twilio/voice, media stream /twilio{checked}")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__: list[str] = ["check_exposure", "load_app", "serve_command"]
