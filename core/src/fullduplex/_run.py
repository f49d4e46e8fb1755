"""What ``BidiAgent.run()`` needs to know when a conversation is over.

``run()`` ends on a stop request, on the model closing, on an output failing,
or once every input is done and the answer to the last one is complete. The
last case is the subtle one, and it lives here:

- :class:`TurnState` holds the few flags that say an answer is still owed (a
  response under way, a tool result not yet answered, text or speech not yet
  answered, audio that may still be heard as speech) and the ``activity``
  event that wakes whoever waits on them. The agent's reader, ``send()`` and
  tool runner flip the flags; this module only reads them.
- :func:`wait_for_end` races the end conditions and, once the inputs are
  done, gives the conversation at most ``settle_timeout_s`` to settle.

The agent passes what it owns (its running tools, held input, the model's
``answer_pending``) as one ``in_flight`` predicate, so nothing here reaches
into the agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from ._outputs import OutputFanout
from .events import BidiInputEvent
from .io import BidiInput

logger = logging.getLogger("fullduplex.agent")


class TurnState:
    """Whether the answer to the last input is complete, and a wake-up for waiters."""

    __slots__ = (
        "active_response",
        "activity",
        "audio_since_response",
        "awaiting_answer",
        "awaiting_followup",
    )

    def __init__(self) -> None:
        #: the response being produced now, if any
        self.active_response: str | None = None
        #: a tool result was sent: the model owes a follow-up response
        self.awaiting_followup = False
        #: text was sent or speech was detected: the model owes an answer
        self.awaiting_answer = False
        #: audio was sent since the last response began (it may yet be speech)
        self.audio_since_response = False
        #: set whenever any of the above (or the agent's in-flight work) changes
        self.activity = asyncio.Event()

    def response_started(self, response_id: str) -> None:
        self.active_response = response_id
        self.awaiting_followup = False
        self.awaiting_answer = False
        self.audio_since_response = False
        self.activity.set()

    def response_completed(self, response_id: str) -> None:
        if self.active_response in (None, response_id):
            self.active_response = None
        self.activity.set()

    def answer_owed(self) -> None:
        """Text was sent or speech detected: an answer is coming."""
        self.awaiting_answer = True
        self.activity.set()

    def connection_replaced(self) -> None:
        """The connection was replaced: the old one's response (and the follow-up it
        owed) will not arrive on the new one."""
        self.active_response = None
        self.awaiting_followup = False
        self.activity.set()

    def settled(self, in_flight: Callable[[], bool]) -> bool:
        """The answer to the last input is complete and nothing is in flight."""
        return not (
            self.active_response is not None
            or self.awaiting_followup
            or self.awaiting_answer
            or in_flight()
        )

    async def wait_settled(
        self, in_flight: Callable[[], bool], *, audio_input: bool, audio_grace_s: float
    ) -> None:
        """Wait until settled. Audio sent since the last response may still bring
        one (the provider's voice detection lags): wait ``audio_grace_s`` for a
        sign of it (speech detected, a response) before calling it settled."""
        loop = asyncio.get_running_loop()
        grace_until = loop.time() + audio_grace_s
        while True:
            self.activity.clear()
            audio_wait = self.audio_since_response and audio_input and loop.time() < grace_until
            if self.settled(in_flight) and not audio_wait:
                return
            timeout = grace_until - loop.time() if audio_wait and self.settled(in_flight) else None
            try:
                async with asyncio.timeout(timeout):
                    await self.activity.wait()
            except TimeoutError:
                pass


async def pump_input(source: BidiInput, send: Callable[[BidiInputEvent], Awaitable[None]]) -> None:
    """Hand every event of ``source`` to ``send`` until the input is finished."""
    while True:
        event = await source()
        if event is None:
            return
        await send(event)


async def wait_for_end(
    pumps: Sequence[asyncio.Task[None]],
    fanout: OutputFanout,
    *,
    stop_requested: asyncio.Event,
    closed: asyncio.Event,
    settle: Callable[[], Coroutine[Any, Any, None]],
    settle_timeout_s: float,
) -> BaseException | None:
    """Wait for the end of ``run()``; return an input's or output's failure."""
    waiters: list[asyncio.Future[Any]] = [
        asyncio.create_task(stop_requested.wait()),
        asyncio.create_task(closed.wait()),
        asyncio.create_task(fanout.failed.wait()),
    ]
    inputs_done: asyncio.Future[Any] | None = None
    try:
        if pumps:
            inputs_done = asyncio.gather(*pumps)
            await asyncio.wait({*waiters, inputs_done}, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if inputs_done is not None and inputs_done.done():
            if inputs_done.exception() is not None:
                return inputs_done.exception()
            if not any(w.done() for w in waiters):
                settling = asyncio.create_task(settle())
                waiters.append(settling)
                await asyncio.wait(
                    waiters, timeout=settle_timeout_s, return_when=asyncio.FIRST_COMPLETED
                )
                # Only a timeout is worth a warning: a stop request, the model
                # closing or an output failing ended the wait on their own terms.
                if not any(w.done() for w in waiters):
                    logger.warning(
                        "inputs finished but the conversation did not settle within %g s; stopping",
                        settle_timeout_s,
                    )
        return fanout.error
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        if inputs_done is not None and not inputs_done.done():
            inputs_done.cancel()
            await asyncio.gather(inputs_done, return_exceptions=True)


async def stop_inputs(
    pumps: Sequence[asyncio.Task[None]], inputs: Sequence[BidiInput], bound: float
) -> None:
    """Cancel the pumps and stop each input, each wait bounded by ``bound`` seconds
    (``output_drain_timeout_s``): an input that never returns is left behind
    (logged), it does not hold ``run()``."""
    for pump in pumps:
        pump.cancel()
    if pumps:
        _done, late = await asyncio.wait(pumps, timeout=bound)
        if late:
            logger.warning("%d input(s) ignored cancellation; not waiting", len(late))
    for source in inputs:
        try:
            async with asyncio.timeout(bound):
                await source.stop()
        except TimeoutError:
            logger.warning(
                "input %r did not stop within output_drain_timeout_s=%g s", source, bound
            )
        except Exception:
            logger.exception("input %r failed to stop", source)
