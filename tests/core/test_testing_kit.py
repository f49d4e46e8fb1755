"""The testing kit itself: FakeModel scripts, recording IO, the pytest plugin."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fullduplex.errors import ModelConnectionError
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
)
from fullduplex.model import BidiModel
from fullduplex.testing import (
    FakeModel,
    RecordingOutput,
    ScriptedInput,
    emit,
    end,
    expect,
    fail,
)
from fullduplex.tools import tool


@tool
def noop() -> str:
    """Does nothing."""
    return ""


async def test_fake_model_plays_its_script_and_records() -> None:
    model = FakeModel(
        [
            expect(BidiTextInputEvent, where=lambda e: e.text == "second"),
            emit(BidiResponseStartEvent("r1")),
            fail(ModelConnectionError("drop")),
            end(),
        ],
        truncation=True,
        model_id="scripted",
    )
    assert isinstance(model, BidiModel)
    assert model.capabilities.truncation
    assert model.model_id == "scripted"
    await model.start("prompt", [noop.spec], [{"role": "user", "content": [{"text": "x"}]}])
    received = []

    async def read() -> None:
        async for event in model.receive():
            received.append(event)

    reader = asyncio.create_task(read())
    await model.send(BidiTextInputEvent("first"))
    await asyncio.sleep(0.02)
    assert received == []  # "first" does not match the expectation
    await model.send(BidiTextInputEvent("second"))
    with pytest.raises(ModelConnectionError):
        async with asyncio.timeout(2):
            await reader
    assert received == [BidiResponseStartEvent("r1")]
    await model.stop()
    await model.start()  # a restart continues the script
    async with asyncio.timeout(2):
        rest = [e async for e in model.receive()]
    assert rest == []
    assert model.finished
    assert model.starts[0].system_prompt == "prompt"
    assert model.starts[0].tools == (noop.spec,)
    assert model.starts[0].messages == [{"role": "user", "content": [{"text": "x"}]}]
    assert len(model.starts) == 2
    assert [e.text for e in model.sent_of(BidiTextInputEvent)] == ["first", "second"]


async def test_fake_model_receive_ends_on_stop_when_idle() -> None:
    model = FakeModel()
    await model.start()

    async def read() -> list[object]:
        return [e async for e in model.receive()]

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.02)
    assert not reader.done()
    await model.stop()
    async with asyncio.timeout(1):
        assert await reader == []


async def test_send_error_simulates_a_dead_socket() -> None:
    model = FakeModel()
    model.send_error = ModelConnectionError("closed")
    with pytest.raises(ModelConnectionError):
        await model.send(BidiAudioInputEvent(b"\x00\x00"))
    assert model.sent == []


async def test_scripted_input_and_recording_output() -> None:
    gate = asyncio.Event()
    source = ScriptedInput(["hi", 0.01, gate, BidiAudioInputEvent(b"\x00\x00")])
    assert await source() == BidiTextInputEvent("hi")
    pending = asyncio.create_task(source())
    await asyncio.sleep(0.05)
    assert not pending.done()
    gate.set()
    assert isinstance(await pending, BidiAudioInputEvent)
    assert await source() is None
    out = RecordingOutput()
    waiter = asyncio.create_task(out.wait_for(BidiResponseStartEvent))
    await out(BidiResponseStartEvent("r"))
    async with asyncio.timeout(1):
        assert await waiter == [BidiResponseStartEvent("r")]


def test_pytest_plugin_provides_fixtures_to_other_projects(tmp_path: Path) -> None:
    test_file = tmp_path / "test_uses_kit.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from fullduplex.testing import FakeModel, RecordingOutput

            def test_fixtures(fake_model, recording_output):
                assert isinstance(fake_model, FakeModel)
                assert isinstance(recording_output, RecordingOutput)
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_plugin_module_imports_light() -> None:
    code = (
        "import sys, fullduplex.testing; "
        "heavy = {'websockets', 'numpy', 'sounddevice', 'pydantic'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
