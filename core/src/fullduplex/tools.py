"""Tools the model can call: the public face of the tool modules.

- :mod:`fullduplex.tool_types` -- ``ToolSpec``, ``ToolCall``, ``ToolVeto``, ``ToolContext``;
- :mod:`fullduplex.tool_schema` -- the JSON schema from hints and docstring (pydantic);
- :mod:`fullduplex.tool_results` -- results as strict JSON, error results;
- :mod:`fullduplex.agent_tool` -- ``@tool`` and :class:`AgentTool`.

Those know nothing of plugins. This module sits above the registry: it adds
:func:`as_tools` (an agent's ``tools=`` may name registered tools) and
resolves plugin-provided tools on attribute access, so
``from fullduplex.tools import calculator`` works like the seed's imports.
It also defines the one built-in tool, :func:`stop_conversation`, and sorts
an agent's ``tools=`` into tools and tool providers (:func:`split_tools`;
:class:`~fullduplex.tool_providers.ToolProvider`, re-exported here, is a source
of tools with a lifetime, such as an MCP server, that the agent starts and stops).

A tool may declare a parameter annotated :class:`ToolContext` (left out of
the schema) to reach the agent, its call id, per-call state, and
``request_stop()``. pydantic is imported only when a tool's schema is first
needed, asyncio and the events when a tool first runs, so ``import
fullduplex.tools`` -- and defining tools -- stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

from .agent_tool import AgentTool, tool
from .errors import ToolError
from .tool_types import ToolCall, ToolContext, ToolSpec, ToolVeto

if TYPE_CHECKING:
    from .tool_providers import ToolProvider, ToolsChanged
    from .tool_results import (
        as_json_result,
        error_content,
        error_result,
        is_json,
        result_content,
    )

#: the result helpers, re-exported on first access (they import the events)
_RESULT_HELPERS = frozenset(
    {"as_json_result", "error_content", "error_result", "is_json", "result_content"}
)


#: one entry of an agent's ``tools=``
ToolItem: TypeAlias = "AgentTool | Callable[..., Any] | str | ToolProvider"


def split_tools(
    tools: Iterable[ToolItem] | None,
) -> tuple[list[AgentTool], list[ToolProvider]]:
    """Sort an agent's ``tools=`` into tools and tool providers (kept apart, unstarted).

    Tools may be AgentTools, plain functions or registered names; a
    :class:`~fullduplex.tool_providers.ToolProvider` (an MCP server, say) is
    kept as it is, for the agent to start. Raises :class:`ToolError` when two
    tools share a name, or when one provider object is given twice.
    """
    result: list[AgentTool] = []
    providers: list[ToolProvider] = []
    seen: dict[str, AgentTool] = {}
    for item in tools or ():
        if isinstance(item, AgentTool):
            agent_tool = item
        elif isinstance(item, str):
            from .lookup import get_tool

            agent_tool = get_tool(item)
        elif _looks_like_provider(item):
            from .tool_providers import provider_label

            if any(item is p for p in providers):
                raise ToolError(
                    f"tools: provider {provider_label(item)} is given twice; give it once"
                )
            providers.append(item)  # type: ignore[arg-type]  # checked just above
            continue
        elif callable(item):
            agent_tool = AgentTool(item)
        else:
            raise ToolError(
                f"tools: expected a @tool function, a plain function, a registered tool "
                f"name or a tool provider (such as an MCP server), got {type(item).__name__}"
            )
        if agent_tool.name in seen:
            raise ToolError(f"tools: two tools are named {agent_tool.name!r}; names must be unique")
        seen[agent_tool.name] = agent_tool
        result.append(agent_tool)
    return result, providers


def as_tools(tools: Iterable[ToolItem] | None) -> list[AgentTool]:
    """Normalise ``tools=`` to AgentTools: functions, @tools, or registered names.

    Raises :class:`ToolError` when two tools share a name, and for a tool
    provider: it has no tools until started, which :class:`~fullduplex.agent.BidiAgent`
    does (use :func:`split_tools` to take providers too).
    """
    result, providers = split_tools(tools)
    if providers:
        from .tool_providers import provider_label

        raise ToolError(
            f"tools: {provider_label(providers[0])} is a tool provider, whose tools exist "
            "once it is started; give it to BidiAgent(tools=[...]), which starts and stops it"
        )
    return result


def _looks_like_provider(item: object) -> bool:
    """A tool provider, checked without importing asyncio for ordinary tools."""
    if not hasattr(item, "on_change"):
        return False
    from .tool_providers import is_tool_provider

    return is_tool_provider(item)


@tool
async def stop_conversation(context: ToolContext) -> str:
    """Stop the conversation and close the connection.

    Call this when the user says goodbye or asks to stop, end or hang up.
    """
    context.request_stop()
    return "Stopping the conversation."


def __getattr__(name: str) -> Any:
    """The result helpers, and plugin-provided tools (``calculator``...) through the registry."""
    if name in ("ToolProvider", "ToolsChanged"):
        from . import tool_providers

        value = getattr(tool_providers, name)
        globals()[name] = value
        return value
    if name in _RESULT_HELPERS:
        from . import tool_results

        value = getattr(tool_results, name)
        globals()[name] = value
        return value
    from .exports import resolve_export

    return resolve_export("tools", name, __name__)


__all__ = [
    "AgentTool",
    "ToolCall",
    "ToolContext",
    "ToolProvider",
    "ToolSpec",
    "ToolVeto",
    "ToolsChanged",
    "as_json_result",
    "as_tools",
    "error_content",
    "error_result",
    "is_json",
    "result_content",
    "split_tools",
    "stop_conversation",
    "tool",
]
