"""What both channels share: building the agent for a call, running it, timing the answer."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from fullduplex.errors import ConfigurationError

from .metrics import ServeMetrics

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.io import BidiInput, BidiOutput

logger = logging.getLogger("fullduplex.serve")

#: builds the agent of one call; sync or async, called once per call
AgentFactory: TypeAlias = Callable[[], "BidiAgent | Awaitable[BidiAgent]"]


async def build_agent(factory: AgentFactory) -> BidiAgent:
    """Call the factory (awaiting it when it is async) and check what it returned."""
    from fullduplex.agent import BidiAgent

    made = factory()
    if inspect.isawaitable(made):
        made = await made
    if not isinstance(made, BidiAgent):
        raise ConfigurationError(
            f"agent_factory: returned {type(made).__name__}; accepted: a BidiAgent "
            "(or an awaitable of one)"
        )
    return made


async def run_call(
    agent: BidiAgent,
    source: BidiInput,
    sink: BidiOutput,
    metrics: ServeMetrics,
    channel: str,
) -> None:
    """One conversation from start to end, counted in the metrics; failures are logged."""
    metrics.calls.labels(channel).inc()
    active = metrics.active_calls.labels(channel)
    active.inc()
    try:
        await agent.run(inputs=[source], outputs=[sink])
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("%s call: the conversation failed", channel)
    finally:
        active.dec()


class FirstAudioClock:
    """Time from the end of the user's speech to the first audio sent back."""

    def __init__(self, metrics: ServeMetrics, channel: str) -> None:
        self._histogram = metrics.time_to_first_audio.labels(channel)
        self._speech_ended: float | None = None

    def speech_ended(self) -> None:
        self._speech_ended = time.monotonic()

    def audio_sent(self) -> None:
        if self._speech_ended is not None:
            self._histogram.observe(time.monotonic() - self._speech_ended)
            self._speech_ended = None


def close_soon(close: Callable[[], Awaitable[None]]) -> Callable[[object], None]:
    """A done-callback that closes the socket once the conversation is over."""
    tasks: set[asyncio.Task[None]] = set()

    async def _close() -> None:
        try:
            await close()
        except Exception:  # already closed by the peer: nothing left to do
            logger.debug("closing the socket after the conversation failed", exc_info=True)

    def callback(_done: object) -> None:
        task = asyncio.get_running_loop().create_task(_close())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return callback


__all__ = ["AgentFactory", "FirstAudioClock", "build_agent", "close_soon", "logger", "run_call"]
