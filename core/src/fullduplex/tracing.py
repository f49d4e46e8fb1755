"""OpenTelemetry traces of conversations (the ``fullduplex[otel]`` extra).

Pass a :class:`Tracing` among an agent's plugins::

    from fullduplex.tracing import Tracing

    agent = BidiAgent(model, tools=[...], plugins=[Tracing()])

and each conversation becomes a trace:

- ``invoke_agent {model}``: the conversation, from ``start()`` to ``stop()``,
  with the totals (turns, interruptions, reconnects, tokens);
- ``chat {model}``: one per turn (see :mod:`fullduplex.metrics`), from the end
  of the user's input to the end of the answer, with the latency figures,
  tokens, whether it was interrupted and how much was heard;
- ``execute_tool {name}``: one per tool call, inside its turn;
- ``reconnect``: one per replaced connection.

Names follow the OpenTelemetry GenAI semantic conventions where they have one
(``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
``gen_ai.response.id``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
``gen_ai.tool.name`` / ``gen_ai.tool.call.id``); the figures they lack are
``fullduplex.*``. Nothing that could hold a key or the user's words is
recorded unless ``record_content=True``: then tool arguments and results, and
each message of the history (as span events), are added too.

The module imports ``opentelemetry-api`` (install ``fullduplex[otel]``); core
never imports it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import attrs
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .agent import BidiAgent
    from .events import BidiConnectionRestartEvent, BidiTurnMetricsEvent, ToolResultEvent
    from .messages import Message
    from .tool_types import ToolCall

#: the instrumentation scope's name
SCOPE = "fullduplex"


def _provider_name(agent: BidiAgent) -> str:
    """``openai`` for ``fullduplex_openai``..., else the model class's top package."""
    package = type(agent.model).__module__.split(".", 1)[0]
    return package.removeprefix("fullduplex_")


def _wall_ns(monotonic_s: float | None) -> int:
    """A monotonic instant as wall-clock nanoseconds (what span times are)."""
    now = time.time_ns()
    if monotonic_s is None:
        return now
    return now - int(max(0.0, time.monotonic() - monotonic_s) * 1e9)


@attrs.define
class _Conversation:
    """The open spans of one agent's conversation."""

    span: Span
    model: str
    turn: Span | None = None
    tools: dict[str, Span] = attrs.field(factory=dict)


