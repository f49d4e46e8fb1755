"""The telephony channel: one Twilio Media Streams call as a ``BidiInput`` and ``BidiOutput``.

Inbound: each ``media`` payload (base64 μ-law, 8 kHz) is decoded, turned
into PCM16 and resampled to the model's input rate by core's converters.
A ``dtmf`` key becomes a text input (``ServeConfig.dtmf_text``).

Outbound: the model's PCM16 is resampled to 8 kHz and μ-law encoded, then a
pacer sends it as ``frame_ms`` frames in real time (starting a run once
``lead_ms`` is buffered, a small jitter buffer), so Twilio's queue stays
short and a ``clear`` is cheap. Every
``mark_every_ms`` of audio (and at the end of an item) a ``mark`` named
``<item>:<end ms>`` follows; when Twilio echoes it back, that position has
been played and goes into the agent's playback ledger. On an interruption
the pacer drops what it holds, sends ``clear``, and forgets the marks still
in flight: Twilio echoes those at once, and they mean "dropped", not
"played" (protocol summary §4). So a barge-in truncates the model's answer
to what the caller heard.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiInputEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
)

from .calls import FirstAudioClock
from .config import ServeConfig
from .metrics import ServeMetrics

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent
    from fullduplex.audio import PcmConverter

#: μ-law at 8 kHz: 8 bytes per millisecond
_BYTES_PER_MS = 8
_TWILIO_RATE = 8000

SendText = Callable[[str], Awaitable[None]]


class _Frame:
    __slots__ = ("end_ms", "item_id", "payload")

    def __init__(self, payload: bytes, item_id: str | None, end_ms: int) -> None:
        self.payload = payload
        self.item_id = item_id
        self.end_ms = end_ms


class TwilioCall:
    """The state of one call, shared by its input and output sides."""

    def __init__(
        self,
        stream_sid: str,
        send_text: SendText,
        config: ServeConfig,
        metrics: ServeMetrics,
    ) -> None:
        self.stream_sid = stream_sid
        self._send_text = send_text
        self._config = config
        self._metrics = metrics
        self._inbox: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._agent: BidiAgent | None = None
        self._frames: deque[_Frame] = deque()
        self._queued_ms = 0
        self._answer_done = False
        self._partial = b""
        self._partial_item: str | None = None
        self._item_ms: dict[str, int] = {}
        self._marks: dict[str, tuple[str, int]] = {}
        self._interrupted: set[str] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._send_lock = asyncio.Lock()
        self._pacer: asyncio.Task[None] | None = None
        self._to_phone: dict[int, PcmConverter] = {}
        self._first_audio = FirstAudioClock(metrics, "twilio")
        self._hung_up = False
        #: what was played per item, from acknowledged marks (also for tests and logs)
        self.played_ms: dict[str, int] = {}

    # ------------------------------------------------------------- from Twilio
    def on_media(self, payload: str) -> None:
        """A ``media`` payload from the caller; raises ValueError when it is not base64."""
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"media.payload: not base64 ({exc})") from exc
        if audio and not self._hung_up:
            self._inbox.put_nowait(audio)

    def on_dtmf(self, digit: str) -> None:
        text = self._config.dtmf_text(digit)
        if text is not None and not self._hung_up:
            self._inbox.put_nowait(text)

    def on_mark(self, name: str) -> None:
        """Twilio played everything before this mark (or dropped it after a ``clear``)."""
        position = self._marks.pop(name, None)
        if position is None:
            return  # echoed after a clear, or never ours: not a played position
        # marks come back in order: the older ones are settled too
        for older in list(self._marks):
            if older == name:
                break
            self._marks.pop(older, None)
        item_id, end_ms = position
        self.played_ms[item_id] = max(end_ms, self.played_ms.get(item_id, 0))
        if self._agent is not None:
            self._agent.playback.report(item_id, end_ms)

    def hang_up(self) -> None:
        """The call is over (``stop``, a closed socket): end the input and the agent."""
        if self._hung_up:
            return
        self._hung_up = True
        self._inbox.put_nowait(None)
        if self._agent is not None:
            self._agent.request_stop()

    # ------------------------------------------------------------ agent sides
    def input(self) -> TwilioInput:
        return TwilioInput(self)

    def output(self) -> TwilioOutput:
        return TwilioOutput(self)

    async def _start_output(self, agent: BidiAgent) -> None:
        self._agent = agent
        agent.playback.attach_player()
        if self._pacer is None:
            self._pacer = asyncio.create_task(self._pace(), name="fullduplex-twilio-pacer")

    async def _stop_output(self) -> None:
        pacer, self._pacer = self._pacer, None
        if pacer is None:
            return
        if not self._hung_up:
            # let the last words (a goodbye) reach the caller, within reason
            try:
                async with asyncio.timeout(1.5):
                    await self._idle.wait()
            except TimeoutError:
                pass
        pacer.cancel()
        await asyncio.gather(pacer, return_exceptions=True)
        if self._agent is not None:
            self._agent.playback.detach_player()

    async def _handle(self, event: BidiOutputEvent) -> None:
        if type(event) is BidiAudioStreamEvent or isinstance(event, BidiAudioStreamEvent):
            self._queue_audio(event)
        elif isinstance(event, BidiInterruptionEvent):
            await self._clear(event.item_id)
        elif isinstance(event, BidiResponseCompleteEvent):
            self._flush_tail()
        elif isinstance(event, BidiSpeechEvent) and event.state == "stopped":
            self._first_audio.speech_ended()

    # ----------------------------------------------------------------- audio
    def _converter(self, rate: int) -> PcmConverter:
        converter = self._to_phone.get(rate)
        if converter is None:
            from fullduplex.audio import PcmConverter

            converter = self._to_phone[rate] = PcmConverter(rate, 1, _TWILIO_RATE, 1)
        return converter

    def _queue_audio(self, event: BidiAudioStreamEvent) -> None:
        from fullduplex.audio import pcm16_to_ulaw, to_mono

        item = event.item_id
        if item is not None and item in self._interrupted:
            return
        self._answer_done = False
        pcm = event.audio if event.channels == 1 else to_mono(event.audio, event.channels)
        if event.format == "g711_ulaw" and event.sample_rate == _TWILIO_RATE:
            ulaw = pcm
        else:
            ulaw = pcm16_to_ulaw(self._converter(event.sample_rate).process(pcm))
        if item != self._partial_item:
            self._flush_partial()
            self._partial_item = item
        data = self._partial + ulaw
        size = self._config.frame_ms * _BYTES_PER_MS
        whole = len(data) - len(data) % size
        for start in range(0, whole, size):
            self._push(data[start : start + size], item)
        self._partial = data[whole:]

    def _flush_tail(self) -> None:
        """The response is over: the resampler's tail and the last short frame go out too."""
        from fullduplex.audio import pcm16_to_ulaw

        item = self._partial_item
        if item is not None and item not in self._interrupted:
            tail = b"".join(c.flush() for c in self._to_phone.values())
            if tail:
                self._partial += pcm16_to_ulaw(tail)
        self._flush_partial()
        self._partial_item = None
        self._answer_done = True
        self._wake.set()

    def _flush_partial(self) -> None:
        if self._partial:
            self._push(self._partial, self._partial_item)
        self._partial = b""

    def _push(self, payload: bytes, item: str | None) -> None:
        end = self._item_ms.get(item, 0) + len(payload) // _BYTES_PER_MS if item else 0
        if item is not None:
            self._item_ms[item] = end
            if len(self._item_ms) > 64:
                self._item_ms.pop(next(iter(self._item_ms)))
        self._frames.append(_Frame(payload, item, end))
        self._queued_ms += len(payload) // _BYTES_PER_MS
        self._idle.clear()
        self._wake.set()

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._send_text(orjson.dumps(message).decode())

    async def _clear(self, item_id: str | None) -> None:
        """Drop everything not yet sent, tell Twilio to drop what it holds, forget the marks."""
        if item_id is not None:
            self._interrupted.add(item_id)
            if len(self._interrupted) > 64:
                self._interrupted.pop()
        self._frames.clear()
        self._queued_ms = 0
        self._answer_done = True
        self._partial = b""
        self._marks.clear()
        for converter in self._to_phone.values():
            converter.reset()
        self._idle.set()
        self._metrics.interruptions.labels("twilio").inc()
        await self._send({"event": "clear", "streamSid": self.stream_sid})

    async def _pace(self) -> None:
        """Send queued frames in real time, a mark every ``mark_every_ms`` and at each item end."""
        lead_s = self._config.lead_ms / 1000.0
        mark_every = self._config.mark_every_ms
        frames = self._frames
        next_at = 0.0
        running = False
        since_mark = 0
        last: _Frame | None = None
        while True:
            if not frames:
                if last is not None and since_mark:
                    await self._mark(last)
                since_mark = 0
                last = None
                # the run goes on through an underrun until its answer is complete
                running = running and not self._answer_done
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            if not running:
                # a new answer: hold its first frames until lead_ms is buffered (or the
                # answer is complete, or lead_ms has passed), a jitter buffer so that a
                # model streaming at real time never leaves the line starving mid-answer
                await self._fill(lead_s)
                next_at = now = time.monotonic()
                running = True
                if not frames:
                    continue
            elif next_at < now - 1.0:
                next_at = now  # a long stall: start the schedule afresh rather than burst
            if next_at > now:
                await asyncio.sleep(next_at - now)
                continue  # a clear may have emptied the queue meanwhile
            frame = frames.popleft()
            self._queued_ms -= len(frame.payload) // _BYTES_PER_MS
            if last is not None and since_mark and frame.item_id != last.item_id:
                await self._mark(last)
                since_mark = 0
            payload = base64.b64encode(frame.payload).decode("ascii")
            await self._send(
                {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
            )
            self._first_audio.audio_sent()
            next_at += len(frame.payload) / _BYTES_PER_MS / 1000.0
            since_mark += len(frame.payload) // _BYTES_PER_MS
            last = frame
            if since_mark >= mark_every:
                await self._mark(frame)
                since_mark = 0

    async def _fill(self, lead_s: float) -> None:
        deadline = time.monotonic() + lead_s
        while self._queued_ms < self._config.lead_ms and not self._answer_done and self._frames:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            try:
                async with asyncio.timeout(left):
                    await self._wake.wait()
            except TimeoutError:
                return

    async def _mark(self, frame: _Frame) -> None:
        if frame.item_id is None:
            return
        name = f"{frame.item_id}:{frame.end_ms}"
        self._marks[name] = (frame.item_id, frame.end_ms)
        await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def _next_input(self, converter: PcmConverter, rate: int) -> BidiInputEvent | None:
        from fullduplex.audio import ulaw_to_pcm16

        got = await self._inbox.get()
        if got is None:
            self._inbox.put_nowait(None)  # stays finished for any later call
            return None
        if isinstance(got, str):
            return BidiTextInputEvent(got)
        return BidiAudioInputEvent(converter.process(ulaw_to_pcm16(got)), sample_rate=rate)


class TwilioInput:
    """The caller's audio (and keys) as input events for the agent."""

    def __init__(self, call: TwilioCall) -> None:
        self._call = call
        self._converter: PcmConverter | None = None
        self._rate = _TWILIO_RATE

    async def start(self, agent: BidiAgent) -> None:
        from fullduplex.audio import PcmConverter

        self._call._agent = agent
        self._rate = agent.model.capabilities.input_sample_rate
        self._converter = PcmConverter(_TWILIO_RATE, 1, self._rate, 1)

    async def stop(self) -> None:
        return None

    async def __call__(self) -> BidiInputEvent | None:
        converter = self._converter
        if converter is None:
            raise RuntimeError("TwilioInput: start() was not called")
        return await self._call._next_input(converter, self._rate)


class TwilioOutput:
    """The agent's answer, paced to the caller, with marks and clears."""

    def __init__(self, call: TwilioCall) -> None:
        self._call = call

    async def start(self, agent: BidiAgent) -> None:
        await self._call._start_output(agent)

    async def stop(self) -> None:
        await self._call._stop_output()

    async def __call__(self, event: BidiOutputEvent) -> None:
        await self._call._handle(event)


__all__ = ["TwilioCall", "TwilioInput", "TwilioOutput"]
