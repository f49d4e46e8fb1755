"""The seed example, end to end: the emulator as OpenAI, the virtual devices as the user.

The agent is built exactly as in the seed (``agent.run(inputs=[audio_io.input()],
outputs=[audio_io.output(), text_io.output()])``); only the client points at the
local emulator. The test speaks two turns into the virtual microphone (the
emulator is told what they "say"): an arithmetic question, answered through the
calculator tool, then "goodbye", which ends the conversation through
``stop_conversation``. What the emulator sent as speech must come out of the
virtual speaker, and the terminal output must show the conversation.
"""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import orjson
import pytest

from fullduplex import BidiAgent
from fullduplex.io import BidiAudioIO, BidiTextIO
from fullduplex.tools import stop_conversation
from fullduplex_openai import BidiOpenAIRealtimeModel
from fullduplex_openai.emulator import DefaultResponder, Emulator
from fullduplex_tools import calculator

from .pulse import PulseServer
from .signals import as_array, best_match, noise_burst, to_rate

pytestmark = pytest.mark.audio

KEY = "emu-key-seed-test"


def emulator_speech(emu: Emulator) -> bytes:
    """Every audio delta the emulator sent (24 kHz mono pcm16), in order."""
    audio = bytearray()
    for frame in emu.sent:
        if frame.type == "response.output_audio.delta":
            audio += base64.b64decode(orjson.loads(frame.data)["delta"])
    return bytes(audio)


async def test_seed_example_runs_with_the_virtual_devices(
    pulse_server: PulseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    responder = DefaultResponder()
    responder.script_transcripts("what is 12 times 7?", "goodbye")
    recorder = pulse_server.record("speaker.monitor", rate=48000)
    async with Emulator(api_key=KEY, port=0, responder=responder) as emu:
        # --- the seed, with the client pointed at the emulator ---
        model = BidiOpenAIRealtimeModel(
            model_id="gpt-realtime",
            provider_config={"audio": {"voice": "coral"}},
            client_config={"api_key": KEY, "base_url": emu.base_url},
        )
        agent = BidiAgent(model=model, tools=[calculator, stop_conversation])
        audio_io = BidiAudioIO()
        text_io = BidiTextIO()
        run = asyncio.create_task(
            agent.run(inputs=[audio_io.input()], outputs=[audio_io.output(), text_io.output()])
        )
        # --- the user ---
        try:
            async with asyncio.timeout(60):
                while not (agent.playback.has_player and agent.started):
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                question = pulse_server.play("mic", noise_burst(1000, seed=21), 24000)
                await asyncio.to_thread(question.wait, 30)
                # wait until the spoken answer has been played to its end
                while not any(
                    agent.playback.fully_heard(item) and agent.playback.received_ms(item) > 500
                    for item in list(agent.playback._received)
                ):
                    await asyncio.sleep(0.05)
                goodbye = pulse_server.play("mic", noise_burst(800, seed=22), 24000)
                await asyncio.to_thread(goodbye.wait, 30)
                await run
        finally:
            if not run.done():
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
            samples = await asyncio.to_thread(recorder.stop)
        speech = emulator_speech(emu)
        calls = [f for f in emu.received if f.get("type") == "conversation.item.create"]
    assert not agent.started
    shown = capsys.readouterr().out
    assert "[tool] calculator(" in shown
    assert "Assistant: The answer is 84." in shown
    assert "Assistant: Goodbye!" in shown
    assert any(item.get("item", {}).get("type") == "function_call_output" for item in calls), (
        "the calculator result went back to the model"
    )
    # the answer's speech came out of the virtual speaker
    assert len(speech) > 24000  # more than half a second of speech was sent
    first_answer = as_array(speech[: 24000 * 2 // 2])  # its first 500 ms
    score, _ = best_match(to_rate(samples, 48000, 24000), first_answer)
    assert score > 0.8, f"the emulator's speech was not heard on the speaker (score {score:.3f})"
    assert np.max(np.abs(samples)) > 1000
