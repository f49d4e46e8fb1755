"""The agent's tool calls in flight: started as tasks, answered exactly once.

Kept apart from the conversation loop because its rules are its own: a call
runs as a task while the conversation goes on; its result (an error, a
timeout, a veto or a cancellation included) reaches the model and the history
exactly once, also across a reconnect; ``stop()`` lets calls that asked to end
the conversation finish and cancels the rest, each wait bounded. A call the
server withdraws (:class:`~fullduplex.events.BidiToolCancelEvent`) is the one
exception to "answered to the model": it is cancelled, recorded as cancelled
in the history, and no result is sent (the server waits for none). What one
call does (hooks, time limit, JSON) is :func:`._tool_runner.execute_call`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

import attrs

from ._tool_runner import execute_call
from .errors import ModelError
from .events import ToolResultEvent, ToolUseStreamEvent
from .messages import tool_result_message, tool_use_message
from .tools import AgentTool, ToolCall, ToolContext, error_result

if TYPE_CHECKING:
    from .agent import BidiAgent

logger = logging.getLogger("fullduplex.agent")

#: withdrawn call ids remembered (a withdrawal may come before its call's last delta)
_MAX_WITHDRAWN = 256


@attrs.define(slots=True)
class RunningTool:
    task: asyncio.Task[None]
    call: ToolCall
    tool: AgentTool | None
    context: ToolContext


class ToolCalls:
    """The tool calls of one conversation (one instance per ``start()``)."""

    def __init__(self, agent: BidiAgent) -> None:
        self._agent = agent
        #: calls still running, by call id
        self.running: dict[str, RunningTool] = {}
        #: every task ever started (also those that outlived their cancellation)
        self._tasks: set[asyncio.Task[None]] = set()
        self._answered: set[str] = set()
        #: calls the server withdrew: never answered to the model
        self._withdrawn: set[str] = set()
        self._withdrawn_order: deque[str] = deque()

    async def start(self, event: ToolUseStreamEvent) -> None:
        """Run the finished call ``event`` as a task (once per call id)."""
        agent = self._agent
        if agent._stopping or event.call_id in self.running or event.call_id in self._answered:
            return
        if event.call_id in self._withdrawn:
            return  # withdrawn before it was complete: nothing to run
        call = ToolCall.from_model(event.call_id, event.name, event.arguments, event.response_id)
        recorded_input: object = (
            call.arguments if call.arguments or not call.raw_arguments else call.raw_arguments
        )
        await agent._record(tool_use_message(call.call_id, call.name, recorded_input))
        context = ToolContext(agent, call.call_id, call.name, {}, on_stop=agent.request_stop)
        task = asyncio.create_task(self._run(call, context), name=f"tool-{call.name}")
        self.running[call.call_id] = RunningTool(
            task, call, agent._tools_by_name.get(call.name), context
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        agent._turn.activity.set()

    def withdraw(self, call_ids: tuple[str, ...]) -> None:
        """The server withdrew ``call_ids``: cancel exactly those that still run.

        Each is then recorded as cancelled and answered to no one (``_run``);
        an id already answered is left alone, an unknown one remembered so a
        late start of it is skipped.
        """
        for call_id in call_ids:
            if call_id in self._answered or call_id in self._withdrawn:
                continue
            self._withdrawn.add(call_id)
            self._withdrawn_order.append(call_id)
            if len(self._withdrawn_order) > _MAX_WITHDRAWN:
                self._withdrawn.discard(self._withdrawn_order.popleft())
            entry = self.running.get(call_id)
            if entry is not None:
                entry.task.cancel()

    def cancel_on_interruption(self) -> None:
        """Cancel the running calls whose tool asked to be cancelled on interruption."""
        for entry in list(self.running.values()):
            if entry.tool is not None and entry.tool.cancel_on_interruption:
                entry.task.cancel()

    async def _run(self, call: ToolCall, context: ToolContext) -> None:
        agent = self._agent
        try:
            result = await execute_call(
                agent, agent._hooks, agent._tools_by_name, call, context, agent.tool_timeout_s
            )
        except asyncio.CancelledError:
            if call.call_id in self._withdrawn:
                reason = "withdrawn by the model"
            elif agent._stopping:
                reason = "stopped with the conversation"
            else:
                reason = "interrupted"
            result = error_result(call, f"tool call cancelled ({reason})", "cancelled")
        except Exception as exc:
            logger.exception("tool %s failed outside its own handling", call.name)
            result = error_result(call, f"tool {call.name!r} failed: {exc}")
        stop_task = agent._stop_task
        if stop_task is not None and stop_task.done():
            # it ignored its cancellation and outlived stop(): nobody takes it now
            logger.warning("tool %s finished after the agent stopped; result dropped", call.name)
            return
        # From here on the call cannot be cancelled (it is no longer listed as
        # running): its result must reach the model and the history.
        withdrawn = call.call_id in self._withdrawn
        if withdrawn:
            # the server withdrew it: whatever the tool returned is recorded as
            # cancelled, and no follow-up is owed for it
            result = error_result(call, "tool call cancelled (withdrawn by the model)", "cancelled")
        elif not agent._over():
            agent._turn.awaiting_followup = True
        self.running.pop(call.call_id, None)
        try:
            await self._answer(call, result)
        except ModelError:
            logger.debug("tool result for %s not delivered: the model failed", call.call_id)
        finally:
            agent._turn.activity.set()

    async def _answer(self, call: ToolCall, result: ToolResultEvent) -> None:
        """Record the result and give it to the model, once per call."""
        if call.call_id in self._answered:
            return
        self._answered.add(call.call_id)
        agent = self._agent
        message = tool_result_message(call.call_id, result.status, result.content)
        if agent._over() or call.call_id in self._withdrawn:
            await agent._record(message)
        else:
            await agent._deliver(result, message)
        agent._emit(result)

    async def stop(self, bound: float) -> None:
        """Let calls that asked to stop finish; cancel the rest (history keeps them).

        Bounded by ``bound`` seconds each way: a tool that swallows its
        cancellation is left behind (logged) rather than holding ``stop()``.
        """
        running = list(self.running.values())
        finishing = [r.task for r in running if r.context.stop_requested]
        if finishing:
            await asyncio.wait(finishing, timeout=bound)
        for entry in running:
            entry.task.cancel()
        tasks = list(self._tasks)
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=bound)
            if late:
                logger.warning(
                    "%d tool call(s) ignored cancellation; stop() does not wait for them "
                    "beyond output_drain_timeout_s=%g s",
                    len(late),
                    bound,
                )
