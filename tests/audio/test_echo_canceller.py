"""The echo canceller without a sound server: simulated devices feed it timestamped blocks.

The speaker's blocks arrive well before they sound (a device buffer whose depth
changes, as it does after a stream restart) and the microphone hears them 30 ms
after they sound. Only alignment by the DAC / ADC timestamps pairs the right
reference with each microphone frame; pairing by arrival order would be off by
a drifting amount. These run in the ordinary suite (no ``audio`` mark).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from fullduplex.errors import ConfigurationError
from fullduplex_audio import BidiAudioIO
from fullduplex_audio.echo import EchoCanceller, EchoSettings, check_echo_settings
from fullduplex_audio.timeline import FarEndTimeline

RATE = 24000
BLOCK = 480  # 20 ms
ACOUSTIC_DELAY = 0.030
ECHO_GAIN = 0.5


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Shaped noise with a syllable envelope: speech's statistics without its periodicity."""
    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    noise = rng.standard_normal(n)
    kernel = np.hanning(15)
    shaped = np.convolve(noise, kernel / kernel.sum(), mode="same")
    syllables = np.repeat(rng.uniform(0.2, 1.0, size=n // 4800 + 1), 4800)[:n]
    envelope = np.abs(np.sin(np.arange(n) * np.pi / 4800)) * syllables
    signal = shaped * envelope
    return (signal / np.max(np.abs(signal)) * 12000).astype(np.int16)


def erle_db(before: np.ndarray, after: np.ndarray) -> float:
    b = before.astype(np.float64)
    a = after.astype(np.float64)
    return float(10 * np.log10((np.sum(b * b) + 1.0) / (np.sum(a * a) + 1.0)))


class Collector:
    def __init__(self) -> None:
        self.data = bytearray()
        self.lock = threading.Lock()

    def __call__(self, pcm: bytes) -> None:
        with self.lock:
            self.data.extend(pcm)

    def samples(self) -> np.ndarray:
        with self.lock:
            return np.frombuffer(bytes(self.data), dtype=np.int16)


def run_echo_path(
    far: np.ndarray,
    near_extra: np.ndarray | None = None,
    *,
    flush_at: float | None = None,
    tell_flush: bool = True,
    settings: EchoSettings | None = None,
    factory: Any = None,
    speaker_first: bool = False,
) -> tuple[np.ndarray, np.ndarray, EchoCanceller]:
    """Play ``far`` through a simulated device and echo path; (mic input, canceller output)."""
    rng = np.random.default_rng(3)
    t0 = 1000.0
    n_blocks = len(far) // BLOCK
    played = far[: n_blocks * BLOCK].astype(np.float64)
    if flush_at is not None:
        played[int(flush_at * RATE) :] = 0.0  # the device dropped it: it never sounded
    delay = int(ACOUSTIC_DELAY * RATE)
    echo = np.concatenate([np.zeros(delay), played])[: len(played)] * ECHO_GAIN
    mic = echo + rng.standard_normal(len(echo)) * 5
    if near_extra is not None:
        mic[: len(near_extra)] += near_extra[: len(mic)]
    mic_pcm = np.clip(mic, -32768, 32767).astype(np.int16)

    canceller = EchoCanceller(settings or EchoSettings(), factory)
    out = Collector()
    if speaker_first:  # agent.run starts outputs and inputs in no promised order
        canceller.attach_far(RATE, 1)
        canceller.start(RATE, 1, RATE, 1, out)
    else:
        canceller.start(RATE, 1, RATE, 1, out)
        canceller.attach_far(RATE, 1)
    # the device buffer's depth (how far ahead a block is handed over) wanders 20..200 ms
    leads = 1 + (np.arange(n_blocks) // 50) % 10
    silence = bytes(BLOCK * 2)
    next_far = 0
    flushed = False
    for k in range(n_blocks):
        now = t0 + k * BLOCK / RATE
        if flush_at is not None and not flushed and now >= t0 + flush_at:
            # the speaker aborts its stream: what it had handed over is gone, and the
            # restarted stream's first block sounds one device latency later
            if tell_flush:
                canceller.flush_far(now)
            flushed = True
            next_far = k + leads[k]
        while next_far < n_blocks and next_far <= k + leads[k]:
            when = t0 + next_far * BLOCK / RATE
            block = far[next_far * BLOCK : (next_far + 1) * BLOCK].tobytes()
            canceller.submit_far(when, silence if flushed else block)
            next_far += 1
        canceller.submit_near(now, mic_pcm[k * BLOCK : (k + 1) * BLOCK].tobytes())
        if k % 20 == 0:  # let the worker keep up (the queue is bounded, like a real one)
            while canceller._queue.qsize() > 64:
                threading.Event().wait(0.001)
    deadline = 200
    while len(out.data) < n_blocks * BLOCK * 2 and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    canceller.stop_sync()
    return mic_pcm, out.samples(), canceller


class RecordingProcessor:
    """Stands in for WebRTC's processor: passes the microphone through, keeps every far frame."""

    instances: list[RecordingProcessor] = []

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.far: list[np.ndarray] = []
        RecordingProcessor.instances.append(self)

    def process(self, near: np.ndarray, far: np.ndarray | None = None) -> np.ndarray:
        self.far.append(np.zeros(0, np.int16) if far is None else far.copy())
        return near


def ramp(seconds: float) -> np.ndarray:
    """Far-end samples that name their own position (1, 2, 3, ... wrapping below int16's max)."""
    return (np.arange(int(RATE * seconds)) % 30000 + 1).astype(np.int16)


@pytest.mark.parametrize("speaker_first", [False, True], ids=["mic-first", "speaker-first"])
def test_each_microphone_frame_gets_the_far_audio_that_sounded_at_its_adc_time(
    speaker_first: bool,
) -> None:
    """The device buffer's depth wanders 20..200 ms; arrival order would pair the wrong audio."""
    RecordingProcessor.instances.clear()
    far = ramp(6.0)
    mic, cleaned, canceller = run_echo_path(
        far, factory=RecordingProcessor, speaker_first=speaker_first
    )
    (processor,) = RecordingProcessor.instances
    assert processor.config["sample_rate"] == RATE
    assert processor.config["echo_cancellation"] is True
    assert np.array_equal(cleaned, mic)  # the microphone passed through, in order, whole
    frame = RATE // 100
    assert len(processor.far) == len(far) // frame
    for i, got in enumerate(processor.far):
        assert np.array_equal(got, far[i * frame : (i + 1) * frame]), f"frame {i} misaligned"
    assert canceller.stats.frames == len(processor.far)


def test_with_webrtc_the_result_equals_perfectly_paired_streams() -> None:
    """Real AEC3 through the canceller gives exactly what it gives on ideally paired audio."""
    from pywebrtc_audio import AudioProcessor

    far = speech_like(8.0, seed=1)
    mic, cleaned, canceller = run_echo_path(far)
    assert canceller.stats.dropped_blocks == 0
    direct = AudioProcessor(sample_rate=RATE, num_channels=1, echo_cancellation=True)
    frame = RATE // 100
    paired = np.concatenate(
        [
            direct.process(mic[i : i + frame], far[i : i + frame])
            for i in range(0, len(mic) - frame + 1, frame)
        ]
    )
    assert np.array_equal(cleaned, paired)
    erle = erle_db(mic[4 * RATE :], cleaned[4 * RATE :])
    assert erle >= 15.0, f"ERLE after convergence {erle:.1f} dB on shaped noise"
    assert canceller.stats.cpu_per_frame_us > 0


@pytest.mark.parametrize("told", [True, False], ids=["flushed", "not-told"])
def test_after_a_flush_the_reference_holds_no_stale_audio(told: bool) -> None:
    """Audio the speaker had handed over when an interruption aborted it never sounded."""
    RecordingProcessor.instances.clear()
    far = ramp(8.0)
    flush_at = 6.0  # the device held 140 ms then (see the wandering lead)
    run_echo_path(far, flush_at=flush_at, tell_flush=told, factory=RecordingProcessor)
    (processor,) = RecordingProcessor.instances
    frame = RATE // 100
    after = np.concatenate(processor.far[int(flush_at * 100) :])
    stale = int(np.count_nonzero(after)) * 1000 // RATE
    if told:
        assert stale == 0
    else:  # the harness really leaves stale audio behind when nobody says so
        assert 100 <= stale <= 200, stale
    before = np.concatenate(processor.far[: int(flush_at * 100)])
    assert np.array_equal(before, far[: len(before)])
    assert len(processor.far) == len(far) // frame


def test_timeline_flush_erases_what_never_sounded() -> None:
    timeline = FarEndTimeline(1000, 1, capacity_s=1.0)
    timeline.write(10.0, np.full(100, 7, dtype=np.int16))  # 10.0 .. 10.1 s
    timeline.flush(10.05)
    got = timeline.read(10.0, 100).reshape(-1)
    assert (got[:50] == 7).all()
    assert (got[50:] == 0).all()
    # what is written after the flush lands where its own timestamp says
    timeline.write(10.2, np.full(10, 3, dtype=np.int16))
    assert (timeline.read(10.2, 10) == 3).all()
    assert (timeline.read(10.1, 100).reshape(-1)[:100] == 0).all()


def test_timeline_reads_silence_outside_what_it_holds() -> None:
    timeline = FarEndTimeline(1000, 1, capacity_s=0.1)
    assert (timeline.read(5.0, 10) == 0).all()
    timeline.write(5.0, np.arange(1, 301, dtype=np.int16))  # longer than the ring
    assert (timeline.read(5.0, 10) == 0).all()  # overwritten: forgotten
    assert timeline.read(5.29, 10).reshape(-1).tolist() == list(range(291, 301))
    assert (timeline.read(5.3, 10) == 0).all()  # not played yet


@pytest.mark.parametrize("field", ["echo_cancellation", "noise_suppression", "auto_gain"])
def test_switches_must_be_booleans(field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{field}: expected True or False, got 'yes'"):
        BidiAudioIO(**{field: "yes"})  # type: ignore[arg-type]


def test_echo_cancellation_is_on_by_default_and_can_be_turned_off() -> None:
    io = BidiAudioIO()
    assert io.echo_canceller is not None
    assert io.echo_canceller.settings == EchoSettings(True, False, False)
    assert BidiAudioIO(echo_cancellation=False).echo_canceller is None
    assert check_echo_settings(False, True, False).any


@pytest.mark.parametrize("flag", [False, True])
def test_chat_audio_has_a_no_echo_cancellation_option(flag: bool) -> None:
    from click.testing import CliRunner

    from fullduplex.chat import _channels, chat
    from fullduplex_audio.microphone import MicrophoneInput

    shown = CliRunner().invoke(chat, ["--help"]).output
    assert "--no-echo-cancellation" in shown
    inputs, _ = _channels(True, None, None, echo_cancellation=not flag)
    (mic,) = inputs
    assert isinstance(mic, MicrophoneInput)
    assert (mic._echo is None) is flag


def test_building_the_io_imports_no_numpy() -> None:
    """numpy, the timeline and WebRTC load with the canceller's worker, not with the object."""
    import subprocess
    import sys

    probe = (
        "import sys; from fullduplex_audio import BidiAudioIO; io = BidiAudioIO(); "
        "io.input(); io.output(); print(sorted(m for m in ('numpy', 'pywebrtc_audio') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
