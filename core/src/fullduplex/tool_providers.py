"""Tool providers: sources of tools that live as long as a conversation.

A ``@tool`` exists before the conversation. Some tools exist only while
something runs -- an MCP server's process or HTTP session -- and may change
while the conversation goes on. :class:`ToolProvider` is the smallest contract
the agent needs to own such a source: ``start()`` it before the model
connects (its tools join the session's tools), ``stop()`` it with the agent,
and hear through ``on_change`` when its tool list changes.

``BidiAgent(tools=[provider, calculator])`` takes providers beside ordinary
tools; :class:`ProviderTools` is the agent's part that starts them (bounded,
cancellable), merges their tools with the local ones (a name two sources
share is a :class:`~fullduplex.errors.ToolError` naming both), hands a changed
list to the agent, and stops them (bounded). A provider belongs to one agent
at a time: the agent that starts it also stops it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from .agent_tool import AgentTool
from .errors import ToolError

logger = logging.getLogger("fullduplex.tool_providers")

#: called with a provider's whole new tool list after it changed
ToolsChanged = Callable[[Sequence[AgentTool]], Awaitable[None] | None]


@runtime_checkable
class ToolProvider(Protocol):
    """A source of :class:`~fullduplex.tools.AgentTool` objects with a lifetime.

    An optional ``label`` attribute names it in messages (else its ``repr``).
    """

    async def start(self) -> Sequence[AgentTool]:
        """Bring the source up and return its tools (idempotent once started)."""
        ...

    async def stop(self) -> None:
        """Release everything :meth:`start` acquired; safe to call twice or unstarted."""
        ...

    def on_change(self, callback: ToolsChanged) -> None:
        """Call ``callback`` with the whole new tool list whenever the tools change."""
        ...


def is_tool_provider(item: object) -> bool:
    """Whether ``item`` is a provider instance (not a tool, not a provider class)."""
    return (
        not isinstance(item, AgentTool | type)
        and isinstance(item, ToolProvider)  # the cheaper checks first: this one is slow
    )


def provider_label(provider: object) -> str:
    """How messages name a provider: its ``label``, else its ``repr``."""
    label = getattr(provider, "label", None)
    return repr(label) if isinstance(label, str) and label else repr(provider)


def merge_tools(
    local: Sequence[AgentTool], provided: Sequence[tuple[object, Sequence[AgentTool]]]
) -> list[AgentTool]:
    """The local tools, then each provider's; raises ToolError when two share a name."""
    merged: list[AgentTool] = []
    owners: dict[str, str] = {}
    sources: list[tuple[str, Sequence[AgentTool]]] = [("the local tool", local)]
    sources.extend((f"the tool of provider {provider_label(p)}", tools) for p, tools in provided)
    for owner, tools in sources:
        for item in tools:
            if not isinstance(item, AgentTool):
                raise ToolError(
                    f"tools: {owner.removeprefix('the tool of ')} gave "
                    f"{type(item).__name__}; accepted: AgentTool objects"
                )
            first = owners.get(item.name)
            if first is not None:
                raise ToolError(
                    f"tools: two tools are named {item.name!r}: {first} and {owner}; "
                    "names must be unique (a provider's prefix option keeps them apart)"
                )
            owners[item.name] = owner
            merged.append(item)
    return merged


#: what the agent does with a new merged tool list
OnToolsReplaced = Callable[[list[AgentTool]], Awaitable[None]]


