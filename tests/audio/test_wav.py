"""BidiWavIO: WAV files in and out, with format conversion, and no sound device."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from fullduplex.errors import ConfigurationError, IOChannelError
from fullduplex.events import BidiAudioInputEvent, BidiAudioStreamEvent
from fullduplex.model import ModelCapabilities
from fullduplex_audio import BidiWavIO

from .conftest import StandInAgent
from .signals import as_array, best_match, noise_burst


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int) -> None:
    """Write float samples in [-1, 1] (frames x channels) as integer PCM of ``width`` bytes."""
    if width == 1:
        raw = np.clip(np.rint(samples * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 2:
        raw = np.rint(samples * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = np.rint(samples * 8388607).astype("<i4").reshape(-1)
        raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raw = np.rint(samples * 2147483647).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(samples.shape[1])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(raw)


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as reader:
        assert reader.getsampwidth() == 2
        data = reader.readframes(reader.getnframes())
        return np.frombuffer(data, "<i2"), reader.getframerate(), reader.getnchannels()


async def read_all(source: object) -> list[BidiAudioInputEvent]:
    events = []
    async with asyncio.timeout(30):
        while (event := await source()) is not None:  # type: ignore[operator]
            events.append(event)
    return events


@pytest.mark.parametrize("width", [1, 2, 3, 4])
async def test_input_converts_any_pcm_wav_to_the_model_format(tmp_path: Path, width: int) -> None:
    # 44.1 kHz stereo noise, the same in both channels
    reference = as_array(noise_burst(500, rate=44100, seed=3)) / 32767
    path = tmp_path / "in.wav"
    write_wav(path, np.stack([reference, reference], axis=1), 44100, width)
    io = BidiWavIO(input_path=path, realtime=False, frame_ms=20, trailing_silence_ms=300)
    source = io.input()
    agent = StandInAgent(ModelCapabilities(input_sample_rate=16000))
    await source.start(agent)  # type: ignore[arg-type]
    events = await read_all(source)
    await source.stop()
    assert {(e.sample_rate, e.channels) for e in events} == {(16000, 1)}
    assert all(len(e.audio) == 320 * 2 for e in events[:-1])  # 20 ms frames at 16 kHz
    audio = as_array(b"".join(e.audio for e in events))
    assert len(audio) == pytest.approx(16000 * 0.8, abs=40)  # 500 ms + 300 ms of silence
    assert np.all(audio[-16000 * 250 // 1000 :] == 0)  # the trailing silence
    expected = as_array(noise_burst(500, rate=44100, seed=3))
    from fullduplex.audio import resample

    expected16 = as_array(resample(expected.astype("<i2").tobytes(), 44100, 16000))
    score, offset = best_match(audio, expected16)
    assert score > 0.98 if width > 1 else score > 0.9
    assert offset <= 16
    assert await source() is None


async def test_realtime_input_is_paced_like_a_microphone(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    write_wav(path, np.zeros((2400, 1)), 24000, 2)  # 100 ms
    source = BidiWavIO(input_path=path, trailing_silence_ms=200).input()
    await source.start(StandInAgent())  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    began = loop.time()
    events = await read_all(source)
    elapsed = loop.time() - began
    assert len(events) == 15  # 300 ms in 20 ms frames
    # paced: the 15 frames cannot all arrive at once (generous lower bound)
    assert elapsed >= 0.2


async def test_output_writes_the_model_speech_at_the_model_rate(tmp_path: Path) -> None:
    path = tmp_path / "out" / "said.wav"
    sink = BidiWavIO(output_path=path).output()
    agent = StandInAgent(ModelCapabilities(output_sample_rate=24000))
    await sink.start(agent)  # type: ignore[arg-type]
    speech16 = noise_burst(400, rate=16000, seed=5)
    stereo24 = np.repeat(as_array(noise_burst(200, seed=9))[:, None], 2, axis=1)
    size = 640
    for start in range(0, len(speech16), size):
        chunk = speech16[start : start + size]
        await sink(BidiAudioStreamEvent(chunk, 16000, 1, item_id="a"))
    await sink(BidiAudioStreamEvent(stereo24.astype("<i2").tobytes(), 24000, 2, item_id="b"))
    await sink.stop()
    samples, rate, channels = read_wav(path)
    assert (rate, channels) == (24000, 1)
    assert len(samples) == pytest.approx(24000 * 0.6, abs=48)
    from fullduplex.audio import resample

    expected = as_array(resample(speech16, 16000, 24000))
    score, _ = best_match(samples.astype(np.float64), expected[100:-100])
    assert score > 0.98
    score_b, offset_b = best_match(samples.astype(np.float64), stereo24[:, 0])
    assert score_b > 0.99
    assert offset_b >= 24000 * 0.39


async def test_round_trip_wav_in_to_wav_out(tmp_path: Path) -> None:
    """What the input yields, given to the output as the model's audio, is the same signal."""
    source_path = tmp_path / "in.wav"
    reference = as_array(noise_burst(300, rate=48000, seed=4)) / 32767
    write_wav(source_path, np.stack([reference, reference], axis=1), 48000, 2)
    io = BidiWavIO(input_path=source_path, output_path=tmp_path / "out.wav", realtime=False)
    agent = StandInAgent()
    source, sink = io.input(), io.output()
    await source.start(agent)  # type: ignore[arg-type]
    await sink.start(agent)  # type: ignore[arg-type]
    for event in await read_all(source):
        await sink(BidiAudioStreamEvent(event.audio, event.sample_rate, event.channels))
    await sink.stop()
    samples, rate, channels = read_wav(tmp_path / "out.wav")
    assert (rate, channels) == (24000, 1)
    from fullduplex.audio import resample

    expected = as_array(resample(noise_burst(300, rate=48000, seed=4), 48000, 24000))
    score, _ = best_match(samples.astype(np.float64), expected)
    assert score > 0.98


async def test_missing_and_malformed_files_name_the_field(tmp_path: Path) -> None:
    source = BidiWavIO(input_path=tmp_path / "nope.wav").input()
    with pytest.raises(IOChannelError, match="input_path: no such file"):
        await source.start(StandInAgent())  # type: ignore[arg-type]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    source = BidiWavIO(input_path=bad).input()
    with pytest.raises(IOChannelError, match=r"input_path: .* not a WAV file"):
        await source.start(StandInAgent())  # type: ignore[arg-type]


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(ConfigurationError, match="input_path"):
        BidiWavIO(input_path=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="trailing_silence_ms"):
        BidiWavIO(trailing_silence_ms=-1)
    with pytest.raises(ConfigurationError, match="realtime"):
        BidiWavIO(realtime="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="input_path"):
        BidiWavIO(output_path="x.wav").input()
    with pytest.raises(ConfigurationError, match="output_path"):
        BidiWavIO(input_path="x.wav").output()
