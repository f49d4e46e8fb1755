"""The provider under the core agent, against the emulator: the seed example with
only the model line changed, ``get_model("gemini/...")``, and a goAway renewal
that the agent rides through (the provider resumes with its handle, no replay)."""

from __future__ import annotations

import asyncio

import fullduplex
from fullduplex import BidiAgent
from fullduplex.events import BidiConnectionRestartEvent, BidiTranscriptStreamEvent, ToolResultEvent
from fullduplex.models import BidiGeminiLiveModel
from fullduplex.testing import RecordingOutput, ScriptedInput
from fullduplex.tools import stop_conversation
from fullduplex_gemini.emulator import GeminiEmulator
from fullduplex_tools import calculator

from .conftest import KEY, MODEL


def finals(output: RecordingOutput, role: str = "assistant") -> list[str]:
    return [
        e.current_transcript
        for e in output.of(BidiTranscriptStreamEvent)
        if e.is_final and e.role == role
    ]


class Gate(RecordingOutput):
    """Opens ``gate`` once an assistant final transcript contains ``word``."""

    def __init__(self, word: str, gate: asyncio.Event) -> None:
        super().__init__()
        self.word, self.gate = word, gate

    async def __call__(self, event: object) -> None:
        await super().__call__(event)  # type: ignore[arg-type]
        if (
            isinstance(event, BidiTranscriptStreamEvent)
            and event.is_final
            and self.word in event.current_transcript
        ):
            self.gate.set()


async def test_seed_example_with_only_the_model_line_changed(emu: GeminiEmulator) -> None:
    model = BidiGeminiLiveModel(
        model_id="gemini-2.5-flash-native-audio-preview-09-2025",
        provider_config={"audio": {"voice": "Kore"}},
        client_config={"api_key": KEY, "base_url": emu.base_url},
    )
    # stop_conversation tool allows user to verbally stop agent execution.
    agent = BidiAgent(model=model, tools=[calculator, stop_conversation])

    answered = asyncio.Event()
    output = Gate("84", answered)
    async with asyncio.timeout(20):
        await agent.run(
            inputs=[ScriptedInput(["what is 12 times 7?", answered, "goodbye"])], outputs=[output]
        )
    spoken = finals(output)
    assert spoken[0] == "The answer is 84."
    assert spoken[-1] == "Goodbye!"
    results = output.of(ToolResultEvent)
    assert [r.name for r in results][:1] == ["calculator"]
    assert output.audio
    declared = emu.received[0]["setup"]["tools"][0]["functionDeclarations"]
    assert {d["name"] for d in declared} == {"calculator", "stop_conversation"}


async def test_get_model_by_provider_name(emu: GeminiEmulator) -> None:
    model = fullduplex.get_model(
        f"gemini/{MODEL}", client_config={"api_key": KEY, "base_url": emu.base_url}
    )
    assert isinstance(model, BidiGeminiLiveModel)
    assert model.capabilities.input_sample_rate == 16000
    assert model.capabilities.truncation is False


async def test_agent_rides_through_go_away_with_resumption() -> None:
    async with GeminiEmulator(api_key=KEY, connection_cap_s=2.0, go_away_lead_s=1.5) as emu:
        model = BidiGeminiLiveModel(MODEL, None, {"api_key": KEY, "base_url": emu.base_url})
        agent = BidiAgent(model=model)
        first = asyncio.Event()
        output = Gate("first", first)
        async with asyncio.timeout(20):
            await agent.run(
                inputs=[ScriptedInput(["first", first, 1.0, "second"])], outputs=[output]
            )
        assert output.of(BidiConnectionRestartEvent)
        assert finals(output) == ["You said: first", "You said: second"]
        setups = [m["setup"] for m in emu.received if "setup" in m]
        assert len(setups) >= 2
        assert "handle" in setups[1]["sessionResumption"]
        assert not [
            m
            for m in emu.received
            if "clientContent" in m
            and "turns" in m["clientContent"]
            and len(m["clientContent"]["turns"]) > 1
        ]
        restored = emu.connections[1].session.turns  # type: ignore[attr-defined]
        assert [t.text for t in restored if t.kind == "user"] == ["first", "second"]
