"""``--mcp COMMAND`` / ``--mcp-url URL`` on ``fullduplex chat`` and ``fullduplex tools``.

The plugin adds the options to the existing commands from its
``register_commands`` hook (no core command names a plugin): ``chat`` then
runs with the servers' tools besides its own (handed over in
``ctx.meta[EXTRA_TOOLS]``), ``tools`` lists what the servers offer.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shlex
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .client import MCPTools
    from .tool import MCPTool

#: where ``fullduplex chat`` looks for tools that plugins extending it add
EXTRA_TOOLS = "fullduplex.chat.extra_tools"
_EXTENDED = "_fullduplex_mcp_extended"


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
    ]


def providers_from(commands: Sequence[str], urls: Sequence[str]) -> list[MCPTools]:
    """One provider per ``--mcp`` command line and per ``--mcp-url``."""
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
        providers.append(MCPTools.http(url))
    return providers


@contextlib.contextmanager
def running(providers: Sequence[MCPTools]) -> Iterator[list[MCPTool]]:
    """The providers' tools while the block runs; a server that fails is a one-line error."""
    from .bridge import ThreadedProviders
    from .tool import MCPServerError

    try:
        with ThreadedProviders(providers) as tools:
            for provider in providers:
                click.echo(f"using MCP server {provider.label}", err=True)
            yield tools
    except MCPServerError as exc:
        raise click.ClickException(str(exc)) from None


def _extend(command: click.Command, run: Callable[..., Any]) -> None:
    """Add the options to ``command`` once; ``run(original, tools, **kwargs)`` handles them."""
    if getattr(command, _EXTENDED, False) or command.callback is None:
        return
    command.params.extend(_options())
    original = command.callback

    @functools.wraps(original)
    def callback(
        *args: Any, mcp_commands: Sequence[str] = (), mcp_urls: Sequence[str] = (), **kwargs: Any
    ) -> Any:
        providers = providers_from(mcp_commands, mcp_urls)
        if not providers:
            return original(*args, **kwargs)
        with running(providers) as tools:
            return run(original, tools, *args, **kwargs)

    command.callback = callback
    setattr(command, _EXTENDED, True)


def _chat(original: Callable[..., Any], tools: list[MCPTool], *args: Any, **kwargs: Any) -> Any:
    ctx = click.get_current_context()
    ctx.meta[EXTRA_TOOLS] = [*ctx.meta.get(EXTRA_TOOLS, ()), *tools]
    return original(*args, **kwargs)


def _tools(original: Callable[..., Any], tools: list[MCPTool], *args: Any, **kwargs: Any) -> None:
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
    """``fullduplex chat --mcp/--mcp-url``."""
    _extend(command, _chat)


def extend_tools(command: click.Command) -> None:
    """``fullduplex tools --mcp/--mcp-url``: list the servers' tools."""
    _extend(command, _tools)


__all__ = ["EXTRA_TOOLS", "extend_chat", "extend_tools", "providers_from", "running"]
