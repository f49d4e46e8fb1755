"""Registration through the entry point, a light import, and input audio conversion."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

import fullduplex
from fullduplex.errors import EventError
from fullduplex.events import BidiAudioInputEvent
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai import plugin as openai_plugin
from fullduplex_openai.audio_convert import InputAudioConverter, output_converter_factory


def test_registered_as_provider_openai() -> None:
    model = fullduplex.get_model("openai/gpt-realtime-mini", client_config={"api_key": "k"})
    assert isinstance(model, BidiOpenAIRealtimeModel)
    assert model.model_id == "gpt-realtime-mini"
    from fullduplex.models import BidiOpenAIRealtimeModel as FromModels

    assert FromModels is BidiOpenAIRealtimeModel


def test_the_registration_declares_the_emulator_command() -> None:
    # core's `fullduplex emulator` runs it; the plugin adds no command of its own
    from fullduplex.registry import model_registration

    registration, _ = model_registration("openai")
    assert registration.emulator_command == "fullduplex_openai.emulator.cli:emulator_command"
    module, _, name = registration.emulator_command.partition(":")
    assert isinstance(getattr(__import__(module, fromlist=[name]), name), click.Command)
    assert not hasattr(openai_plugin, "register_commands")


def test_import_is_light() -> None:
    code = (
        "import sys, fullduplex_openai\n"
        "names = ('websockets', 'numpy', 'soxr', 'pydantic', 'aiohttp')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_wire_rate_mono_passes_through_untouched() -> None:
    conv = InputAudioConverter("pcm16", 24000)
    chunk = b"\x01\x02" * 240
    event = BidiAudioInputEvent(chunk)
    assert conv.convert(event) is event.audio
    assert output_converter_factory(24000, 24000, 1) is None


def test_stereo_is_mixed_to_mono() -> None:
    conv = InputAudioConverter("pcm16", 24000)
    left_right = (b"\x10\x00\x30\x00") * 100  # L=16, R=48 -> 32
    out = conv.convert(BidiAudioInputEvent(left_right, channels=2))
    assert out == b"\x20\x00" * 100


def test_pcm16_to_g711_wire() -> None:
    conv = InputAudioConverter("g711_ulaw", 8000)
    out = conv.convert(BidiAudioInputEvent(b"\x00\x00" * 160, sample_rate=8000))
    assert len(out) == 160  # one byte per sample
    passthrough = BidiAudioInputEvent(b"\xff" * 160, sample_rate=8000, format="g711_ulaw")
    assert conv.convert(passthrough) == b"\xff" * 160


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (BidiAudioInputEvent(b"\x00" * 10, format="opus"), "format"),  # type: ignore[arg-type]
        (BidiAudioInputEvent(b"\x00" * 10, sample_rate=0), "sample_rate"),
        (BidiAudioInputEvent(b"\x00" * 10, channels=0), "channels"),
        (BidiAudioInputEvent(b"\x00" * 3, channels=2), "audio"),
    ],
)
def test_audio_it_cannot_take_is_a_clear_event_error(
    event: BidiAudioInputEvent, words: str
) -> None:
    with pytest.raises(EventError, match=words):
        InputAudioConverter("pcm16", 24000).convert(event)


def test_output_upsampled_and_stereo() -> None:
    make = output_converter_factory(24000, 48000, 2)
    assert make is not None
    convert = make()
    out = convert(b"\x00\x10" * 2400) + convert(b"\x00\x10" * 2400)
    assert len(out) < 38400  # the filter holds a tail...
    out += convert.flush()
    # ...which flush returns: 200 ms at 48 kHz stereo is 38400 bytes
    assert abs(len(out) - 38400) <= 8
    assert len(out) % 4 == 0
