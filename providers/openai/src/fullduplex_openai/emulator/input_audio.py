"""The input audio buffer events, server VAD and its idle timeout.

``input_audio_buffer.append`` feeds the kit's buffer and VAD; speech starting
cancels the active response when ``interrupt_response`` is set (barge-in);
speech stopping commits the turn and, with ``create_response``, starts the
answer. Committed audio becomes a user item, and its transcription events (when
transcription is on) are held to follow the response it triggered, as the
service sends them.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Final

from fullduplex_emulator.frames import Frame

from . import synth
from .errors import RealtimeProtocolError, invalid_type
from .ids import new_id
from .responses import start_response
from .state import INPUT_AUDIO_TOKENS_PER_S, Json, SessionState, split_words
from .streaming import cancel

MIN_COMMIT_MS: Final = 100
MAX_APPEND_BYTES: Final = 15 * 1024 * 1024


def on_append(state: SessionState, event: Json) -> list[Frame]:
    """``input_audio_buffer.append``: buffer the audio; report VAD transitions."""
    audio_b64 = event.get("audio")
    if not isinstance(audio_b64, str):
        raise invalid_type("audio", audio_b64, "a base64 string")
    try:
        audio = base64.b64decode(audio_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RealtimeProtocolError(
            "invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.", "audio"
        ) from exc
    if len(audio) > MAX_APPEND_BYTES:
        raise RealtimeProtocolError(
            "invalid_value",
            f"Invalid 'audio': at most {MAX_APPEND_BYTES} bytes per append.",
            "audio",
        )
    state.buffer.append(audio, synth.bytes_per_ms(state.input_format))
    if state.vad is None:
        return []
    samples, rate = synth.samples_of(audio, state.input_format)
    frames: list[Frame] = []
    for vad_event in state.vad.feed(samples, rate):
        if vad_event.kind == "started":
            frames.extend(_speech_started(state, vad_event.ms))
        else:
            frames.extend(_speech_stopped(state, vad_event.ms))
    return frames


def _speech_started(state: SessionState, start_ms: int) -> list[Frame]:
    state.idle.disarm()
    state.speech_item_id = new_id("item")
    state.speech_start_ms = max(start_ms, state.buffer.start_ms)
    frames = [
        state.frame(
            "input_audio_buffer.speech_started",
            audio_start_ms=state.speech_start_ms,
            item_id=state.speech_item_id,
        )
    ]
    turn_detection = state.turn_detection
    active = state.active_response_id
    if active is not None and turn_detection and turn_detection["interrupt_response"]:
        frames.extend(cancel(state, active, "turn_detected"))
    return frames


def _speech_stopped(state: SessionState, end_ms: int) -> list[Frame]:
    item_id = state.speech_item_id or new_id("item")
    state.speech_item_id = None
    frames = [
        state.frame("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)
    ]
    bpm = synth.bytes_per_ms(state.input_format)
    audio = state.buffer.take_span(state.speech_start_ms, end_ms, bpm)
    frames.extend(commit_audio(state, item_id, audio, bpm))
    turn_detection = state.turn_detection
    if turn_detection and turn_detection["create_response"] and state.active_response_id is None:
        frames.extend(start_response(state, {}))
    elif state.pending_transcription:
        frames.extend(state.pending_transcription)
        state.pending_transcription = []
    return frames


def commit_audio(
    state: SessionState, item_id: str, audio: bytes, bpm: int, *, silent: bool = False
) -> list[Frame]:
    """Turn committed audio into a user item; queue its transcription events.

    ``silent`` audio (an idle timeout's) is not shown to the responder's
    ``transcribe``, so it does not use up words scripted for a real turn.
    """
    duration_ms = len(audio) // bpm
    item: Json = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    previous = state.conversation.insert(item, None, audio)
    state.audio_ms[item_id] = duration_ms
    state.item_bytes_per_ms[item_id] = bpm
    if silent:
        heard: str | None = ""
    else:
        samples, rate = synth.samples_of(audio, state.input_format)
        heard = state.responder.hear(audio, duration_ms, samples.astype("<i2").tobytes(), rate)
    if heard is not None:
        state.transcripts[item_id] = heard
    frames = [
        state.frame("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous),
        state.frame("conversation.item.added", item=item, previous_item_id=previous),
        state.frame("conversation.item.done", item=item, previous_item_id=previous),
    ]
    transcription = state.config["audio"]["input"]["transcription"]
    state.pending_transcription = []
    if transcription is not None:
        text = heard if heard is not None else f"({duration_ms / 1000:.1f} seconds of audio)"
        item["content"][0]["transcript"] = text
        state.pending_transcription = [
            *(
                state.frame(
                    "conversation.item.input_audio_transcription.delta",
                    item_id=item_id,
                    content_index=0,
                    delta=word,
                    obfuscation="",
                )
                for word in split_words(text)
            ),
            state.frame(
                "conversation.item.input_audio_transcription.completed",
                item_id=item_id,
                content_index=0,
                transcript=text,
                usage=transcription_usage(transcription, duration_ms, text),
            ),
        ]
    return frames


def transcription_usage(transcription: Json, duration_ms: int, text: str) -> Json:
    """The ``usage`` of a finished transcription, in the shape its model bills by.

    Whisper models bill by audio duration (``{"type": "duration", "seconds"}``); the
    ``gpt-4o-*-transcribe`` family and later models bill by tokens: the audio (and
    the transcription ``prompt``, as text) in, the transcript out.
    """
    model = str(transcription.get("model", ""))
    if "whisper" in model:
        return {"type": "duration", "seconds": round(duration_ms / 1000, 3)}
    audio_tokens = duration_ms * INPUT_AUDIO_TOKENS_PER_S // 1000
    text_tokens = math.ceil(len(str(transcription.get("prompt") or "")) / 4)
    output_tokens = math.ceil(len(text) / 4)
    input_tokens = audio_tokens + text_tokens
    return {
        "type": "tokens",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
    }


def on_commit(state: SessionState, event: Json) -> list[Frame]:
    """``input_audio_buffer.commit``: at least 100 ms, then a user item."""
    bpm = synth.bytes_per_ms(state.input_format)
    buffered_ms = state.buffer.buffered_ms(bpm)
    if buffered_ms < MIN_COMMIT_MS:
        raise RealtimeProtocolError(
            "input_audio_buffer_commit_empty",
            "Error committing input audio buffer: buffer too small. Expected at least "
            f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
        )
    item_id = state.speech_item_id or new_id("item")
    state.speech_item_id = None
    audio = state.buffer.take_all()
    if state.vad is not None:
        state.vad.reset(state.buffer.written_ms)
    frames = commit_audio(state, item_id, audio, bpm)
    frames.extend(state.pending_transcription)
    state.pending_transcription = []
    return frames


def on_clear(state: SessionState, event: Json) -> list[Frame]:
    """``input_audio_buffer.clear``."""
    state.buffer.clear()
    state.speech_item_id = None
    if state.vad is not None:
        state.vad.reset(state.buffer.written_ms)
    return [state.frame("input_audio_buffer.cleared")]


def on_output_audio_buffer_clear(state: SessionState, event: Json) -> list[Frame]:
    """``output_audio_buffer.clear``: WebRTC/SIP only; refused over a WebSocket."""
    raise RealtimeProtocolError(
        "invalid_value",
        "output_audio_buffer.clear is only supported on WebRTC and SIP connections; over a "
        "WebSocket the client owns playback: stop it and send conversation.item.truncate.",
        "type",
    )


def idle_timeout(state: SessionState) -> list[Frame]:
    """Server VAD's ``idle_timeout_ms`` fired: commit the silence, prompt the user (§5 f)."""
    bpm = synth.bytes_per_ms(state.input_format)
    end_ms = state.buffer.written_ms
    start_ms = min(max(state.idle.audio_ms, state.buffer.start_ms), end_ms)
    state.idle.disarm()
    item_id = new_id("item")
    audio = state.buffer.take_all()
    if state.vad is not None:
        state.vad.reset(end_ms)
    frames = [
        state.frame(
            "input_audio_buffer.timeout_triggered",
            item_id=item_id,
            audio_start_ms=start_ms,
            audio_end_ms=end_ms,
        )
    ]
    frames.extend(commit_audio(state, item_id, audio, bpm, silent=True))
    turn_detection = state.turn_detection
    if turn_detection is not None and turn_detection["create_response"]:
        frames.extend(start_response(state, {}, idle_timeout=True))
    else:
        frames.extend(state.pending_transcription)
        state.pending_transcription = []
    return frames
