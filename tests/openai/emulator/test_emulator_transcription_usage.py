"""The input transcription's ``usage``: tokens or seconds, as the transcription model bills.

``whisper-1`` (and the other whisper models) bill by audio duration and report
``{"type": "duration", "seconds"}``; the ``gpt-4o-*-transcribe`` family bills by
tokens and reports ``{"type": "tokens", ...}`` with the input split into text
and audio tokens. Both are members of the ``openai`` package's usage union.
"""

from __future__ import annotations

import base64

import pytest
from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    UsageTranscriptTextUsageDuration,
    UsageTranscriptTextUsageTokens,
)

from conftest import assert_valid_frames
from fullduplex_openai.emulator import DefaultResponder, RealtimeSession
from fullduplex_openai.emulator.synth import tone_pcm16


def _completed(model: str, heard: str = "what is the weather like") -> dict[str, object]:
    session = RealtimeSession(responder=DefaultResponder([heard]))
    session.handle(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": model}, "turn_detection": None}},
            },
        }
    )
    audio = base64.b64encode(tone_pcm16(1500)).decode("ascii")
    frames = session.handle({"type": "input_audio_buffer.append", "audio": audio})
    frames += session.handle({"type": "input_audio_buffer.commit"})
    assert_valid_frames(frames)
    event = next(
        f.event for f in frames if f.type == "conversation.item.input_audio_transcription.completed"
    )
    return event


@pytest.mark.parametrize("model", ["whisper-1", "gpt-realtime-whisper"])
def test_whisper_models_report_the_audio_duration(model: str) -> None:
    event = _completed(model)
    assert event["usage"] == {"type": "duration", "seconds": 1.5}
    parsed = ConversationItemInputAudioTranscriptionCompletedEvent.model_validate(event)
    assert isinstance(parsed.usage, UsageTranscriptTextUsageDuration)


@pytest.mark.parametrize(
    "model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize"]
)
def test_token_billed_models_report_tokens(model: str) -> None:
    event = _completed(model, heard="what is the weather like")
    usage = event["usage"]
    assert isinstance(usage, dict)
    assert usage["type"] == "tokens"
    details = usage["input_token_details"]
    assert details == {"text_tokens": 0, "audio_tokens": 15}  # 1.5 s at 10 tokens a second
    assert usage["input_tokens"] == 15
    assert usage["output_tokens"] == 6  # ceil(24 characters / 4)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    parsed = ConversationItemInputAudioTranscriptionCompletedEvent.model_validate(event)
    assert isinstance(parsed.usage, UsageTranscriptTextUsageTokens)


def test_a_transcription_prompt_counts_as_input_text_tokens() -> None:
    session = RealtimeSession(responder=DefaultResponder(["hello"]))
    session.handle(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "transcription": {"model": "gpt-4o-transcribe", "prompt": "expect weather"},
                        "turn_detection": None,
                    }
                },
            },
        }
    )
    audio = base64.b64encode(tone_pcm16(1000)).decode("ascii")
    session.handle({"type": "input_audio_buffer.append", "audio": audio})
    frames = session.handle({"type": "input_audio_buffer.commit"})
    usage = next(
        f.event["usage"]
        for f in frames
        if f.type == "conversation.item.input_audio_transcription.completed"
    )
    assert usage["input_token_details"] == {"text_tokens": 4, "audio_tokens": 10}
