"""Barge-in over real audio: the user speaks while the spoken answer plays, and it stops.

The emulator answers with its real voice (the kit's ``[speech]`` extra: eSpeak NG,
Silero VAD, pocketsphinx); the agent plays the answer through the audio plugin on
a PulseAudio virtual device; while it plays, the virtual microphone speaks a
question. What counts is what a listener in the room would hear, so both sides
are measured on one recording: a stereo null sink ``room`` whose left channel is
the SDK's speaker and whose right channel is the user's voice (remap sinks put
each on its side; the SDK's microphone is a remap source of the right channel
only, so it never hears the answer). The answer must go quiet within 150 ms of
the user's voice starting, and the model's conversation must keep only what was
heard: ``conversation.item.truncate`` with the played milliseconds, the
emulator's copy of the answer cut there.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from fullduplex import BidiAgent
from fullduplex.io import BidiAudioIO
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import Emulator

from .pulse import PulseServer

pytestmark = pytest.mark.audio

KEY = "emu-key-barge-in"
RATE = 48_000
FRAME = RATE // 100  # 10 ms
#: a typed turn the responder echoes ("You said: ..."): about eight seconds of speech
LONG_TURN = (
    "please read these words back to me slowly one after the other without stopping "
    "apples bananas cherries dates elderberries figs grapes and honeydew melons"
)
#: the budget from the start of the user's voice to the answer going quiet (issue 13)
STOP_WITHIN_MS = 150
#: the answer's sound level that counts as "playing" (PCM16; eSpeak's speech peaks ~8000)
LOUD = 300
#: a gap in the answer at least this long means it stopped (eSpeak's pauses between words
#: inside a sentence are shorter)
GAP_MS = 300


def _pactl(server: PulseServer, *args: str) -> str:
    done = subprocess.run(
        ["pactl", *args], env=server.env, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def room(pulse_server: PulseServer) -> Iterator[PulseServer]:
    """The ``room`` sink: speaker on the left, the user's voice on the right (see above)."""
    modules = [
        _pactl(
            pulse_server,
            "load-module",
            "module-null-sink",
            "sink_name=room",
            f"rate={RATE}",
            "channels=2",
            "channel_map=front-left,front-right",
        ),
        _pactl(
            pulse_server,
            "load-module",
            "module-remap-sink",
            "sink_name=room_speaker",
            "master=room",
            "channels=1",
            "channel_map=mono",
            "master_channel_map=front-left",
            "remix=no",
        ),
        _pactl(
            pulse_server,
            "load-module",
            "module-remap-sink",
            "sink_name=room_voice",
            "master=room",
            "channels=1",
            "channel_map=mono",
            "master_channel_map=front-right",
            "remix=no",
        ),
        _pactl(
            pulse_server,
            "load-module",
            "module-remap-source",
            "source_name=room_mic",
            "master=room.monitor",
            "channels=1",
            "channel_map=mono",
            "master_channel_map=front-right",
            "remix=no",
        ),
    ]
    _pactl(pulse_server, "set-default-sink", "room_speaker")
    _pactl(pulse_server, "set-default-source", "room_mic")
    try:
        yield pulse_server
    finally:
        _pactl(pulse_server, "set-default-sink", "speaker")
        _pactl(pulse_server, "set-default-source", "mic.monitor")
        for module in reversed(modules):
            _pactl(pulse_server, "unload-module", module)


