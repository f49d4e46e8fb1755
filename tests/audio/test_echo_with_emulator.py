"""The seed's agent against the OpenAI emulator, its speaker audible to its microphone.

The emulator's turn detection is an energy VAD: one 20 ms frame above about
-34 dBFS is "the user speaking". Over ``pulse_server.echo_path()`` (40 ms
late, about -18 dB) the assistant's own answer reaches the microphone well
above that, so:

- with echo cancellation (the default) a long answer plays to its end and no
  speech is detected, while a user who speaks halfway through still interrupts
  it promptly (double talk);
- without it the answer interrupts itself, which shows the path is a real echo.

The emulator speaks with espeak-ng's voice here: its own buzzy synthetic voice
repeats one syllable rhythm and pitch pattern so regularly that AEC3's delay
estimator locks onto wrong lags for seconds (see benchmarks/README.md), which
says more about that signal than about a real assistant's speech.

The answer lasts ``ANSWER_S`` (20) seconds. Halfway through, the user speaks
(espeak-ng in another voice, about 6 dB above the echo): double talk must
still interrupt within 300 ms of the first sound.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import numpy as np
import orjson
import pytest

from fullduplex import BidiAgent
from fullduplex.events import BidiAudioStreamEvent, BidiInterruptionEvent, BidiOutputEvent
from fullduplex_audio import BidiAudioIO
from fullduplex_emulator.responder import Reply, TurnContext
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import DefaultResponder, Emulator

from .conftest import unavailable
from .pulse import PulseServer
from .speech import PASSAGE, espeak, espeak_available, from_onset

pytestmark = pytest.mark.audio

KEY = "emu-key-echo-test"
ANSWER_S = 20.0
LONG_ANSWER = PASSAGE
#: the limit the issue sets between the user starting to speak and the interruption
MAX_BARGE_IN_S = 0.3
#: the echo path's level (PulseAudio's cubic scale: 50% is about -18 dB)
ECHO_VOLUME = 50
#: what the user says over the answer, in a voice other than the assistant's
USER_WORDS = "wait, stop there, what time is it"
USER_VOICE = "en+f3"
#: the user's level at the microphone: -12 dB of espeak-ng's, about 6 dB above the echo
USER_GAIN = 0.25


class LongAnswers(DefaultResponder):
    """Answers the first typed request with :data:`LONG_ANSWER`, the rest as usual."""

    def respond(self, context: TurnContext) -> Reply:
        last = context.turns[-1] if context.turns else None
        if last is not None and last.kind == "user" and last.text == "tell me a story":
            return Reply(LONG_ANSWER)
        return super().respond(context)


@pytest.fixture
def espeak_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator says :data:`LONG_ANSWER` with espeak-ng, cut to ``ANSWER_S`` seconds."""
    if not espeak_available():
        unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    from fullduplex_openai.emulator import synth

    original_audio, original_chunks = synth.speech_audio, synth.speech_chunks
    voice = espeak(LONG_ANSWER, 24000)[: int(ANSWER_S * 24000) * 2]

    def speech_audio(text: str, format_type: str = "audio/pcm") -> bytes:
        if text == LONG_ANSWER and format_type == "audio/pcm":
            return voice
        return original_audio(text, format_type)

    def speech_chunks(text: str, format_type: str, chunk_ms: int) -> tuple[bytes, ...]:
        if text == LONG_ANSWER and format_type == "audio/pcm":
            step = 48 * chunk_ms
            return tuple(base64.b64encode(voice[i : i + step]) for i in range(0, len(voice), step))
        return original_chunks(text, format_type, chunk_ms)

    monkeypatch.setattr(synth, "speech_audio", speech_audio)
    monkeypatch.setattr(synth, "speech_chunks", speech_chunks)


@attrs.define
class Watcher:
    """An extra output that notes when the answer's audio and interruptions reach the agent."""

    interruptions: list[float] = attrs.field(factory=list)
    first_audio: float | None = None
    answer_item: str | None = None

    async def start(self, agent: BidiAgent) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def __call__(self, event: BidiOutputEvent) -> None:
        if isinstance(event, BidiAudioStreamEvent) and self.first_audio is None:
            self.first_audio = time.monotonic()
            self.answer_item = event.item_id
        elif isinstance(event, BidiInterruptionEvent):
            self.interruptions.append(time.monotonic())