class Tracing:
    """A hook object that traces the conversations of the agents it is given to.

    Args:
        tracer_provider: where spans go (default: the global provider).
        record_content: also record tool arguments and results and the
            history's messages; off by default, since they may hold the
            user's words or secrets.
    """

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, record_content: bool = False
    ) -> None:
        self._tracer: Tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self.record_content = record_content
        self._conversations: dict[int, _Conversation] = {}

    # ------------------------------------------------------------ lifecycle
    @hookimpl
    def on_agent_start(self, agent: BidiAgent) -> None:
        model = str(getattr(agent.model, "model_id", "") or "unknown")
        span = self._tracer.start_span(
            f"invoke_agent {model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": _provider_name(agent),
                "gen_ai.request.model": model,
                "fullduplex.tools": [t.name for t in agent.tools],
            },
        )
        state = _Conversation(span, model)
        self._conversations[id(agent)] = state
        agent.metrics.subscribe(
            lambda event: self._turn_ended(state, event),
            on_start=lambda index, user_end: self._turn_started(agent, state, index, user_end),
        )

    def _current(self, agent: BidiAgent, state: _Conversation) -> bool:
        """``state`` is the agent's conversation now (not one of an earlier run)."""
        return self._conversations.get(id(agent)) is state

    @hookimpl
    def on_agent_stop(self, agent: BidiAgent) -> None:
        state = self._conversations.pop(id(agent), None)
        if state is None:
            return
        for span in state.tools.values():
            span.set_status(Status(StatusCode.ERROR, "the conversation ended first"))
            span.end()
        if state.turn is not None:
            state.turn.end()
        totals = agent.metrics.totals
        state.span.set_attributes(
            {
                "gen_ai.usage.input_tokens": totals.input_tokens,
                "gen_ai.usage.output_tokens": totals.output_tokens,
                "fullduplex.turns": totals.turns,
                "fullduplex.interruptions": totals.interruptions,
                "fullduplex.reconnects": totals.reconnects,
                "fullduplex.tool_calls": totals.tool_calls,
            }
        )
        state.span.end()

    # ---------------------------------------------------------------- turns
    def _turn_started(
        self, agent: BidiAgent, state: _Conversation, index: int, user_end: float | None
    ) -> None:
        if not self._current(agent, state):
            return
        if state.turn is not None:
            state.turn.end()  # a turn that never finished (should not happen)
        state.turn = self._tracer.start_span(
            f"chat {state.model}",
            context=trace.set_span_in_context(state.span),
            kind=SpanKind.CLIENT,
            start_time=_wall_ns(user_end),
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": _provider_name(agent),
                "gen_ai.request.model": state.model,
                "fullduplex.turn.index": index,
            },
        )

    def _turn_ended(self, state: _Conversation, event: BidiTurnMetricsEvent) -> None:
        span = state.turn
        if span is None:
            return
        state.turn = None
        attributes: dict[str, Any] = {
            "gen_ai.usage.input_tokens": event.input_tokens,
            "gen_ai.usage.output_tokens": event.output_tokens,
            "fullduplex.turn.tool_calls": event.tool_calls,
            "fullduplex.turn.interrupted": event.interrupted,
        }
        if event.response_id:
            attributes["gen_ai.response.id"] = event.response_id
        for name in ("first_audio_ms", "first_played_ms", "first_text_ms", "heard_ms"):
            value = getattr(event, name)
            if value is not None:
                attributes[f"fullduplex.turn.{name}"] = value
        span.set_attributes(attributes)
        span.end()

    # ---------------------------------------------------------------- tools
    @hookimpl
    def before_tool_call(self, agent: BidiAgent, call: ToolCall) -> None:
        state = self._conversations.get(id(agent))
        if state is None:
            return
        parent = state.turn or state.span
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.call_id,
            "gen_ai.tool.type": "function",
        }
        if self.record_content:
            attributes["gen_ai.tool.call.arguments"] = call.raw_arguments or json.dumps(
                call.arguments
            )
        state.tools[call.call_id] = self._tracer.start_span(
            f"execute_tool {call.name}",
            context=trace.set_span_in_context(parent),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )

    @hookimpl
    def after_tool_call(self, agent: BidiAgent, call: ToolCall, result: ToolResultEvent) -> None:
        state = self._conversations.get(id(agent))
        span = state.tools.pop(call.call_id, None) if state is not None else None
        if span is None:
            return
        span.set_attribute("fullduplex.tool.status", result.status)
        if self.record_content:
            span.set_attribute("gen_ai.tool.call.result", result.content)
        if result.status != "success":
            span.set_status(Status(StatusCode.ERROR, f"the tool call ended: {result.status}"))
        span.end()

    # ------------------------------------------------------- the rest
    @hookimpl
    def on_connection_restart(self, agent: BidiAgent, event: BidiConnectionRestartEvent) -> None:
        state = self._conversations.get(id(agent))
        if state is None:
            return
        span = self._tracer.start_span(
            "reconnect",
            context=trace.set_span_in_context(state.span),
            kind=SpanKind.CLIENT,
            attributes={
                "fullduplex.reconnect.attempt": event.attempt,
                "fullduplex.reconnect.reason": event.reason,
            },
        )
        span.end()

    @hookimpl
    def on_message_added(self, agent: BidiAgent, message: Message) -> None:
        if not self.record_content:
            return
        state = self._conversations.get(id(agent))
        if state is None:
            return
        role = str(message.get("role", "unknown"))
        (state.turn or state.span).add_event(
            f"gen_ai.{role}.message",
            {"gen_ai.message.content": json.dumps(message.get("content", ""), default=str)},
        )


__all__ = ["SCOPE", "Tracing"]