def _levels(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // FRAME
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    return np.sqrt(np.mean(frames * frames, axis=1))


def measure(left: np.ndarray, right: np.ndarray) -> dict[str, float]:
    """From the recording: when the answer started, when the voice started, when it stopped.

    Milliseconds from the start of the recording, at 10 ms resolution (the answer's
    last loud frame before its first gap of ``GAP_MS`` after the voice started).
    """
    speaker = _levels(left) > LOUD
    voice = _levels(right) > LOUD
    answer_start = int(np.argmax(speaker))
    assert speaker[answer_start], "the answer never played"
    voice_frames = np.nonzero(voice[answer_start:])[0]
    assert len(voice_frames), "the user's voice never reached the room"
    voice_start = answer_start + int(voice_frames[0])
    gap = GAP_MS // 10
    last_loud = voice_start - 1
    for index in range(voice_start, len(speaker)):
        if speaker[index]:
            last_loud = index
        elif index - last_loud >= gap:
            break
    return {
        "answer_start_ms": answer_start * 10.0,
        "voice_start_ms": voice_start * 10.0,
        "answer_stop_ms": (last_loud + 1) * 10.0,
    }


async def test_the_spoken_answer_stops_when_the_user_speaks_over_it(room: PulseServer) -> None:
    from fullduplex_emulator.speech import load_speech

    speech = load_speech(True)
    assert speech is not None
    question = speech.speak("what is nine times nine", 24000)
    # both sides on one clock
    recorder = room.record("room.monitor", rate=RATE, channels=2)
    async with Emulator(api_key=KEY, port=0, speech=True) as emu:
        model = BidiOpenAIRealtimeModel(
            model_id="gpt-realtime",
            client_config={"api_key": KEY, "base_url": emu.base_url},
        )
        agent = BidiAgent(model=model)
        # This room has no echo path (the microphone hears only the user's channel),
        # like a user on headphones, who would turn echo cancellation off. With it
        # on, AEC3 starts out taking the speaker to be audible, and until seconds
        # of answer have shown it no echo, its suppressor holds the user's voice
        # back: 620 ms here, 1.5 s into the first answer (benchmarks/echo.py
        # measures it). Over an echo path it converges within a second and the
        # user interrupts in about 150 ms (tests/audio/test_echo_with_emulator.py).
        audio_io = BidiAudioIO(echo_cancellation=False)
        run = asyncio.create_task(agent.run(inputs=[audio_io.input()], outputs=[audio_io.output()]))
        try:
            async with asyncio.timeout(60):
                while not (agent.playback.has_player and agent.started):
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                await agent.send(LONG_TURN)
                # let the answer play for a while, then speak over it
                while not any(
                    agent.playback.heard_ms(item) > 1500 for item in list(agent.playback._received)
                ):
                    await asyncio.sleep(0.02)
                spoken = room.play("room_voice", question, 24000)
                await asyncio.to_thread(spoken.wait, 30)
                # the user's turn is heard and answered; wait for the truncate to land
                while not any(f.get("type") == "conversation.item.truncate" for f in emu.received):
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.0)
        finally:
            await agent.stop()
            if not run.done():
                run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            samples = await asyncio.to_thread(recorder.stop)
        truncates = [f for f in emu.received if f.get("type") == "conversation.item.truncate"]
        state: Any = emu.connections[0].session
        answer_id = truncates[0]["item_id"]
        answer = state.conversation.get(answer_id)
        kept_ms = len(state.conversation.audio_of(answer_id)) // state.item_bytes_per_ms[answer_id]
        messages = list(agent.messages)

    stereo = samples[: len(samples) // 2 * 2].reshape(-1, 2)
    figures = measure(stereo[:, 0], stereo[:, 1])
    stop_ms = figures["answer_stop_ms"] - figures["voice_start_ms"]
    played_ms = figures["answer_stop_ms"] - figures["answer_start_ms"]
    print(f"barge-in: {figures}, answer stopped {stop_ms:.0f} ms after the voice started")
    assert stop_ms <= STOP_WITHIN_MS, figures
    # the model's memory keeps what was heard: the truncate says how much played, and the
    # emulator cut its copy there (its transcript goes, as the service's does)
    assert len(truncates) == 1, truncates
    heard_ms = truncates[0]["audio_end_ms"]
    assert abs(heard_ms - played_ms) <= 200, (heard_ms, figures)
    assert kept_ms == heard_ms
    assert all(part.get("transcript", "") == "" for part in answer["content"])
    # the agent's own history marks the answer cut short
    cut = [m for m in messages if m.get("interrupted")]
    assert cut, messages
