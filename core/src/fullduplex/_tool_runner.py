"""Running one tool call for the agent, with the hooks around it.

Kept apart from the agent loop because it is pure policy: ask the
``before_tool_call`` hooks (veto, or a replacement call), find the tool, run
it within its time limit, let the ``after_tool_call`` hooks replace the
result, and make sure the result answers the call the model made (its ids),
whatever a hook returned, with content that is strict JSON.
Every failure is a result, never an exception;
cancellation propagates to the agent, which reports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from ._hooks import LifecycleHooks
from .events import ToolResultEvent
from .tools import AgentTool, ToolCall, ToolContext, ToolVeto, as_json_result, error_result

if TYPE_CHECKING:
    from .agent import BidiAgent


async def execute_call(
    agent: BidiAgent,
    hooks: LifecycleHooks,
    tools: Mapping[str, AgentTool],
    call: ToolCall,
    context: ToolContext,
    default_timeout_s: float | None,
) -> ToolResultEvent:
    """The result of ``call`` for the model (an error result when anything fails)."""
    actual = call
    for answer in await hooks.call("before_tool_call", agent=agent, call=call):
        if isinstance(answer, ToolVeto):
            return error_result(call, f"the call to {call.name!r} was refused: {answer.reason}")
        if isinstance(answer, ToolCall) and actual is call:
            actual = answer
    tool = tools.get(actual.name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        result = error_result(actual, f"unknown tool {actual.name!r}; available: {known}")
    elif tool.timeout_s is None and default_timeout_s is not None:
        context.tool_name = tool.name
        try:
            async with asyncio.timeout(default_timeout_s):
                result = await tool.invoke(actual, context)
        except TimeoutError:
            result = error_result(
                actual, f"tool {tool.name!r} timed out after {default_timeout_s:g} s"
            )
    else:
        context.tool_name = tool.name
        result = await tool.invoke(actual, context)
    for answer in await hooks.call("after_tool_call", agent=agent, call=actual, result=result):
        if isinstance(answer, ToolResultEvent):
            result = answer
            break
    if result.call_id != call.call_id or result.response_id != call.response_id:
        result = attrs.evolve(result, call_id=call.call_id, response_id=call.response_id)
    # whatever the tool or a hook made, the model is given strict JSON
    return as_json_result(result)
