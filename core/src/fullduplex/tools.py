"""Tools the model can call: the public face of the tool modules.

- :mod:`fullduplex.tool_types` -- ``ToolSpec``, ``ToolCall``, ``ToolVeto``, ``ToolContext``;
- :mod:`fullduplex.tool_schema` -- the JSON schema from hints and docstring (pydantic);
- :mod:`fullduplex.tool_results` -- results as strict JSON, error results;
- :mod:`fullduplex.agent_tool` -- ``@tool`` and :class:`AgentTool`.

Those know nothing of plugins. This module sits above the registry: it adds
:func:`as_tools` (an agent's ``tools=`` may name registered tools) and
resolves plugin-provided tools on attribute access, so
``from fullduplex.tools import calculator`` works like the seed's imports.
It also defines the one built-in tool, :func:`stop_conversation`.

A tool may declare a parameter annotated :class:`ToolContext` (left out of
the schema) to reach the agent, its call id, per-call state, and
``request_stop()``. pydantic is imported only when a tool's schema is first
needed, asyncio and the events when a tool first runs, so ``import
fullduplex.tools`` -- and defining tools -- stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .agent_tool import AgentTool, tool
from .errors import ToolError
from .tool_types import ToolCall, ToolContext, ToolSpec, ToolVeto

if TYPE_CHECKING:
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


def as_tools(tools: Iterable[AgentTool | Callable[..., Any] | str] | None) -> list[AgentTool]:
    """Normalise an agent's ``tools=``: AgentTools, plain functions, or registered names.

    Raises :class:`ToolError` when two tools share a name.
    """
    result: list[AgentTool] = []
    seen: dict[str, AgentTool] = {}
    for item in tools or ():
        if isinstance(item, AgentTool):
            agent_tool = item
        elif isinstance(item, str):
            from .lookup import get_tool

            agent_tool = get_tool(item)
        elif callable(item):
            agent_tool = AgentTool(item)
        else:
            raise ToolError(
                f"tools: expected a @tool function, a plain function or a registered tool "
                f"name, got {type(item).__name__}"
            )
        if agent_tool.name in seen:
            raise ToolError(f"tools: two tools are named {agent_tool.name!r}; names must be unique")
        seen[agent_tool.name] = agent_tool
        result.append(agent_tool)
    return result


@tool
async def stop_conversation(context: ToolContext) -> str:
    """Stop the conversation and close the connection.

    Call this when the user says goodbye or asks to stop, end or hang up.
    """
    context.request_stop()
    return "Stopping the conversation."


def __getattr__(name: str) -> Any:
    """The result helpers, and plugin-provided tools (``calculator``...) through the registry."""
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
    "ToolSpec",
    "ToolVeto",
    "as_json_result",
    "as_tools",
    "error_content",
    "error_result",
    "is_json",
    "result_content",
    "stop_conversation",
    "tool",
]