class ProviderTools:
    """The agent's tool providers: start, merge, follow changes, stop.

    ``on_replaced`` hears the whole merged list after a provider's change
    while the providers are up; a change that would clash names is refused
    (logged, the previous list stays).
    """

    def __init__(
        self,
        local: Sequence[AgentTool],
        providers: Sequence[ToolProvider],
        on_replaced: OnToolsReplaced,
    ) -> None:
        self.local = list(local)
        self.providers = list(providers)
        self._on_replaced = on_replaced
        #: each provider's current tools while they are up; None when down
        self._current: list[Sequence[AgentTool]] | None = None
        for index, provider in enumerate(self.providers):
            provider.on_change(functools.partial(self._changed, index))

    def __bool__(self) -> bool:
        return bool(self.providers)

    def merged(self) -> list[AgentTool]:
        """The tool set now: the local tools, plus the providers' while they are up."""
        current = self._current
        if current is None:
            return list(self.local)
        return merge_tools(self.local, list(zip(self.providers, current, strict=True)))

    async def start(self, timeout_s: float, stop_timeout_s: float) -> list[AgentTool]:
        """Start every provider at once; return the merged tools.

        Raises :class:`ToolError` naming a provider that failed or did not
        start within ``timeout_s``. On any failure or cancellation the starts
        still under way are cancelled (waited for at most ``stop_timeout_s``);
        stopping the providers is the caller's (:meth:`stop`).
        """
        if not self.providers:
            self._current = []
            return list(self.local)
        tasks = [
            asyncio.create_task(_start_one(p), name=f"fullduplex-tool-provider-{i}")
            for i, p in enumerate(self.providers)
        ]
        try:
            done, pending = await asyncio.wait(
                tasks, timeout=timeout_s, return_when=asyncio.FIRST_EXCEPTION
            )
            for task, provider in zip(tasks, self.providers, strict=True):
                if task not in done:
                    continue
                if task.cancelled():
                    raise ToolError(
                        f"tools: provider {provider_label(provider)} did not start: its "
                        "start() was cancelled"
                    )
                error = task.exception()
                if error is not None:
                    raise ToolError(
                        f"tools: provider {provider_label(provider)} did not start: {error}"
                    ) from error
            if pending:
                late = ", ".join(
                    provider_label(p)
                    for t, p in zip(tasks, self.providers, strict=True)
                    if t in pending
                )
                raise ToolError(
                    f"tools: provider {late} did not start within {timeout_s:g} s "
                    "(tool_start_timeout_s)"
                )
            current = [task.result() for task in tasks]
            merged = merge_tools(self.local, list(zip(self.providers, current, strict=True)))
        finally:
            running = [task for task in tasks if not task.done()]
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=stop_timeout_s)
            for task in tasks:  # retrieved, so none is logged as "never retrieved"
                if task.done() and not task.cancelled():
                    task.exception()
        self._current = current
        return merged

    async def stop(self, timeout_s: float) -> None:
        """Stop every provider at once, waiting at most ``timeout_s``; never raises."""
        self._current = None
        if not self.providers:
            return
        tasks = [
            asyncio.create_task(_stop_one(p), name=f"fullduplex-tool-provider-stop-{i}")
            for i, p in enumerate(self.providers)
        ]
        done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
            logger.warning(
                "tool providers did not stop within %g s: %s",
                timeout_s,
                ", ".join(
                    provider_label(p)
                    for t, p in zip(tasks, self.providers, strict=True)
                    if t in pending
                ),
            )
        for task, provider in zip(tasks, self.providers, strict=True):
            error = task.exception() if task in done and not task.cancelled() else None
            if error is not None:
                label = provider_label(provider)
                logger.warning("tool provider %s failed to stop: %r", label, error)

    async def _changed(self, index: int, tools: Sequence[AgentTool]) -> None:
        """A provider's new list: merge it and hand it on (only while the providers are up)."""
        current = self._current
        if current is None:
            return
        proposed = list(current)
        proposed[index] = list(tools)
        try:
            merged = merge_tools(self.local, list(zip(self.providers, proposed, strict=True)))
        except ToolError as exc:
            logger.error("the changed tool list was refused, the previous one stays: %s", exc)
            return
        self._current = proposed
        await self._on_replaced(merged)


async def _start_one(provider: ToolProvider) -> Sequence[AgentTool]:
    tools = provider.start()
    if not inspect.isawaitable(tools):
        raise ToolError("start() must be a coroutine function returning the tools")
    return list(await tools)


async def _stop_one(provider: ToolProvider) -> None:
    await provider.stop()


__all__ = [
    "ProviderTools",
    "ToolProvider",
    "ToolsChanged",
    "is_tool_provider",
    "merge_tools",
    "provider_label",
]
