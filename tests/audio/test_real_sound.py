"""BidiAudioIO against a real PulseAudio server: what goes in and comes out is real sound.

The virtual microphone is the monitor of the ``mic`` null sink (the test plays
into it with ``pacat``); the virtual speaker is the ``speaker`` null sink,
whose monitor the test records. Signals are compared by cross-correlation and
durations are read off the recordings.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from fullduplex.events import BidiAudioInputEvent, BidiAudioStreamEvent, BidiInterruptionEvent
from fullduplex_audio import BidiAudioIO

from .conftest import StandInAgent
from .pulse import PulseServer
from .signals import as_array, best_match, noise_burst, to_rate, tone, tone_span_ms

pytestmark = pytest.mark.audio

RATE = 24000
CHUNK_MS = 20
#: the start of a played sound the sink may rewind over (see the microphone test)
SINK_REWIND_MS = 50


def chunks(pcm: bytes, ms: int = CHUNK_MS, rate: int = RATE) -> list[bytes]:
    size = rate * ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


async def wait_until(predicate: object, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("device_rate", "device_channels"),
    [(None, None), (48000, 2)],
    ids=["model-format", "48k-stereo-device"],
)
async def test_microphone_audio_reaches_the_model_unchanged(
    pulse_server: PulseServer, device_rate: int | None, device_channels: int | None
) -> None:
    agent = StandInAgent()
    mic = BidiAudioIO(
        input_sample_rate=device_rate, input_channels=device_channels, input_latency="high"
    ).input()
    await mic.start(agent)  # type: ignore[arg-type]
    received: list[BidiAudioInputEvent] = []
    try:
        assert mic.stream_format is not None
        if device_rate is not None:
            assert (mic.stream_format.sample_rate, mic.stream_format.channels) == (48000, 2)
        async with asyncio.timeout(30):
            first = await mic()
            assert first is not None
            signal = noise_burst(600)
            player = pulse_server.play("mic", signal, RATE)
            # read until the player has drained into the sink, then one second more
            extra_ms = 0.0
            while extra_ms < 1000:
                event = await mic()
                assert event is not None
                received.append(event)
                if player.poll() is not None:
                    extra_ms += len(event.audio) / 2 * 1000 / event.sample_rate
            assert player.returncode == 0
    finally:
        await mic.stop()
    assert all(e.sample_rate == RATE and e.channels == 1 for e in received)
    recorded = as_array(b"".join(e.audio for e in received))
    # PulseAudio rewinds a sink when a new stream starts playing into it, so its
    # monitor can lose or smear the first milliseconds of the burst (seen on the
    # 48 kHz stereo path). Everything after that must arrive sample for sample.
    settled = as_array(signal)[RATE * SINK_REWIND_MS // 1000 :]
    score, _ = best_match(recorded, settled)
    assert score > 0.9, f"the played noise burst was not found in the input (score {score:.3f})"
    # after stop() the input is finished
    assert await mic() is None


@pytest.mark.parametrize(
    ("device_rate", "device_channels"),
    [(None, None), (48000, 2)],
    ids=["model-format", "48k-stereo-device"],
)
async def test_model_audio_comes_out_of_the_speaker(
    pulse_server: PulseServer, device_rate: int | None, device_channels: int | None
) -> None:
    agent = StandInAgent()
    speaker = BidiAudioIO(
        output_sample_rate=device_rate, output_channels=device_channels, output_latency=0.1
    ).output()
    recorder = pulse_server.record("speaker.monitor", rate=48000)
    await speaker.start(agent)  # type: ignore[arg-type]
    try:
        assert agent.playback.has_player
        signal = noise_burst(800, seed=11)
        for chunk in chunks(signal):
            await speaker(agent.received(BidiAudioStreamEvent(chunk, RATE, 1, item_id="item-1")))
        async with asyncio.timeout(20):
            await wait_until(lambda: agent.playback._played.get("item-1", 0) >= 790, 20)
            await asyncio.sleep(0.2)
    finally:
        await speaker.stop()
        samples = await asyncio.to_thread(recorder.stop)
    assert not agent.playback.has_player
    score, _ = best_match(to_rate(samples, 48000, RATE), as_array(signal))
    assert score > 0.9, (
        f"the model's audio was not found on the speaker (score {score:.3f}, "
        f"recorded {len(samples) / 48:.0f} ms, loudest {np.max(np.abs(samples), initial=0)})"
    )


async def test_interruption_stops_playback_and_the_report_matches_the_recording(
    pulse_server: PulseServer,
) -> None:
    agent = StandInAgent()
    # a roomy device buffer (robust on a busy machine): the interruption must cut it short
    speaker = BidiAudioIO(output_latency=0.1).output()
    recorder = pulse_server.record("speaker.monitor", rate=48000)
    await speaker.start(agent)  # type: ignore[arg-type]
    try:
        for chunk in chunks(tone(3000)):
            await speaker(agent.received(BidiAudioStreamEvent(chunk, RATE, 1, item_id="item-1")))
        async with asyncio.timeout(20):
            await wait_until(lambda: agent.playback._played.get("item-1", 0) >= 600, 20)
        await speaker(BidiInterruptionEvent(item_id="item-1", audio_received_ms=3000))
        heard_at_interruption = agent.playback._played["item-1"]
        # (late chunks of a cut item never reach an output: the agent drops them,
        # tests/core/test_agent_interruption_decisions.py)
        await asyncio.sleep(0.5)
        final_report = agent.playback._played["item-1"]
    finally:
        await speaker.stop()
        samples = await asyncio.to_thread(recorder.stop)
    played_ms = tone_span_ms(samples, 48000)
    assert 600 <= played_ms < 3000
    # 3. the tone stops within 50 ms of audio after the interruption
    assert played_ms - heard_at_interruption <= 50, (played_ms, heard_at_interruption)
    # 4. the played-milliseconds report agrees with the recording within 30 ms
    assert abs(final_report - played_ms) <= 30, (final_report, played_ms)


async def test_report_of_a_whole_item_matches_the_recording(pulse_server: PulseServer) -> None:
    agent = StandInAgent()
    speaker = BidiAudioIO(output_latency=0.1).output()
    recorder = pulse_server.record("speaker.monitor", rate=48000)
    await speaker.start(agent)  # type: ignore[arg-type]
    try:
        for chunk in chunks(tone(700, freq=330)):
            await speaker(agent.received(BidiAudioStreamEvent(chunk, RATE, 1, item_id="item-2")))
        async with asyncio.timeout(20):
            await wait_until(lambda: agent.playback._played.get("item-2", 0) >= 700, 20)
        await asyncio.sleep(0.2)
        report = agent.playback._played["item-2"]
    finally:
        await speaker.stop()
        samples = await asyncio.to_thread(recorder.stop)
    played_ms = tone_span_ms(samples, 48000)
    assert abs(report - played_ms) <= 30, (report, played_ms)
    assert np.isclose(report, 700, atol=1)
