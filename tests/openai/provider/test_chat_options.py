"""The OpenAI plugin's mapping of ``fullduplex chat`` options onto the model's settings."""

from __future__ import annotations

from fullduplex.records import ModelOptions
from fullduplex_openai.plugin import DEFAULT_TRANSCRIPTION_MODEL, model_options


def test_a_chat_that_hears_audio_asks_for_the_users_speech_to_be_transcribed() -> None:
    # without it the service sends no input transcript and the terminal shows only one side
    for speech in (None, True, False):
        kwargs = model_options(ModelOptions(speech=speech, transcribe=True))
        inference = kwargs["provider_config"]["inference"]
        assert inference["audio"]["input"]["transcription"] == {
            "model": DEFAULT_TRANSCRIPTION_MODEL
        }
    chosen = model_options(ModelOptions(transcribe=True, transcription_model="whisper-1"))
    assert chosen["provider_config"]["inference"]["audio"]["input"]["transcription"] == {
        "model": "whisper-1"
    }


def test_a_text_only_chat_still_answers_in_text() -> None:
    kwargs = model_options(ModelOptions(voice="coral", speech=False))
    assert kwargs["provider_config"]["inference"]["output_modalities"] == ["text"]
    assert kwargs["provider_config"]["audio"] == {"voice": "coral"}
    assert "provider_config" not in model_options(ModelOptions())
