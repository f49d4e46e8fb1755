"""``--mcp COMMAND`` / ``--mcp-url URL`` on ``fullduplex chat`` and ``fullduplex tools``.

The plugin adds the options to the existing commands from its
``extend_command`` hook (no core command names a plugin). ``chat`` hands the
servers to its agent as tool providers (in ``ctx.meta[EXTRA_TOOLS]``): the
agent starts them before it connects, on the conversation's own event loop,
and stops them with the conversation. ``tools`` starts them, lists what they
offer and stops them. ``--mcp-header NAME:VALUE`` goes with every request to
the ``--mcp-url`` servers (a token, say; values are never printed).
"""

from __future__ import annotations

import asyncio
import functools
import json
import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .client import MCPTools
    from .tool import MCPTool

#: where ``fullduplex chat`` looks for tools that plugins extending it add
EXTRA_TOOLS = "fullduplex.chat.extra_tools"
_EXTENDED = "_fullduplex_mcp_extended"
#: how long ``fullduplex tools --mcp`` waits for a server to stop
_STOP_TIMEOUT_S = 10.0


def _options() -> list[click.Option]:
    return [
        click.Option(
            ["--mcp", "mcp_commands"],
            multiple=True,
            metavar="COMMAND",
            help='Run this MCP server over stdio and use its tools, e.g. "python server.py" '
            "(repeatable).",
        ),
        click.Option(
            ["--mcp-url", "mcp_urls"],
            multiple=True,
            metavar="URL",
            help="Use the tools of the MCP server at this streamable-HTTP URL (repeatable).",
        ),
        click.Option(
            ["--mcp-header", "mcp_headers"],
            multiple=True,
            metavar="NAME:VALUE",
            help="Send this HTTP header to the --mcp-url servers, e.g. "
            '"Authorization: Bearer TOKEN" (repeatable).',
        ),
    ]


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    """``NAME:VALUE`` options as headers; a malformed one names the option, not its value."""
    headers: dict[str, str] = {}
    for number, value in enumerate(values, 1):
        name, colon, content = value.partition(":")
        name = name.strip()
        if not colon or not name or any(c.isspace() for c in name):
            # the text is not repeated: it may be a token given without its name
            raise click.BadParameter(
                f"header #{number} has no NAME before ':'; accepted: NAME:VALUE, "
                "e.g. 'Authorization: Bearer TOKEN'",
                param_hint="--mcp-header",
            )
        headers[name] = content.strip()
    return headers


def providers_from(
    commands: Sequence[str], urls: Sequence[str], headers: Sequence[str] = ()
) -> list[MCPTools]:
    """One provider per ``--mcp`` command line and per ``--mcp-url`` (with the headers)."""
    if headers and not urls:
        raise click.UsageError("--mcp-header goes with --mcp-url (headers of HTTP servers)")
    sent = parse_headers(headers)
    if not commands and not urls:
        return []
    from .client import MCPTools  # the mcp package, only once a server is named

    providers: list[MCPTools] = []
    for command in commands:
        argv = shlex.split(command)
        if not argv:
            raise click.BadParameter("give the server's command line", param_hint="--mcp")
        providers.append(MCPTools.stdio(argv[0], argv[1:]))
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"{url!r}: accepted: an http:// or https:// URL", param_hint="--mcp-url"
            )
        providers.append(MCPTools.http(url, headers=sent))
    return providers


def _extend(command: click.Command, run: Callable[..., Any]) -> None:
    """Add the options to ``command`` once; ``run(original, providers, ...)`` handles them."""
    if getattr(command, _EXTENDED, False) or command.callback is None:
        return
    command.params.extend(_options())
    original = command.callback

    @functools.wraps(original)
    def callback(
        *args: Any,
        mcp_commands: Sequence[str] = (),
        mcp_urls: Sequence[str] = (),
        mcp_headers: Sequence[str] = (),
        **kwargs: Any,
    ) -> Any:
        providers = providers_from(mcp_commands, mcp_urls, mcp_headers)
        if not providers:
            return original(*args, **kwargs)
        return run(original, providers, *args, **kwargs)

    command.callback = callback
    setattr(command, _EXTENDED, True)


def _chat(
    original: Callable[..., Any], providers: list[MCPTools], *args: Any, **kwargs: Any
) -> Any:
    """The agent gets the servers as tool providers; it starts and stops them."""
    ctx = click.get_current_context()
    ctx.meta[EXTRA_TOOLS] = [*ctx.meta.get(EXTRA_TOOLS, ()), *providers]
    for provider in providers:
        click.echo(f"using MCP server {provider.label}", err=True)
    return original(*args, **kwargs)


async def _list(providers: Sequence[MCPTools]) -> list[MCPTool]:
    """Start the servers, take their tools, stop them (also on failure)."""
    from .tool import MCPServerError

    tools: list[MCPTool] = []
    try:
        for provider in providers:
            try:
                tools.extend(await provider.start())
            except MCPServerError as exc:
                raise click.ClickException(str(exc)) from None
    finally:
        for provider in providers:
            try:
                await asyncio.wait_for(provider.stop(), _STOP_TIMEOUT_S)
            except Exception as exc:  # one that fails to stop must not keep the others
                click.echo(f"MCP server {provider.label} did not stop cleanly: {exc}", err=True)
    return tools


def _tools(
    original: Callable[..., Any], providers: list[MCPTools], *args: Any, **kwargs: Any
) -> None:
    tools = asyncio.run(_list(providers))
    if kwargs.get("as_json"):
        specs = [
            {"name": t.name, "description": t.description, "parameters": t.spec.parameters}
            for t in tools
        ]
        click.echo(json.dumps({"tools": specs}, indent=2, sort_keys=True))
        return
    for tool in tools:
        click.echo(
            f"{tool.name}  {tool.description.splitlines()[0] if tool.description else ''}".rstrip()
        )


def extend_chat(command: click.Command) -> None:
    """``fullduplex chat --mcp/--mcp-url/--mcp-header``."""
    _extend(command, _chat)


def extend_tools(command: click.Command) -> None:
    """``fullduplex tools --mcp/--mcp-url``: list the servers' tools."""
    _extend(command, _tools)


__all__ = ["EXTRA_TOOLS", "extend_chat", "extend_tools", "parse_headers", "providers_from"]
