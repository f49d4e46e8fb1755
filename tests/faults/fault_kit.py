"""What every fault-matrix test needs: the agent over real loopback websockets, a watcher of
what reaches the user, and readers of the history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fullduplex import BidiAgent
from fullduplex.events import (
    BidiConnectionRestartEvent,
    BidiOutputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
)
from fullduplex.tools import tool
from fullduplex_openai import BidiOpenAIRealtimeModel

KEY = "sk-fault-matrix-DO-NOT-LOG-0000"

#: fast keepalive for the stall tests (the default is 20 s + 20 s)
KEEPALIVE = {"ping_interval_s": 0.2, "ping_timeout_s": 0.4}


def make_model(base_url: str, key: str = KEY, **client: Any) -> BidiOpenAIRealtimeModel:
    return BidiOpenAIRealtimeModel(
        client_config={"api_key": key, "base_url": base_url, "connect_timeout_s": 3, **client}
    )


def make_agent(
    model: BidiOpenAIRealtimeModel,
    *,
    max_restarts: int = 3,
    tools: list[Any] | None = None,
    **kwargs: Any,
) -> BidiAgent:
    """An agent that reconnects at once (the backoff is not under test here)."""
    return BidiAgent(
        model,
        tools=tools if tools is not None else [fast_lookup, slow_lookup],
        max_restarts=max_restarts,
        restart_backoff_s=0.01,
        **kwargs,
    )


@tool
async def fast_lookup(key: str) -> str:
    """Look a key up at once."""
    return f"fast:{key}"


@tool
async def slow_lookup(key: str) -> str:
    """Look a key up slowly (long enough to outlive a dropped connection)."""
    await asyncio.sleep(0.4)
    return f"slow:{key}"


class Watch:
    """Iterates ``agent.receive()`` in a task: what reached the user, and how it ended."""

    def __init__(self, agent: BidiAgent) -> None:
        self.agent = agent
        self.events: list[BidiOutputEvent] = []
        self.error: BaseException | None = None
        self.ended = asyncio.Event()
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name="fault-matrix-watch")

    async def _run(self) -> None:
        try:
            async for event in self.agent.receive():
                self.events.append(event)
                self._changed.set()
        except Exception as exc:
            self.error = exc
        finally:
            self.ended.set()
            self._changed.set()

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        """Wait until ``predicate()`` holds (or the conversation ended: then fail)."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    if self.ended.is_set():
                        raise AssertionError(
                            f"the conversation ended ({self.error!r}) before: {what}; "
                            f"events: {[e.type for e in self.events]}"
                        )
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"not within {timeout:g} s: {what}; events: {[e.type for e in self.events]}"
            ) from None

    async def said(self, text: str, timeout: float = 10) -> None:
        await self.until(lambda: text in self.answers(), f"the assistant said {text!r}", timeout)

    async def end(self, timeout: float = 10) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.ended.wait()
        except TimeoutError:
            raise AssertionError(f"receive() did not end within {timeout:g} s") from None

    def answers(self) -> list[str]:
        return [
            e.text
            for e in self.events
            if isinstance(e, BidiTranscriptStreamEvent) and e.is_final and e.role == "assistant"
        ]

    def restarts(self) -> list[BidiConnectionRestartEvent]:
        return [e for e in self.events if isinstance(e, BidiConnectionRestartEvent)]

    def results(self, call_id: str) -> list[ToolResultEvent]:
        return [e for e in self.events if isinstance(e, ToolResultEvent) and e.call_id == call_id]

    async def close(self) -> None:
        await self.agent.stop()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        block["text"]
        for message in messages
        if message["role"] == "user"
        for block in message["content"]
        if "text" in block
    ]


def assistant_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        block["text"]
        for message in messages
        if message["role"] == "assistant"
        for block in message["content"]
        if "text" in block
    ]


def tool_results(messages: list[dict[str, Any]], call_id: str) -> list[dict[str, Any]]:
    return [
        block["toolResult"]
        for message in messages
        for block in message["content"]
        if "toolResult" in block and block["toolResult"]["toolUseId"] == call_id
    ]


def tool_uses(messages: list[dict[str, Any]], call_id: str) -> list[dict[str, Any]]:
    return [
        block["toolUse"]
        for message in messages
        for block in message["content"]
        if "toolUse" in block and block["toolUse"]["toolUseId"] == call_id
    ]


def leftover_tasks(before: set[asyncio.Task[Any]]) -> list[str]:
    """Tasks started since ``before`` that are still running (the current one excluded)."""
    current = asyncio.current_task()
    return [
        task.get_name()
        for task in asyncio.all_tasks()
        if task is not current and task not in before and not task.done()
    ]
