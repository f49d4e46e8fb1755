"""The history keeps the conversation's order even when transcripts arrive late."""

from __future__ import annotations

import asyncio

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTranscriptStreamEvent,
)
from fullduplex.testing import FakeModel, RecordingOutput, ScriptedInput, emit, expect

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins


def said(role: str, text: str, item: str, response: str | None = None) -> BidiTranscriptStreamEvent:
    return BidiTranscriptStreamEvent(text, role, True, text, response, item)  # type: ignore[arg-type]


async def test_a_late_user_transcript_goes_before_the_answer_it_led_to() -> None:
    """Input transcription often lands after the answer; history still reads question, answer."""
    model = FakeModel(
        [
            expect(BidiAudioInputEvent),
            emit(
                BidiSpeechEvent("started", "u1"),
                BidiSpeechEvent("stopped", "u1", 900),
                BidiResponseStartEvent("r1"),
                said("assistant", "It is sunny.", "a1", "r1"),
                BidiResponseCompleteEvent("r1"),
                said("user", "What's the weather?", "u1"),
                BidiSpeechEvent("stopped", "u2", 2400),
                said("user", "Thanks.", "u2"),
            ),
        ]
    )
    agent = BidiAgent(model)
    speech = BidiAudioInputEvent(b"\x00\x00" * 480)
    async with asyncio.timeout(5):
        await agent.run(inputs=[ScriptedInput([speech])], outputs=[RecordingOutput()])
    assert [(m["role"], m["content"][0]["text"]) for m in agent.messages] == [
        ("user", "What's the weather?"),
        ("assistant", "It is sunny."),
        ("user", "Thanks."),
    ]