@asynccontextmanager
async def conversation(
    pulse_server: PulseServer, *, echo_cancellation: bool
) -> AsyncIterator[tuple[BidiAgent, Watcher, Emulator, BidiAudioIO]]:
    """The seed's agent on the virtual devices over an echo path, asked for a long answer."""
    async with Emulator(api_key=KEY, port=0, responder=LongAnswers()) as emu:
        model = BidiOpenAIRealtimeModel(
            model_id="gpt-realtime", client_config={"api_key": KEY, "base_url": emu.base_url}
        )
        agent = BidiAgent(model=model)
        audio_io = BidiAudioIO(echo_cancellation=echo_cancellation)
        watcher = Watcher()
        with pulse_server.echo_path(latency_ms=40, volume_percent=ECHO_VOLUME):
            run = asyncio.create_task(
                agent.run(inputs=[audio_io.input()], outputs=[audio_io.output(), watcher])
            )
            try:
                async with asyncio.timeout(15):
                    while not (agent.playback.has_player and agent.started):
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                await agent.send("tell me a story")
                async with asyncio.timeout(15):
                    while watcher.first_audio is None:
                        await asyncio.sleep(0.02)
                yield agent, watcher, emu, audio_io
            finally:
                await agent.stop()
                async with asyncio.timeout(15):
                    await asyncio.gather(run, return_exceptions=True)


def speech_started(emu: Emulator) -> list[int]:
    """Where on the input timeline the emulator's VAD heard speech start (ms)."""
    return [
        int(orjson.loads(frame.data).get("audio_start_ms", -1))
        for frame in emu.sent
        if frame.type == "input_audio_buffer.speech_started"
    ]


async def test_a_long_answer_plays_to_the_end_with_echo_cancellation(
    pulse_server: PulseServer, espeak_voice: None
) -> None:
    async with conversation(pulse_server, echo_cancellation=True) as (agent, watcher, emu, io):
        item = watcher.answer_item
        assert item is not None
        async with asyncio.timeout(ANSWER_S + 20):
            while not (
                agent.playback.received_ms(item) >= (ANSWER_S - 1) * 1000
                and agent.playback.fully_heard(item)
            ):
                assert not watcher.interruptions, "the assistant interrupted itself"
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the echo's tail
        heard_ms = agent.playback.heard_ms(item)
        detected = speech_started(emu)
        canceller = io.echo_canceller
        assert canceller is not None
        stats = canceller.stats
    assert not watcher.interruptions
    assert not detected, f"the emulator's VAD heard the assistant's own voice at {detected} ms"
    assert heard_ms >= (ANSWER_S - 1) * 1000
    assert stats.frames > ANSWER_S * 100
    print(f"CPU {stats.cpu_per_frame_us:.0f} us per 10 ms frame")


async def test_the_user_still_interrupts_during_the_answer(
    pulse_server: PulseServer, espeak_voice: None
) -> None:
    # the user's words, in another voice, from their first sound on; played into the
    # microphone at USER_GAIN they arrive about 6 dB above the assistant's echo
    words = from_onset(espeak(USER_WORDS, 24000, voice=USER_VOICE))
    quieter = (np.frombuffer(words, dtype="<i2") * USER_GAIN).astype("<i2").tobytes()
    async with conversation(pulse_server, echo_cancellation=True) as (agent, watcher, _emu, _):
        assert watcher.first_audio is not None
        await asyncio.sleep(max(0.0, watcher.first_audio + ANSWER_S / 2 - time.monotonic()))
        assert not watcher.interruptions, "the assistant interrupted itself before the user spoke"
        # the clock starts before pacat does, so the figure is an upper bound
        spoke = time.monotonic()
        user = pulse_server.play("mic", quieter, 24000, latency_ms=10)
        try:
            async with asyncio.timeout(5):
                while not watcher.interruptions:
                    await asyncio.sleep(0.005)
        finally:
            await asyncio.to_thread(user.wait, 10)
        delay = watcher.interruptions[0] - spoke
        item = watcher.answer_item
        assert item is not None
        heard_ms = agent.playback.heard_ms(item)
    print(f"barge-in: interrupted {delay * 1000:.0f} ms after the user started speaking")
    assert delay <= MAX_BARGE_IN_S, f"the interruption came {delay * 1000:.0f} ms late"
    assert heard_ms < ANSWER_S * 1000 * 0.75


async def test_without_echo_cancellation_the_answer_interrupts_itself(
    pulse_server: PulseServer, espeak_voice: None
) -> None:
    async with conversation(pulse_server, echo_cancellation=False) as (agent, watcher, emu, _):
        async with asyncio.timeout(ANSWER_S):
            while not watcher.interruptions:
                await asyncio.sleep(0.02)
        item = watcher.answer_item
        assert item is not None
        heard_ms = agent.playback.heard_ms(item)
        detected = speech_started(emu)
    assert detected
    assert heard_ms < ANSWER_S * 1000 / 2, "the echo should have cut the answer short"
