"""The plain data of tool calling: what a tool looks like to the model, one call, a veto,
and the context a running tool may use.

The bottom of the tool modules: it imports nothing else of fullduplex, so the
provider protocols, the hook specs and the registry can name these types
without pulling in schema building, asyncio or the registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import asyncio

    from .agent import BidiAgent


@attrs.frozen(slots=True)
class ToolSpec:
    """What a provider tells the model about one tool.

    ``parameters`` is a JSON-schema object (``{"type": "object", "properties":
    ..., "required": [...]}``), as providers send it on the wire.
    """

    name: str
    description: str
    parameters: dict[str, Any]


@attrs.frozen(slots=True)
class ToolCall:
    """One call the model asked for.

    ``arguments`` is the parsed object; ``raw_arguments`` the JSON text the
    model produced (kept for logs and for replay).
    """

    call_id: str
    name: str
    arguments: dict[str, Any] = attrs.field(factory=dict)
    raw_arguments: str = ""
    response_id: str | None = None

    @classmethod
    def from_model(
        cls,
        call_id: str,
        name: str,
        arguments: str | Mapping[str, Any] | None,
        response_id: str | None = None,
    ) -> ToolCall:
        """Build a call from the model's arguments, JSON text or a mapping.

        Text that is not a JSON object is kept in ``raw_arguments`` with empty
        ``arguments``; :meth:`AgentTool.invoke` then reports the problem to the
        model.
        """
        if isinstance(arguments, Mapping):
            return cls(call_id, name, dict(arguments), json.dumps(arguments), response_id)
        raw = arguments or ""
        parsed: Any = None
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = None
        return cls(call_id, name, parsed if isinstance(parsed, dict) else {}, raw, response_id)


@attrs.frozen(slots=True)
class ToolVeto:
    """Returned by a ``before_tool_call`` hook to refuse a call; ``reason`` goes to the model."""

    reason: str


class ToolContext:
    """What a running tool may know and do besides its arguments.

    ``state`` is a dict private to this one invocation (hooks can share it
    with the tool through ``before_tool_call``/``after_tool_call``).
    ``request_stop()`` asks the agent to end the conversation once this tool
    has answered; it is safe from any thread (sync tools run in one).
    """

    __slots__ = ("_loop", "_on_stop", "agent", "call_id", "state", "stop_requested", "tool_name")

    def __init__(
        self,
        agent: BidiAgent | None,
        call_id: str,
        tool_name: str,
        state: dict[str, Any] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.agent = agent
        self.call_id = call_id
        self.tool_name = tool_name
        self.state: dict[str, Any] = {} if state is None else state
        self.stop_requested = False
        self._on_stop = on_stop
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()

    def request_stop(self) -> None:
        """Ask the agent to stop the conversation after this call."""
        self.stop_requested = True
        callback = self._on_stop
        if callback is None:
            return
        loop = self._loop
        if loop is None or _running_loop() is loop:
            callback()
        else:
            loop.call_soon_threadsafe(callback)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # asyncio is imported here, not at the top: defining and listing tools must
    # not pay for it; a context is made only while a conversation runs.
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


__all__ = ["ToolCall", "ToolContext", "ToolSpec", "ToolVeto"]
