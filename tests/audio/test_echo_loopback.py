"""Echo cancellation over a real echo path: PulseAudio's loopback plays the speaker into the mic.

``pulse_server.echo_path()`` makes the virtual microphone hear the virtual
speaker 40 ms late at about -9 dB, like a laptop without headphones. The
assistant's speech (espeak-ng) plays through ``BidiAudioIO``'s speaker; its
microphone stream (what the agent would send) is compared with a second,
uncancelled microphone on the same source recorded at the same time.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from fullduplex.events import BidiAudioStreamEvent
from fullduplex_audio import BidiAudioIO
from fullduplex_audio.microphone import MicrophoneInput

from .conftest import StandInAgent, unavailable
from .pulse import PulseServer
from .speech import espeak, espeak_available

pytestmark = pytest.mark.audio

RATE = 24000
#: the issue's figure, held by every one-second window after convergence (measured over
#: eleven runs: the worst window 27.0-53.3 dB, the whole span 38.7-57.7 dB, also with every
#: core busy; without cancellation both are about 0 dB)
MIN_ERLE_DB = 20.0
#: the whole converged span, measured likewise
MIN_SPAN_ERLE_DB = 30.0
CONVERGENCE_S = 4.0


async def _pump(mic: MicrophoneInput, into: bytearray) -> None:
    while (event := await mic()) is not None:
        into.extend(event.audio)


def _energy(samples: np.ndarray) -> float:
    values = samples.astype(np.float64)
    return float(np.sum(values * values))


async def test_erle_on_the_microphone_stream_over_a_loopback(pulse_server: PulseServer) -> None:
    if not espeak_available():
        unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    speech = espeak()
    agent = StandInAgent()
    audio_io = BidiAudioIO()  # echo cancellation on by default
    mic, speaker = audio_io.input(), audio_io.output()
    raw_mic = BidiAudioIO(echo_cancellation=False).input()
    cleaned, raw = bytearray(), bytearray()
    with pulse_server.echo_path(latency_ms=40, volume_percent=70):
        await mic.start(agent)  # type: ignore[arg-type]
        await raw_mic.start(agent)  # type: ignore[arg-type]
        await speaker.start(agent)  # type: ignore[arg-type]
        pumps = [asyncio.create_task(_pump(mic, cleaned)), asyncio.create_task(_pump(raw_mic, raw))]
        try:
            async with asyncio.timeout(90):
                await asyncio.sleep(0.5)
                start_bytes = min(len(cleaned), len(raw))
                step = RATE // 25 * 2  # 40 ms chunks, as a model streams them
                for i in range(0, len(speech), step):
                    await speaker(
                        BidiAudioStreamEvent(
                            speech[i : i + step], sample_rate=RATE, channels=1, item_id="answer"
                        )
                    )
                buffer = speaker.buffer
                assert buffer is not None
                while buffer.buffered_ms > 0:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
        finally:
            await speaker.stop()
            await mic.stop()
            await raw_mic.stop()
            await asyncio.gather(*pumps, return_exceptions=True)
    echo_canceller = audio_io.echo_canceller
    assert echo_canceller is not None
    stats = echo_canceller.stats
    assert stats.dropped_blocks == 0
    before = np.frombuffer(bytes(raw), dtype=np.int16)
    after = np.frombuffer(bytes(cleaned), dtype=np.int16)
    speech_s = len(speech) / 2 / RATE
    # both microphones started together; the converged span, well inside the speech
    first = start_bytes // 2 + int(CONVERGENCE_S * RATE)
    last = start_bytes // 2 + int((speech_s - 0.5) * RATE)
    assert len(before) > last
    assert len(after) > last
    echo_level = np.sqrt(_energy(before[first:last]) / (last - first))
    assert echo_level > 300, f"the loopback carried no echo (RMS {echo_level:.0f})"
    overall = 10 * np.log10(_energy(before[first:last]) / max(_energy(after[first:last]), 1.0))
    windows = erle_windows(before[first:last], after[first:last], RATE)
    assert len(windows) >= 10, "too few windows with echo in them"
    print(
        f"ERLE over {(last - first) / RATE:.1f} s after {CONVERGENCE_S:.0f} s: "
        f"{overall:.1f} dB; one-second windows: median {float(np.median(windows)):.1f}, "
        f"worst {min(windows):.1f} dB; CPU {stats.cpu_per_frame_us:.0f} us per 10 ms frame "
        f"(max {stats.max_frame_s * 1e6:.0f})"
    )
    assert min(windows) >= MIN_ERLE_DB, f"a window fell to {min(windows)} dB: {windows}"
    assert overall >= MIN_SPAN_ERLE_DB, f"ERLE {overall:.1f} dB"


def erle_windows(before: np.ndarray, after: np.ndarray, rate: int) -> list[float]:
    """ERLE of each one-second window in which the echo is audible (RMS over 300)."""
    figures = []
    for start in range(0, len(before) - rate + 1, rate):
        echo = _energy(before[start : start + rate])
        if np.sqrt(echo / rate) > 300:
            left = max(_energy(after[start : start + rate]), 1.0)
            figures.append(round(float(10 * np.log10(echo / left)), 1))
    return figures
