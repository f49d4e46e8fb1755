"""The browser channel: one page's conversation as a ``BidiInput`` and ``BidiOutput``.

The frames are described in ``docs/browser-protocol.md``. A
:class:`BrowserSession` outlives its socket: when the page's connection
drops, the conversation keeps running for ``resume_grace_s`` and a page that
comes back with the session's resume token is attached to it again (the
agent, its history and its model connection untouched). Audio produced while
no page is attached is dropped; the page reports what it really played, so
the playback ledger still knows what the user heard.

Beyond one process, a :class:`~.recording.CallRecorder` writes the call into
the session store as it goes (history, held input), so that another process
can take it over when this one dies or drains (:meth:`BrowserSession.hand_over`).
Typed inputs may carry an ``id``; an input whose id was received before (by
this process or the one that held the call) is dropped, so a page that resends
what it was not sure got through is heard once.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiInputEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)

from .calls import FirstAudioClock, close_soon, logger
from .config import ServeConfig
from .metrics import ServeMetrics

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.audio import PcmConverter

    from .recording import CallRecorder

#: the protocol version this server speaks (``hello.protocol``)
PROTOCOL_VERSION = 1
MIN_RATE = 8000
MAX_RATE = 96000


class Page:
    """The socket a session talks through right now (``send`` is serialised)."""

    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        input_rate: int,
        output_rate: int,
    ) -> None:
        self.send_text = send_text
        self.send_bytes = send_bytes
        self.close = close
        self.input_rate = input_rate
        self.output_rate = output_rate
        self.lock = asyncio.Lock()


class BrowserSession:
    """One conversation with a page, resumable by its token."""

    def __init__(
        self,
        config: ServeConfig,
        metrics: ServeMetrics,
        token: str | None = None,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self._config = config
        self._metrics = metrics
        self._page: Page | None = None
        #: input for the agent, with the id of the held input it came from
        self._inbox: asyncio.Queue[tuple[BidiInputEvent, str | None] | None] = asyncio.Queue()
        self._taking: str | None = None
        self._seq = itertools.count()
        #: writes this call into the session store (set by the app)
        self.recorder: CallRecorder | None = None
        #: the call was handed to another process (drain) or taken over by one
        self.handed_over = False
        self._agent: BidiAgent | None = None
        self._to_page: PcmConverter | None = None
        self._from_page: PcmConverter | None = None
        self._model_in_rate = 24000
        self._current_item: str | None = None
        self._interrupted: set[str] = set()
        self._grace: asyncio.Task[None] | None = None
        self._first_audio = FirstAudioClock(metrics, "browser")
        self.ended = False
        #: milliseconds the page reported played, per item
        self.played_ms: dict[str, float] = {}
        #: milliseconds of audio sent to the page, per item, and the items sent whole
        self._sent_ms: dict[str, float] = {}
        self._complete: set[str] = set()

    # --------------------------------------------------------------- the page
    def attach(self, page: Page) -> Page | None:
        """Talk through ``page`` from now on; returns the page it replaces."""
        old, self._page = self._page, page
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._current_item = None  # the new page starts a fresh playback queue
        self._to_page = None
        self._from_page = None
        return old

    def detach(self, page: Page) -> None:
        """The page's socket closed without a hang-up: wait for it to come back."""
        if self._page is not page:
            return
        self._page = None
        if self.ended:
            return
        self._grace = asyncio.get_running_loop().create_task(
            self._expire(), name="fullduplex-browser-grace"
        )

    async def _expire(self) -> None:
        await asyncio.sleep(self._config.resume_grace_s)
        logger.info(
            "browser session: no page came back within %gs, ending it",
            self._config.resume_grace_s,
        )
        self.hang_up()

    def hang_up(self) -> None:
        if self.ended:
            return
        self.ended = True
        self._inbox.put_nowait(None)
        if self._agent is not None:
            self._agent.request_stop()
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    async def say_bye(self) -> None:
        """The conversation is over: tell the page and close its socket."""
        page = self._page
        if page is None:
            return
        await self.send_json({"type": "bye", "reason": "the conversation is over"})
        await page.close(1000)

    def on_audio(self, data: bytes) -> None:
        """A binary frame: PCM16 mono at the page's ``input_sample_rate``."""
        page = self._page
        if page is None or self.ended or self._agent is None:
            return
        if len(data) % 2:
            raise ValueError("audio frame: odd length; accepted: whole PCM16 samples")
        if self._from_page is None:
            from fullduplex.audio import PcmConverter

            self._from_page = PcmConverter(page.input_rate, 1, self._model_in_rate, 1)
        audio = self._from_page.process(data)
        if audio:
            self._inbox.put_nowait(
                (BidiAudioInputEvent(audio, sample_rate=self._model_in_rate), None)
            )

    async def on_control(self, message: dict[str, Any]) -> None:
        """A JSON control frame from the page (``played``, ``text``, ``hangup``)."""
        kind = message.get("type")
        if kind == "played":
            item, ms = message.get("item_id"), message.get("ms")
            if not isinstance(item, str) or isinstance(ms, bool) or not isinstance(ms, int | float):
                raise ValueError("played: expected item_id (string) and ms (number)")
            if ms > self.played_ms.get(item, 0.0):
                self.played_ms[item] = float(ms)
            if self._agent is not None:
                self._agent.playback.report(item, self._heard(item, float(ms)))
        elif kind == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("text: expected a non-empty string in 'text'")
            input_id = message.get("id")
            if input_id is not None and (not isinstance(input_id, str) or not input_id):
                raise ValueError("text.id: expected a non-empty string (or no id)")
            await self.take_text(text, input_id)
        elif kind == "hangup":
            self.hang_up()
        else:
            raise ValueError(
                f"type: got {kind!r}; accepted after hello: 'played', 'text', 'hangup'"
            )

    async def take_text(self, text: str, input_id: str | None) -> None:
        """Queue a typed input for the agent, once per id, held in the store until taken."""
        recorder = self.recorder
        if recorder is None:
            self._inbox.put_nowait((BidiTextInputEvent(text), None))
            return
        input_id = input_id or secrets.token_urlsafe(12)
        try:
            async with asyncio.timeout(1.0):
                first = await recorder.store.first_time(self.token, input_id)
        except Exception:  # the store is away: deliver (once here is better than never)
            logger.debug("session store: could not check input %s", input_id, exc_info=True)
            first = True
        if not first:
            logger.info("browser session: input %s received before; not delivered again", input_id)
            return
        recorder.hold({"id": input_id, "text": text, "seq": time.time() + next(self._seq) * 1e-6})
        self._inbox.put_nowait((BidiTextInputEvent(text), input_id))

    def restore_held(self, held: list[dict[str, Any]]) -> None:
        """Inputs the previous process took in but never gave its model: deliver them first."""
        for entry in held:
            text, input_id = entry.get("text"), entry.get("id")
            if isinstance(text, str) and isinstance(input_id, str):
                self._inbox.put_nowait((BidiTextInputEvent(text), input_id))

    async def hand_over(self, reason: str) -> None:
        """Give the call to another process: store flushed, page told to reconnect, agent stopped.

        The store keeps the call (this process does not delete it); the page
        reconnects with its token through the balancer and lands elsewhere.
        """
        if self.ended:
            return
        self.handed_over = True
        recorder = self.recorder
        if recorder is not None:
            await recorder.flush(2.0)
        await self.send_json({"type": "reconnect", "reason": reason})
        page = self._page
        self.hang_up()
        if page is not None:
            await page.close(1012)

    def taken_over(self) -> None:
        """Another process now holds the call (the page resumed there): end it here quietly.

        A page still connected here is closed with 4000, as when a second page
        resumes a call in the same process: the call goes on where it resumed.
        """
        self.handed_over = True
        page = self._page
        self.hang_up()
        if page is not None:
            close_soon(lambda: page.close(4000))(None)

    def _heard(self, item: str, ms: float) -> float:
        """The page's report on the model's time line.

        Resampling shifts an item's length by a fraction of a millisecond, so
        a page that played all of a finished item reports a hair less than the
        model sent; that is the whole item, not a cut one.
        """
        agent = self._agent
        if agent is not None and item in self._complete and ms >= self._sent_ms.get(item, 0) - 2:
            return max(ms, agent.playback.received_ms(item))
        return ms

    # ------------------------------------------------------------ agent sides
    def input(self) -> BrowserInput:
        return BrowserInput(self)

    def output(self) -> BrowserOutput:
        return BrowserOutput(self)

    def _started(self, agent: BidiAgent) -> None:
        self._agent = agent
        self._model_in_rate = agent.model.capabilities.input_sample_rate

    async def _next_input(self) -> BidiInputEvent | None:
        # The agent asks for the next input only once it sent the previous one:
        # that one is no longer held.
        taken, self._taking = self._taking, None
        if taken is not None and self.recorder is not None:
            self.recorder.release(taken)
        got = await self._inbox.get()
        if got is None:
            self._inbox.put_nowait(None)
            return None
        event, self._taking = got
        if self.recorder is not None and self._taking is not None:
            text = event.text if isinstance(event, BidiTextInputEvent) else ""
            self.recorder.taking = (self._taking, text)
        return event

    async def send_json(self, message: dict[str, Any]) -> None:
        page = self._page
        if page is None:
            return
        try:
            async with page.lock:
                await page.send_text(orjson.dumps(message).decode())
        except Exception:  # the socket went away; the reader notices and detaches
            logger.debug("browser: a control frame could not be sent", exc_info=True)

    async def _send_audio(self, event: BidiAudioStreamEvent) -> None:
        page = self._page
        item = event.item_id
        if page is None or (item is not None and item in self._interrupted):
            return
        if item != self._current_item:
            self._current_item = item
            await self.send_json(
                {"type": "audio_item", "item_id": item, "sample_rate": page.output_rate}
            )
        if self._to_page is None:
            from fullduplex.audio import PcmConverter

            self._to_page = PcmConverter(event.sample_rate, 1, page.output_rate, 1)
        await self._audio_out(page, item, self._to_page.process(event.audio))

    async def _finish_item(self) -> None:
        """The response is over: send what the resampler still holds, and note the item whole."""
        page, item = self._page, self._current_item
        if page is None or item is None or item in self._interrupted:
            return
        if self._to_page is not None:
            await self._audio_out(page, item, self._to_page.flush())
        self._complete.add(item)
        if len(self._complete) > 64:
            self._complete.pop()

    async def _audio_out(self, page: Page, item: str | None, audio: bytes) -> None:
        if not audio:
            return
        if item is not None:
            self._sent_ms[item] = self._sent_ms.get(item, 0.0) + len(audio) / 2 / (
                page.output_rate / 1000
            )
            if len(self._sent_ms) > 64:
                self._sent_ms.pop(next(iter(self._sent_ms)))
        try:
            async with page.lock:
                await page.send_bytes(audio)
        except Exception:
            logger.debug("browser: an audio frame could not be sent", exc_info=True)
            return
        self._first_audio.audio_sent()

    async def _handle(self, event: BidiOutputEvent) -> None:
        if isinstance(event, BidiAudioStreamEvent):
            await self._send_audio(event)
        elif isinstance(event, BidiTranscriptStreamEvent):
            await self.send_json(
                {
                    "type": "transcript",
                    "role": event.role,
                    "item_id": event.item_id,
                    "delta": event.text if not event.is_final else "",
                    "final": event.is_final,
                    "text": event.current_transcript if event.is_final else None,
                }
            )
        elif isinstance(event, BidiInterruptionEvent):
            if event.item_id is not None:
                self._interrupted.add(event.item_id)
            if self._to_page is not None:
                self._to_page.reset()
            self._metrics.interruptions.labels("browser").inc()
            await self.send_json({"type": "clear", "item_id": event.item_id})
        elif isinstance(event, BidiSpeechEvent):
            if event.state == "stopped":
                self._first_audio.speech_ended()
            await self.send_json({"type": "user_speech", "state": event.state})
        elif isinstance(event, BidiResponseStartEvent):
            await self.send_json(
                {"type": "response", "state": "started", "response_id": event.response_id}
            )
        elif isinstance(event, BidiResponseCompleteEvent):
            await self._finish_item()
            await self.send_json(
                {
                    "type": "response",
                    "state": "done",
                    "response_id": event.response_id,
                    "stop_reason": event.stop_reason,
                }
            )
        elif isinstance(event, ToolUseStreamEvent) and event.is_final:
            await self.send_json(
                {
                    "type": "tool_call",
                    "call_id": event.call_id,
                    "name": event.name,
                    "arguments": event.arguments,
                }
            )
        elif isinstance(event, ToolResultEvent):
            await self.send_json(
                {
                    "type": "tool_result",
                    "call_id": event.call_id,
                    "name": event.name,
                    "status": event.status,
                    "content": event.content[:2000],
                }
            )
        elif isinstance(event, BidiErrorEvent):
            await self.send_json({"type": "error", "message": event.message})


class BrowserInput:
    """The page's microphone and typed text as input events."""

    def __init__(self, session: BrowserSession) -> None:
        self._session = session

    async def start(self, agent: BidiAgent) -> None:
        self._session._started(agent)

    async def stop(self) -> None:
        return None

    async def __call__(self) -> BidiInputEvent | None:
        return await self._session._next_input()


class BrowserOutput:
    """The agent's events to the page; reports of played audio feed the ledger."""

    def __init__(self, session: BrowserSession) -> None:
        self._session = session

    async def start(self, agent: BidiAgent) -> None:
        self._session._started(agent)
        agent.playback.attach_player()

    async def stop(self) -> None:
        agent = self._session._agent
        if agent is not None:
            agent.playback.detach_player()

    async def __call__(self, event: BidiOutputEvent) -> None:
        await self._session._handle(event)


__all__ = [
    "MAX_RATE",
    "MIN_RATE",
    "PROTOCOL_VERSION",
    "BrowserInput",
    "BrowserOutput",
    "BrowserSession",
    "Page",
]
